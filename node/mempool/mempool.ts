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
 * - A refused nonce is not skipped. Once this node has refused a client's
 *   transaction at nonce k (too far ahead, rate-limited, sender limit, full, bad
 *   signature), it refuses that sender's later nonces from clients too (NONCE_GAP,
 *   retry later) until nonce k is held here (from a client or a peer) or committed.
 *   So nothing a client was told is accepted can wait forever behind a nonce this
 *   node refused, and a refusal refuses the rest of the sender's run, in order. A
 *   gap this node never refused is held, as are peers' gaps: a client may send
 *   successive nonces through different validators, and gossip may reorder them.
 * - A client's transaction is refused FULL, before it is decoded, while the pool
 *   holds `maxHeldForClients` transactions that could go into a block now, whoever
 *   sent them (those behind a nonce gap do not count: they may never drain).
 *   Validators hold about the same transactions (gossip), so this bounds the
 *   network's backlog to what consensus can order soon: a node offered more than
 *   that sheds the excess at the door, the cheapest place, instead of verifying it
 *   (as every peer would too) and starving consensus of CPU.
 * - Every refusal that says "not now" (FULL, RATE_LIMITED, SENDER_LIMIT, NONCE_GAP)
 *   carries `retryAfterMs`; the API passes it on as Retry-After.
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
import { commandKey, type KeySet, type Mempool } from '../../consensus/index.ts'
import { MAX_TX_BYTES, type DecodedTx } from '../../ledger/index.ts'
import { bytesEqual } from '../../primitives/index.ts'
import { checkSignature, precheck } from './admission.ts'
import { MEMPOOL_ERROR_CODES, MempoolError, RETRY_AFTER_MS, type MempoolErrorCode } from './errors.ts'
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
   * A client's transaction is refused (FULL, retry later) while the pool holds this
   * many transactions ready for a block, its clients' and its peers' alike (default
   * 4,096; transactions behind a nonce gap do not count): a node
   * offered more than the network can order sheds the excess at the door, before
   * decoding or verifying it, and keeps its CPU for consensus and for what it
   * already holds. Transactions from peers (which another validator took at its
   * own door) are admitted up to maxCount.
   */
  maxHeldForClients?: number
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
/** Refused nonces remembered per sender (the lowest ones: only the lowest matters), and senders with such a record. */
const MAX_REFUSED_PER_SENDER = 16
const MAX_SENDERS_WITH_REFUSALS = 10_000
/** Refused nonces are remembered up to this many nonce windows (maxNonceGap) ahead of the sender's next nonce. */
const REMEMBERED_AHEAD = 4

export const MEMPOOL_DEFAULTS = { maxCount: 50_000, maxHeldForClients: 4_096, maxBytes: 64 * 1024 * 1024, maxPerSender: 256, maxNonceGap: 64, rateLimit: { burst: 128, perSecond: 32 } } as const

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
  /** how many of its held transactions form a contiguous run from `next` (could go into a block now) */
  run: number
}

export class TxMempool implements Mempool {
  private state: MempoolState
  private readonly maxCount: number
  private readonly maxHeldForClients: number
  /** arrival number of the last transaction `oldest` returned (relaying continues after it) */
  private relayedUpTo = -1
  private readonly retryAfterRateMs: number
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
  /** per sender: nonces refused to a client here, at or above its next nonce and not held since, lowest first */
  private readonly refusedNonces = new Map<string, number[]>()
  private totalBytes = 0
  /** the sum of every sender's `run`: the transactions that could go into a block now */
  private readyTotal = 0
  private seq = 0
  private readonly admitted: Record<TxOrigin, number> = { local: 0, peer: 0 }
  private readonly refused = Object.fromEntries(MEMPOOL_ERROR_CODES.map((c) => [c, 0])) as Record<MempoolErrorCode, number>
  private readonly removed: Record<RemovalReason, number> = { committed: 0, stale: 0, revoked: 0, evicted: 0 }

  constructor(components: TxMempoolComponents, options: TxMempoolOptions = {}) {
    this.state = components.state
    this.maxCount = positive('maxCount', options.maxCount ?? MEMPOOL_DEFAULTS.maxCount)
    this.maxHeldForClients = positive('maxHeldForClients', options.maxHeldForClients ?? MEMPOOL_DEFAULTS.maxHeldForClients)
    this.maxBytes = positive('maxBytes', options.maxBytes ?? MEMPOOL_DEFAULTS.maxBytes)
    this.maxPerSender = positive('maxPerSender', options.maxPerSender ?? MEMPOOL_DEFAULTS.maxPerSender)
    this.maxNonceGap = positive('maxNonceGap', options.maxNonceGap ?? MEMPOOL_DEFAULTS.maxNonceGap, 0)
    this.maxTxBytes = Math.min(MAX_TX_BYTES, positive('maxTxBytes', options.maxTxBytes ?? MAX_TX_BYTES))
    const rate = options.rateLimit === undefined ? MEMPOOL_DEFAULTS.rateLimit : options.rateLimit
    this.buckets = rate === null ? undefined : new TokenBuckets(rate, () => components.now())
    // a token comes back every 1/perSecond seconds
    this.retryAfterRateMs = rate === null || rate.perSecond <= 0 ? RETRY_AFTER_MS : Math.max(RETRY_AFTER_MS, Math.ceil(1000 / rate.perSecond))
  }

