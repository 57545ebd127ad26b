/**
 * `TxMempool`: the validator's pool of ledger transactions, the `Mempool` the
 * consensus core fills blocks from.
 *
 * Admission verifies once, at the edge (admission.ts), then applies the pool's own
 * limits. Policies, on purpose:
 * - One transaction per (sender, nonce). A second one with the same nonce and other
 *   bytes is refused as DUPLICATE: there are no fees, so there is no replace-by-fee,
 *   and a replacement would let a sender churn the pool and gossip for free.
 * - Nonces from the sender's next committed nonce up to `maxNonceGap` ahead are
 *   held; `take` hands out, per sender, only the contiguous run from the next nonce,
 *   so a gapped transaction waits until the gap fills (or until it is evicted).
 * - When the pool is full (count or bytes), a newcomer may evict the highest-nonce
 *   transaction (the newest, and the one nothing depends on, so no gap opens) of the
 *   sender with the most pending transactions, repeatedly, as long as that sender
 *   has more pending than the newcomer's sender would have after admission
 *   (strictly, so two senders cannot evict each other back and forth). Otherwise the
 *   newcomer is refused with FULL. The pool thus converges to a fair share per sender.
 * - A transaction that was committed is not admitted again while it is among the
 *   last RECENTLY_COMMITTED committed ones. A refused one keeps its nonce valid, so
 *   without this a lagging peer's re-gossip would bring it back as pending, and its
 *   sender could not use that nonce for anything else (DUPLICATE).
 * - A per-sender token bucket limits admissions. A token is spent only once the
 *   signature verifies, so a forger cannot drain another sender's bucket.
 * The committed state arrives through `onCommit`; between commits the pool reads
 * nothing else, so `take` is a pure function of the pool and its arguments.
 */
import { commandKey, type Mempool } from '../../consensus/index.ts'
import { bytesEqual, MAX_TX_BYTES, type DecodedTx } from '../../ledger/index.ts'
import { checkSignature, precheck } from './admission.ts'
import { MEMPOOL_ERROR_CODES, MempoolError, type MempoolErrorCode } from './errors.ts'
import { MinHeap } from './heap.ts'
import { TokenBuckets, type RateLimitOptions } from './rate-limit.ts'
import type { MempoolState } from './state.ts'

export type TxOrigin = 'local' | 'peer'
export type RemovalReason = 'committed' | 'stale' | 'revoked' | 'evicted'
export type AddResult = { ok: true; id: string } | { ok: false; error: MempoolError }

export interface TxMempoolComponents {
  /** the committed state the pool starts from (later ones come with onCommit) */
  state: MempoolState
  /** milliseconds, for the rate limit (any monotonic origin) */
  now(): number
}

export interface TxMempoolOptions {
  /** most transactions held (default 50,000) */
  maxCount?: number
  /**
   * A client's transaction is refused (FULL, retry later) while this many taken
   * from this node's own clients are held (default 4,096): a node offered more than
   * it can order sheds the excess at the door, before decoding or verifying it, and
   * keeps its CPU for consensus and for what it already holds. Transactions from
   * peers (which another validator took) are admitted up to maxCount.
   */
  maxLocalPending?: number
  /** most encoded bytes held (default 64 MiB) */
  maxBytes?: number
  /** most transactions held per sender (default 256) */
  maxPerSender?: number
  /** how far ahead of the sender's next nonce a held nonce may be (default 64) */
  maxNonceGap?: number
  /** largest transaction admitted (default and ceiling: the ledger's MAX_TX_BYTES) */
  maxTxBytes?: number
  /** per-sender admissions (default burst 128, 32 a second); null disables the limit */
  rateLimit?: RateLimitOptions | null
}

/** How many of the last committed transactions the pool refuses to admit again. */
export const RECENTLY_COMMITTED = 20_000

export const MEMPOOL_DEFAULTS = { maxCount: 50_000, maxLocalPending: 4_096, maxBytes: 64 * 1024 * 1024, maxPerSender: 256, maxNonceGap: 64, rateLimit: { burst: 128, perSecond: 32 } } as const

export interface PendingTx {
  /** the transaction id (CID string) */
  id: string
  sender: string
  nonce: number
  bytes: Uint8Array
  origin: TxOrigin
}

export interface MempoolStats {
  count: number
  bytes: number
  senders: number
  /** held transactions in a contiguous run from their sender's next nonce */
  ready: number
  /** held transactions behind a nonce gap */
  waiting: number
  admitted: Record<TxOrigin, number>
  refused: Record<MempoolErrorCode, number>
  removed: Record<RemovalReason, number>
}

