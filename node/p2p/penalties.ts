/**
 * Offence bookkeeping and the ban policy of the p2p host.
 *
 * Policy (explicit, per peer):
 * - **severe** offences ban the peer once `severeThreshold` of them (default 1:
 *   at once) have been recorded since its last ban. The host reports these itself:
 *   `gossip-reject` (a gossip validator returned 'reject'), `oversized-frame`,
 *   `malformed-frame`; callers may report their own (default severity of `penalise`).
 * - **minor** offences ban the peer once `minorThreshold` of them (default 5)
 *   have been recorded since its last ban.
 * - offences recorded while a peer is banned are counted but do not extend the ban.
 * - a ban lasts `coolDownMs`: the host closes every connection to the peer and the
 *   connection gater refuses it both ways until the ban expires; then static peers
 *   are redialled. Offence counts are kept (for status) until the host is dropped.
 */

export type OffenceSeverity = 'severe' | 'minor'

export interface PenaltyPolicy {
  /** how long a banned peer is refused (default 30 s) */
  coolDownMs: number
  /** severe offences since the last ban that ban the peer (default 1: at once) */
  severeThreshold: number
  /** minor offences since the last ban that ban the peer (default 5) */
  minorThreshold: number
}

export const DEFAULT_PENALTY_POLICY: PenaltyPolicy = { coolDownMs: 30_000, severeThreshold: 1, minorThreshold: 5 }

export interface PenaltyRecord {
  /** every offence ever recorded for this peer */
  count: number
  /** severe offences since the last ban */
  severeSinceBan: number
  /** minor offences since the last ban */
  minorSinceBan: number
  lastReason: string
  /** ms since epoch of the last offence */
  lastAt: number
  /** how many times the peer has been banned */
  bans: number
  /** ms since epoch when the current ban ends, when banned now */
  bannedUntil?: number
}

export interface PenaltyBookEvents {
  /** the peer just got banned: close its connections */
  onBan(peer: string, reason: string, until: number): void
  /** the ban expired: the peer may connect again */
  onBanExpired(peer: string): void
}

export class PenaltyBook {
  readonly #policy: PenaltyPolicy
  readonly #events: PenaltyBookEvents
  readonly #records = new Map<string, PenaltyRecord>()
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>()

  constructor(events: PenaltyBookEvents, policy: Partial<PenaltyPolicy> = {}) {
    this.#events = events
    this.#policy = { ...DEFAULT_PENALTY_POLICY, ...policy }
    const { coolDownMs, severeThreshold, minorThreshold } = this.#policy
    if (!(coolDownMs >= 0) || !(severeThreshold >= 1) || !(minorThreshold >= 1)) {
      throw new RangeError(`invalid penalty policy ${JSON.stringify(this.#policy)}`)
    }
  }

  /** Record an offence; returns true when it banned the peer. */
  record(peer: string, reason: string, severity: OffenceSeverity): boolean {
    const now = Date.now()
    const rec = this.#records.get(peer) ?? {
      count: 0,
      severeSinceBan: 0,
      minorSinceBan: 0,
      lastReason: reason,
      lastAt: now,
      bans: 0,
    }
    rec.count++
    rec.lastReason = reason
    rec.lastAt = now
    this.#records.set(peer, rec)
    if (this.isBanned(peer)) return false
    if (severity === 'severe') rec.severeSinceBan++
    else rec.minorSinceBan++
    if (rec.severeSinceBan >= this.#policy.severeThreshold || rec.minorSinceBan >= this.#policy.minorThreshold) {
      rec.severeSinceBan = 0
      rec.minorSinceBan = 0
      rec.bans++
      rec.bannedUntil = now + this.#policy.coolDownMs
      const timer = setTimeout(() => this.#expire(peer), this.#policy.coolDownMs)
      timer.unref?.()
      this.#timers.set(peer, timer)
      this.#events.onBan(peer, reason, rec.bannedUntil)
      return true
    }
    return false
  }

  isBanned(peer: string): boolean {
    const until = this.#records.get(peer)?.bannedUntil
    return until !== undefined && until > Date.now()
  }

  /** A copy of every record (peer id → record). */
  snapshot(): Map<string, PenaltyRecord> {
    const out = new Map<string, PenaltyRecord>()
    for (const [peer, rec] of this.#records) {
      const copy: PenaltyRecord = { ...rec }
      if (!this.isBanned(peer)) delete copy.bannedUntil
      out.set(peer, copy)
    }
    return out
  }

  /** Lift every ban now and cancel the expiry timers (host stop). */
  clearBans(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
    for (const rec of this.#records.values()) delete rec.bannedUntil
  }

  #expire(peer: string): void {
    this.#timers.delete(peer)
    const rec = this.#records.get(peer)
    if (rec !== undefined) delete rec.bannedUntil
    this.#events.onBanExpired(peer)
  }
}