  /** Verifies and admits one encoded transaction; refusals are returned, never thrown. */
  add(bytes: Uint8Array, opts: { from?: TxOrigin } = {}): AddResult {
    const origin = opts.from ?? 'peer'
    const error = this.admit(bytes, origin)
    if (error instanceof MempoolError) {
      this.refused[error.code]++
      // a nonce refused to a client (not one already held or used) holds back that sender's later ones
      if (origin === 'local' && error.subject !== undefined && error.code !== 'DUPLICATE' && error.code !== 'STALE_NONCE') this.rememberRefused(error.subject.sender, error.subject.nonce)
      return { ok: false, error }
    }
    this.admitted[origin]++
    return { ok: true, id: error }
  }

  take(maxCount: number, maxBytes: number, exclude: KeySet): Uint8Array[] {
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

  /**
   * The refusal (FULL) any client's transaction gets now, before it is looked at, or
   * undefined while clients' transactions are taken. It counts the transactions that
   * could go into a block now: ones stuck behind a nonce gap never drain, and counting
   * them would let a few senders who skip a nonce shut every client out for good (and
   * keep out the very transactions that fill such gaps).
   */
  clientRefusal(): MempoolError | undefined {
    if (this.readyTotal < this.maxHeldForClients) return undefined
    return new MempoolError('FULL', `the mempool holds ${this.readyTotal} transactions ready for a block, as many as it takes from clients; retry later`, { retryAfterMs: RETRY_AFTER_MS })
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
    for (const [sender, refused] of this.refusedNonces) {
      const next = state.nonce(sender)
      const kept = refused.filter((n) => n >= next)
      if (kept.length === 0) this.refusedNonces.delete(sender)
      else if (kept.length < refused.length) this.refusedNonces.set(sender, kept)
    }
    for (const [sender, q] of this.senders) {
      const rec = state.sender(sender)
      if (rec === undefined || rec.revokedAt !== null || !bytesEqual(rec.publicKey, q.publicKey)) {
        for (const e of q.byNonce.values()) this.remove(e, 'revoked')
        continue
      }
      q.next = state.nonce(sender)
      for (const [nonce, e] of q.byNonce) if (nonce < q.next) this.remove(e, 'stale')
      if (this.senders.get(sender) === q) this.recount(q)
    }
    this.buckets?.prune()
  }

  /** Transactions that could go into a block now: each sender's contiguous run from its next nonce (kept as a running count). */
  ready(): number {
    return this.readyTotal
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
    if (origin === 'local') {
      const closed = this.clientRefusal()
      if (closed !== undefined) return closed
    }
    const a = precheck(bytes, this.state, this.maxTxBytes, this.maxNonceGap)
    if (a instanceof MempoolError) return a
    const { tx } = a.decoded.signed
    const q = this.senders.get(tx.sender)
    const same = q?.byNonce.get(tx.nonce)
    if (same !== undefined) {
      return new MempoolError('DUPLICATE', `'${tx.sender}' already has transaction ${same.id} pending at nonce ${tx.nonce}; pending transactions are not replaced`)
    }
    const subject = { sender: tx.sender, nonce: tx.nonce }
    const hole = origin === 'local' ? this.refusedBelow(tx.sender, tx.nonce, a.next, q) : undefined
    if (hole !== undefined) {
      return new MempoolError('NONCE_GAP', `nonce ${hole} of '${tx.sender}' was refused here and is not held; offer it before nonce ${tx.nonce} (retry once ${hole} is accepted)`, { ledgerCode: 'BAD_NONCE', retryAfterMs: RETRY_AFTER_MS, subject })
    }
    const pending = q?.byNonce.size ?? 0
    if (pending >= this.maxPerSender) return new MempoolError('SENDER_LIMIT', `'${tx.sender}' already has ${pending} transactions pending, limit ${this.maxPerSender}; retry once some commit`, { retryAfterMs: RETRY_AFTER_MS, subject })
    if (this.buckets !== undefined && !this.buckets.allows(tx.sender)) return new MempoolError('RATE_LIMITED', `'${tx.sender}' is sending faster than the mempool admits; retry later`, { retryAfterMs: this.retryAfterRateMs, subject })
    const victims = this.planEviction(bytes.length, tx.sender, pending)
    if (victims instanceof MempoolError) return new MempoolError(victims.code, victims.message, { retryAfterMs: victims.retryAfterMs, subject })
    const bad = checkSignature(a)
    if (bad !== undefined) return bad
    this.buckets?.spend(tx.sender)
    for (const v of victims) this.remove(v, 'evicted')
    const entry: Entry = { id: a.decoded.id.toString(), decoded: a.decoded, key: key ?? commandKey(bytes), bytes, sender: tx.sender, nonce: tx.nonce, origin, seq: this.seq++ }
    let queue = this.senders.get(tx.sender)
    if (queue === undefined) {
      queue = { byNonce: new Map(), next: a.next, publicKey: a.sender.publicKey, lastSeq: entry.seq, run: 0 }
      this.senders.set(tx.sender, queue)
    }
    queue.byNonce.set(entry.nonce, entry)
    queue.lastSeq = entry.seq
    if (entry.nonce === queue.next + queue.run) this.recount(queue, queue.run) // extends the run: count on from its end
    this.forgetRefused(tx.sender, tx.nonce)
    this.byKey.set(entry.key, entry)
    this.byId.set(entry.id, entry)
    this.totalBytes += bytes.length
    return entry.id
  }

  /** The lowest nonce of `sender` below `nonce`, at or above its next nonce `next`, that was refused to a client here and is not held. */
  private refusedBelow(sender: string, nonce: number, next: number, q: SenderQueue | undefined): number | undefined {
    const refused = this.refusedNonces.get(sender)
    if (refused === undefined) return undefined
    for (const n of refused) {
      if (n >= nonce) return undefined // sorted: nothing lower is left
      if (n >= next && q?.byNonce.has(n) !== true) return n
    }
    return undefined
  }

  private rememberRefused(sender: string, nonce: number): void {
    // far beyond the window a nonce holds nothing back that the window would admit soon (and anyone can name one)
    if (nonce > this.state.nonce(sender) + REMEMBERED_AHEAD * Math.max(1, this.maxNonceGap)) return
    let refused = this.refusedNonces.get(sender)
    if (refused === undefined) {
      if (this.refusedNonces.size >= MAX_SENDERS_WITH_REFUSALS) this.refusedNonces.delete(this.refusedNonces.keys().next().value!)
      this.refusedNonces.set(sender, (refused = []))
    }
    if (refused.includes(nonce)) return
    refused.push(nonce)
    refused.sort((a, b) => a - b)
    if (refused.length > MAX_REFUSED_PER_SENDER) refused.pop() // the lowest ones are the ones that hold others back
  }

  private forgetRefused(sender: string, nonce: number): void {
    const refused = this.refusedNonces.get(sender)
    const i = refused?.indexOf(nonce) ?? -1
    if (i < 0) return
    refused!.splice(i, 1)
    if (refused!.length === 0) this.refusedNonces.delete(sender)
  }

  /** The transactions to evict so that a newcomer of `size` bytes from `sender` (holding `pending`) fits, or FULL. Mutates nothing. */
  private planEviction(size: number, sender: string, pending: number): Entry[] | MempoolError {
    let count = this.byKey.size + 1
    let bytes = this.totalBytes + size
    if (count <= this.maxCount && bytes <= this.maxBytes) return []
    const full = (why: string, retryable = true) => new MempoolError('FULL', `mempool is full (${this.byKey.size} transactions, ${this.totalBytes} bytes; limits ${this.maxCount}, ${this.maxBytes}) ${why}`, { retryAfterMs: retryable ? RETRY_AFTER_MS : undefined })
    // never fits, so retrying cannot help
    if (size > this.maxBytes) return full(`and the transaction alone is larger than the byte limit`, false)
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
    this.byId.delete(e.id)
    this.totalBytes -= e.bytes.length
    this.removed[why]++
    const q = this.senders.get(e.sender)
    if (q === undefined) return
    q.byNonce.delete(e.nonce)
    if (q.byNonce.size === 0) {
      this.readyTotal -= q.run
      this.senders.delete(e.sender)
    } else if (e.nonce >= q.next && e.nonce < q.next + q.run) this.recount(q, e.nonce - q.next) // the run now ends just below it
  }

  /**
   * Sets `q.run` to its contiguous run from its next nonce, keeping `readyTotal` in
   * step. `known`: how many from the next nonce are known to be held (the count goes
   * on from there, so extending a run costs one step, not the run's length).
   */
  private recount(q: SenderQueue, known = 0): void {
    let run = known
    while (q.byNonce.has(q.next + run)) run++
    this.readyTotal += run - q.run
    q.run = run
  }
}

/** The first transaction of `q` at or after nonce `from` that is not excluded, if the nonces up to it are all held (excluded ones are in pending blocks). */
function runFrom(q: SenderQueue, from: number, exclude: KeySet): Entry | undefined {
  for (let n = from; ; n++) {
    const e = q.byNonce.get(n)
    if (e === undefined || !exclude.has(e.key)) return e
  }
}

function positive(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`mempool option ${name} must be an integer ≥ ${min}, got ${v}`)
  return v
}