interface Entry extends PendingTx {
  /** what admission decoded (block execution reuses it) */
  decoded: DecodedTx
  /** commandKey(bytes): how consensus names it in `exclude` */
  key: string
  /** arrival order */
  seq: number
}

interface SenderQueue {
  byNonce: Map<number, Entry>
  /** the sender's next nonce in the committed state */
  next: number
  /** the key its held transactions were verified with */
  publicKey: Uint8Array
  /** seq of its latest admission (tie-break among eviction victims) */
  lastSeq: number
}

export class TxMempool implements Mempool {
  private state: MempoolState
  private readonly maxCount: number
  private readonly maxLocalPending: number
  /** arrival number of the last transaction `oldest` returned (relaying continues after it) */
  private relayedUpTo = -1
  /** held transactions that came from this node's clients */
  private localHeld = 0
  private readonly maxBytes: number
  private readonly maxPerSender: number
  private readonly maxNonceGap: number
  private readonly maxTxBytes: number
  private readonly buckets: TokenBuckets | undefined
  private readonly byKey = new Map<string, Entry>()
  /** keys of the last RECENTLY_COMMITTED committed transactions, oldest first */
  private readonly recentlyCommitted = new Set<string>()
  private readonly byId = new Map<string, Entry>()
  private readonly senders = new Map<string, SenderQueue>()
  private totalBytes = 0
  private seq = 0
  private readonly admitted: Record<TxOrigin, number> = { local: 0, peer: 0 }
  private readonly refused = Object.fromEntries(MEMPOOL_ERROR_CODES.map((c) => [c, 0])) as Record<MempoolErrorCode, number>
  private readonly removed: Record<RemovalReason, number> = { committed: 0, stale: 0, revoked: 0, evicted: 0 }

  constructor(components: TxMempoolComponents, options: TxMempoolOptions = {}) {
    this.state = components.state
    this.maxCount = positive('maxCount', options.maxCount ?? MEMPOOL_DEFAULTS.maxCount)
    this.maxLocalPending = positive('maxLocalPending', options.maxLocalPending ?? MEMPOOL_DEFAULTS.maxLocalPending)
    this.maxBytes = positive('maxBytes', options.maxBytes ?? MEMPOOL_DEFAULTS.maxBytes)
    this.maxPerSender = positive('maxPerSender', options.maxPerSender ?? MEMPOOL_DEFAULTS.maxPerSender)
    this.maxNonceGap = positive('maxNonceGap', options.maxNonceGap ?? MEMPOOL_DEFAULTS.maxNonceGap, 0)
    this.maxTxBytes = Math.min(MAX_TX_BYTES, positive('maxTxBytes', options.maxTxBytes ?? MAX_TX_BYTES))
    const rate = options.rateLimit === undefined ? MEMPOOL_DEFAULTS.rateLimit : options.rateLimit
    this.buckets = rate === null ? undefined : new TokenBuckets(rate, () => components.now())
  }

  /** Verifies and admits one encoded transaction; refusals are returned, never thrown. */
  add(bytes: Uint8Array, opts: { from?: TxOrigin } = {}): AddResult {
    const origin = opts.from ?? 'peer'
    const error = this.admit(bytes, origin)
    if (error instanceof MempoolError) {
      this.refused[error.code]++
      return { ok: false, error }
    }
    this.admitted[origin]++
    return { ok: true, id: error }
  }

  take(maxCount: number, maxBytes: number, exclude: ReadonlySet<string>): Uint8Array[] {
    const out: Uint8Array[] = []
    if (maxCount <= 0) return out
    // One candidate per sender (its lowest takeable nonce), oldest arrival first.
    const heads = new MinHeap<Entry>((a, b) => a.seq < b.seq)
    for (const q of this.senders.values()) {
      const head = runFrom(q, q.next, exclude)
      if (head !== undefined) heads.push(head)
    }
    let bytes = 0
    while (out.length < maxCount && heads.size > 0) {
      const e = heads.pop()!
      // Too big for what is left: this sender's run ends here; smaller ones of others may still fit.
      if (bytes + e.bytes.length > maxBytes) continue
      out.push(e.bytes)
      bytes += e.bytes.length
      const next = runFrom(this.senders.get(e.sender)!, e.nonce + 1, exclude)
      if (next !== undefined) heads.push(next)
    }
    return out
  }

  size(): number {
    return this.byKey.size
  }

