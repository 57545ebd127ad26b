/**
 * Leader election: who proposes in a view. Every replica must compute the same
 * leader for a view, so the answer may depend only on agreed data: the view, the
 * epoch's validator count, and the committed chain.
 *
 * - `RoundRobin`: view mod n. With f crashed validators it wastes about two views
 *   per crashed leader per rotation (the view before a dead leader loses its QC,
 *   since votes go to the next leader, and the dead leader's own view times out).
 * - `LeaderReputation` (after DiemBFT's proposer-and-voter heuristic): validators
 *   seen in the committed chain recently — as a proposer of a committed block, or
 *   as a signer of a committed block's QC — are "active"; views rotate over the
 *   active ones, so crashed or silent validators stop being chosen. About one
 *   view in `probationEvery` (chosen by a hash of the view, never two within three
 *   views) is a probation view: the hash also picks a validator, and if that one is
 *   outside the rotation it leads, so one that came back, or is merely slow to
 *   vote, can show it is alive; otherwise the view follows the rotation. An active
 *   validator leads only in its rotation turn: one that has just crashed, and is
 *   still in the rotation until its commits leave the window, fails one view in
 *   |active| (plus the view before, whose votes go to it), as under round-robin,
 *   and never two views of a few in a row (that made four timeouts in a row, backed
 *   off to 1 + 2 + 4 + 8 s, and stopped commits for 11-22 s in the simulator).
 *   Only committed blocks at least `excludeViews` views old count: replicas whose
 *   commits lag by fewer views agree; those further behind may disagree briefly,
 *   which costs liveness (a timeout) and never safety.
 */
import type { Block, ValidatorIndex } from './types.ts'
import { signersOf } from './crypto.ts'

export interface LeaderElection {
  leaderOf(view: number): ValidatorIndex
  /** newly committed blocks, oldest first */
  observe(blocks: readonly Block[]): void
}

export class RoundRobin implements LeaderElection {
  private readonly n: number

  constructor(n: number) {
    this.n = n
  }

  leaderOf(view: number): ValidatorIndex {
    return view % this.n
  }

  observe(): void {}
}

export interface ReputationOptions {
  /** committed blocks looked at (default max(8, 2n)) */
  window?: number
  /** only blocks of views ≤ view − excludeViews count (default 20) */
  excludeViews?: number
  /** about one view in this many is a probation view, which a validator outside the rotation may get (default 10) */
  probationEvery?: number
}

interface Activity {
  view: number
  /** proposer and QC signers, as a bitmask over validator indices (bigint: n may exceed 32) */
  seen: bigint
}

export class LeaderReputation implements LeaderElection {
  private readonly n: number
  private readonly epoch: number
  private readonly window: number
  private readonly excludeViews: number
  private readonly probationEvery: number
  /** committed blocks' activity in chain order (views increase) */
  private readonly records: Activity[] = []
  private readonly cache = new Map<number, ValidatorIndex>()

  constructor(n: number, epoch: number, options: ReputationOptions = {}, history: readonly Block[] = []) {
    this.n = n
    this.epoch = epoch
    this.window = options.window ?? Math.max(8, 2 * n)
    this.excludeViews = options.excludeViews ?? 20
    this.probationEvery = options.probationEvery ?? 10
    this.observe(history)
  }

  observe(blocks: readonly Block[]): void {
    for (const b of blocks) {
      if (b.epoch !== this.epoch || b.view === 0) continue // epoch genesis: nobody proposed it
      const last = this.records.at(-1)
      if (last !== undefined && b.view <= last.view) continue // already seen (history overlaps commits)
      let seen = 1n << BigInt(b.proposer)
      for (const i of signersOf(b.justify.votes.signers, this.n)) seen |= 1n << BigInt(i)
      this.records.push({ view: b.view, seen })
    }
    // the records any future view can need: the window below the cut-off, and at most
    // excludeViews above it (views are distinct along the chain)
    const keep = this.window + this.excludeViews
    if (this.records.length > keep * 2) this.records.splice(0, this.records.length - keep)
    if (blocks.length > 0) this.cache.clear()
  }

  leaderOf(view: number): ValidatorIndex {
    let leader = this.cache.get(view)
    if (leader === undefined) {
      leader = this.elect(view)
      if (this.cache.size > 64) this.cache.clear()
      this.cache.set(view, leader)
    }
    return leader
  }

  /** The validators seen active in the window that counts for `view` (all of them before there is history). */
  active(view: number): ValidatorIndex[] {
    const cutoff = view - this.excludeViews
    let end = this.records.length
    while (end > 0 && this.records[end - 1]!.view > cutoff) end--
    if (end === 0) return Array.from({ length: this.n }, (_, i) => i)
    let seen = 0n
    for (let k = Math.max(0, end - this.window); k < end; k++) seen |= this.records[k]!.seen
    const out: ValidatorIndex[] = []
    for (let i = 0; i < this.n; i++) if ((seen >> BigInt(i)) & 1n) out.push(i)
    return out
  }

  private elect(view: number): ValidatorIndex {
    const active = this.active(view)
    if (this.isProbation(view)) {
      const chosen = Math.floor(mix(this.epoch, view) / this.probationEvery) % this.n
      // only a validator outside the rotation is put on probation: an active one leads in its
      // rotation turn and no other, so a dead validator not yet dropped from the rotation
      // (its last commits are still in the window) cannot lead two views of a few in a row
      if (!active.includes(chosen)) return chosen
    }
    return active[view % active.length]!
  }

  /**
   * About one view in probationEvery, chosen by a hash of (epoch, view), but never within
   * two views after another such view: a validator on probation that is still down costs
   * its own view and the one before (whose votes go to it), and two of them a view apart
   * would make four timeouts in a row, each backed off longer than the last.
   */
  private isProbation(view: number): boolean {
    const candidate = (v: number) => v > 0 && mix(this.epoch, v) % this.probationEvery === 0
    return candidate(view) && !candidate(view - 1) && !candidate(view - 2)
  }
}

/** A deterministic 32-bit hash of (epoch, view) (murmur3's finaliser over both words). */
function mix(epoch: number, view: number): number {
  let h = Math.imul(epoch ^ 0x9e3779b9, 0x85ebca6b) ^ view
  h ^= Math.floor(view / 2 ** 32)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