  /**
   * What a node relays to its peers next: held transactions in arrival order,
   * those a nonce gap holds back here included (the peers' state may already have
   * closed the gap: this node may be the one behind). Each call continues after the
   * last transaction the previous call returned, wrapping around, so every held
   * transaction is relayed in turn; the first one is returned even if it alone
   * exceeds `maxBytes`.
   */
  oldest(maxCount: number, maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = []
    let bytes = 0
    const take = (e: Entry): boolean => {
      if (out.length >= maxCount) return false
      if (out.length > 0 && bytes + e.bytes.length > maxBytes) return true
      out.push(e.bytes)
      bytes += e.bytes.length
      this.relayedUpTo = e.seq
      return true
    }
    const after = this.relayedUpTo
    for (const e of this.byKey.values()) if (e.seq > after && !take(e)) return out
    for (const e of this.byKey.values()) if (e.seq > after || !take(e)) return out
    return out
  }

  has(id: string): boolean {
    return this.byId.has(id)
  }

  get(id: string): PendingTx | undefined {
    const e = this.byId.get(id)
    return e === undefined ? undefined : { id: e.id, sender: e.sender, nonce: e.nonce, bytes: e.bytes, origin: e.origin }
  }

  /**
   * Whether transaction `id` is held here, its sender's signature verified on entry
   * under `publicKey` (block execution then need not verify it again).
   */
  verifiedUnder(id: string, publicKey: Uint8Array): boolean {
    const e = this.byId.get(id)
    const q = e === undefined ? undefined : this.senders.get(e.sender)
    return q !== undefined && bytesEqual(q.publicKey, publicKey)
  }

  /** The decoding admission made of these exact bytes, if they are held here (block execution need not decode again). */
  decodedOf(bytes: Uint8Array): DecodedTx | undefined {
    return this.byKey.get(commandKey(bytes))?.decoded
  }

  /** How many transactions `sender` has pending. */
  pendingOf(sender: string): number {
    return this.senders.get(sender)?.byNonce.size ?? 0
  }

  /**
   * A block was committed and `state` is the committed state after it: drops the
   * block's transactions (whatever their receipts), transactions whose nonce is now
   * used, and every transaction of a sender that is revoked or no longer known.
   */
  onCommit(committed: readonly Uint8Array[], state: MempoolState): void {
    this.state = state
    for (const bytes of committed) {
      const key = commandKey(bytes)
      const e = this.byKey.get(key)
      if (e !== undefined) this.remove(e, 'committed')
      this.recentlyCommitted.add(key)
    }
    // a Set iterates in insertion order: drop the oldest past the bound
    for (const key of this.recentlyCommitted) {
      if (this.recentlyCommitted.size <= RECENTLY_COMMITTED) break
      this.recentlyCommitted.delete(key)
    }
    for (const [sender, q] of this.senders) {
      const rec = state.sender(sender)
      if (rec === undefined || rec.revokedAt !== null || !bytesEqual(rec.publicKey, q.publicKey)) {
        for (const e of q.byNonce.values()) this.remove(e, 'revoked')
        continue
      }
      q.next = state.nonce(sender)
      for (const [nonce, e] of q.byNonce) if (nonce < q.next) this.remove(e, 'stale')
    }
    this.buckets?.prune()
  }

  /** Transactions that could go into a block now: each sender's contiguous run from its next nonce. */
  ready(): number {
    let ready = 0
    for (const q of this.senders.values()) ready += contiguousFrom(q)
    return ready
  }

  stats(): MempoolStats {
    const ready = this.ready()
    return {
      count: this.byKey.size,
      bytes: this.totalBytes,
      senders: this.senders.size,
      ready,
      waiting: this.byKey.size - ready,
      admitted: { ...this.admitted },
      refused: { ...this.refused },
      removed: { ...this.removed },
    }
  }

  /** The admission pipeline: cheap checks first, the signature once nothing cheap refuses, mutation last. Returns the id or the refusal. */
  private admit(bytes: Uint8Array, origin: TxOrigin): string | MempoolError {
    const key = bytes instanceof Uint8Array && bytes.length <= this.maxTxBytes ? commandKey(bytes) : undefined
    const held = key === undefined ? undefined : this.byKey.get(key)
    if (held !== undefined) return new MempoolError('DUPLICATE', `transaction ${held.id} is already pending`)
    if (key !== undefined && this.recentlyCommitted.has(key)) return new MempoolError('DUPLICATE', 'this transaction is already committed (a refused one is not ordered again)')
    if (origin === 'local' && this.localHeld >= this.maxLocalPending) {
      return new MempoolError('FULL', `the mempool holds ${this.localHeld} transactions from this node's clients, as many as it takes; retry later`)
    }
    const a = precheck(bytes, this.state, this.maxTxBytes, this.maxNonceGap)
    if (a instanceof MempoolError) return a
    const { tx } = a.decoded.signed
    const q = this.senders.get(tx.sender)
    const same = q?.byNonce.get(tx.nonce)
    if (same !== undefined) {
      return new MempoolError('DUPLICATE', `'${tx.sender}' already has transaction ${same.id} pending at nonce ${tx.nonce}; pending transactions are not replaced`)
    }
    const pending = q?.byNonce.size ?? 0
    if (pending >= this.maxPerSender) return new MempoolError('SENDER_LIMIT', `'${tx.sender}' already has ${pending} transactions pending, limit ${this.maxPerSender}`)
    if (this.buckets !== undefined && !this.buckets.allows(tx.sender)) return new MempoolError('RATE_LIMITED', `'${tx.sender}' is sending faster than the mempool admits; retry later`)
    const victims = this.planEviction(bytes.length, tx.sender, pending)
    if (victims instanceof MempoolError) return victims
    const bad = checkSignature(a)
    if (bad !== undefined) return bad
    this.buckets?.spend(tx.sender)
    for (const v of victims) this.remove(v, 'evicted')
    const entry: Entry = { id: a.decoded.id.toString(), decoded: a.decoded, key: key ?? commandKey(bytes), bytes, sender: tx.sender, nonce: tx.nonce, origin, seq: this.seq++ }
    let queue = this.senders.get(tx.sender)
    if (queue === undefined) {
      queue = { byNonce: new Map(), next: a.next, publicKey: a.sender.publicKey, lastSeq: entry.seq }
      this.senders.set(tx.sender, queue)
    }
    queue.byNonce.set(entry.nonce, entry)
    queue.lastSeq = entry.seq
    this.byKey.set(entry.key, entry)
    if (origin === 'local') this.localHeld++
    this.byId.set(entry.id, entry)
    this.totalBytes += bytes.length
    return entry.id
  }

  /** The transactions to evict so that a newcomer of `size` bytes from `sender` (holding `pending`) fits, or FULL. Mutates nothing. */
  private planEviction(size: number, sender: string, pending: number): Entry[] | MempoolError {
    let count = this.byKey.size + 1
    let bytes = this.totalBytes + size
    if (count <= this.maxCount && bytes <= this.maxBytes) return []
    const full = (why: string) => new MempoolError('FULL', `mempool is full (${this.byKey.size} transactions, ${this.totalBytes} bytes; limits ${this.maxCount}, ${this.maxBytes}) ${why}`)
    if (size > this.maxBytes) return full(`and the transaction alone is larger than the byte limit`)
    const taken = new Map<string, number>()
    const victims: Entry[] = []
    while (count > this.maxCount || bytes > this.maxBytes) {
      let top: { id: string; q: SenderQueue; held: number } | undefined
      for (const [id, q] of this.senders) {
        const held = q.byNonce.size - (taken.get(id) ?? 0)
        if (top === undefined || held > top.held || (held === top.held && q.lastSeq > top.q.lastSeq)) top = { id, q, held }
      }
      if (top === undefined || top.held <= pending + 1) return full(`and no sender holds more than '${sender}' would (${pending + 1})`)
      const k = taken.get(top.id) ?? 0
      const victim = [...top.q.byNonce.values()].sort((x, y) => y.nonce - x.nonce)[k]!
      taken.set(top.id, k + 1)
      victims.push(victim)
      count--
      bytes -= victim.bytes.length
    }
    return victims
  }

  private remove(e: Entry, why: RemovalReason): void {
    if (!this.byKey.delete(e.key)) return
    if (e.origin === 'local') this.localHeld--
    this.byId.delete(e.id)
    this.totalBytes -= e.bytes.length
    this.removed[why]++
    const q = this.senders.get(e.sender)
    if (q === undefined) return
    q.byNonce.delete(e.nonce)
    if (q.byNonce.size === 0) this.senders.delete(e.sender)
  }
}

/** The first transaction of `q` at or after nonce `from` that is not excluded, if the nonces up to it are all held (excluded ones are in pending blocks). */
function runFrom(q: SenderQueue, from: number, exclude: ReadonlySet<string>): Entry | undefined {
  for (let n = from; ; n++) {
    const e = q.byNonce.get(n)
    if (e === undefined || !exclude.has(e.key)) return e
  }
}

/** How many of `q`'s transactions form a contiguous run from its next nonce. */
function contiguousFrom(q: SenderQueue): number {
  let n = 0
  while (q.byNonce.has(q.next + n)) n++
  return n
}

function positive(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`mempool option ${name} must be an integer ≥ ${min}, got ${v}`)
  return v
}
