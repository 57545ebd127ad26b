/**
 * Transaction gossip between validators. Transactions travel in batches: one
 * gossipsub message is a DAG-CBOR array of encoded transactions. Gossipsub signs
 * every message and every receiver verifies that signature, so one message per
 * transaction would cost each validator an extra ed25519 check per transaction
 * per peer, more than the transaction's own; a batch pays it once.
 *
 * - Transactions a client hands to this node wait in an outbox for at most
 *   `batchMs` (or until the outbox holds `maxBatchCount` / `maxBatchBytes`), then
 *   leave as one message.
 * - Pending transactions are relayed again every `relayMs`, and shortly after a
 *   peer joins the topic (connects and subscribes): gossip reaches only the peers
 *   connected at the time, and every validator (every future leader) should hold
 *   them. Relayed are the oldest the mempool holds, those a nonce gap keeps back
 *   here included: the peers may be ahead of this node and able to order them (a
 *   restarted node that is behind).
 * - A received batch is admitted transaction by transaction (the mempool checks
 *   each once), ADMIT_CHUNK at a time with the event loop given back in between,
 *   so that a consensus message arriving meanwhile waits for a chunk, not for a
 *   whole batch of signature checks. Verdict for gossipsub scoring: a batch that does not decode, or
 *   holds a transaction whose fault is the sender's (bad signature, malformed),
 *   is rejected; one with nothing new is ignored; otherwise accepted.
 */
import { CodedError, decode, encode } from '../primitives/index.ts'
import { isLedgerError } from '../ledger/index.ts'
import type { SubmitResult } from './app.ts'
import { ADMIT_CHUNK, nextTurn } from './mempool/index.ts'
import type { Logger } from './logger.ts'
import type { P2PHost, ValidationResult } from './p2p/index.ts'

/** What transaction gossip needs of the ledger app: admission, and what to relay next. */
export interface RelayingPool {
  submit(bytes: Uint8Array, from: 'local' | 'peer'): SubmitResult
  mempoolSize(): number
  toRelay(maxCount: number, maxBytes: number): Uint8Array[]
}

export interface TxGossipComponents {
  host: P2PHost
  app: RelayingPool
  logger: Logger
  /** new transactions entered the mempool from a peer */
  onAdmitted(): void
}

export interface TxGossipOptions {
  chainId: string
  /** how long a client's transaction may wait for others to share its message, default 5 ms */
  batchMs?: number
  /** most transactions per message, default 1,024 */
  maxBatchCount?: number
  /** most transaction bytes per message, default 256 KiB */
  maxBatchBytes?: number
  /** pending transactions are relayed again this often, default 2 s */
  relayMs?: number
  /** and at most this many each time (the oldest), default 256 */
  relayCount?: number
}

/** A received batch may not hold more transactions than this, whatever the sender's options. */
export const MAX_GOSSIP_BATCH = 4_096
export { ADMIT_CHUNK }
/**
 * Received batches being admitted at once, at most (gossipsub validates a peer's
 * messages concurrently, and each holds its decoded transactions until done); a batch
 * past it is ignored undecoded, and what it carried comes again with the next relay.
 */
export const MAX_ADMITTING_BATCHES = 16

const JOIN_RELAY_DELAY_MS = 250

export function txTopic(chainId: string): string {
  return `/fedledger/${chainId}/tx-batch/1`
}

export class TxGossipError extends CodedError<'MALFORMED_BATCH'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MALFORMED_BATCH', message, options)
  }
}

/** The transactions in one gossip message; throws TxGossipError for anything but a non-empty array of byte strings. */
export function decodeTxBatch(data: Uint8Array, maxBytes: number): Uint8Array[] {
  let value: unknown
  try {
    value = decode(data, maxBytes)
  } catch (e) {
    throw new TxGossipError(`transaction batch: ${isLedgerError(e) ? e.message : String(e)}`, { cause: e })
  }
  if (!Array.isArray(value) || value.length === 0) throw new TxGossipError('a transaction batch must be a non-empty array')
  if (value.length > MAX_GOSSIP_BATCH) throw new TxGossipError(`a transaction batch holds at most ${MAX_GOSSIP_BATCH} transactions, got ${value.length}`)
  // copies: a transaction may wait in the mempool long after the rest of its message is gone
  return value.map((tx, i) => {
    if (!(tx instanceof Uint8Array)) throw new TxGossipError(`transaction ${i} of the batch is not a byte string`)
    return tx.slice()
  })
}

export class TxGossip {
  private readonly components: TxGossipComponents
  private readonly topic: string
  private readonly batchMs: number
  private readonly maxBatchCount: number
  private readonly maxBatchBytes: number
  private readonly relayMs: number
  private readonly relayCount: number
  private outbox: Uint8Array[] = []
  private outboxBytes = 0
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private relayTimer: ReturnType<typeof setInterval> | undefined
  private joinTimer: ReturnType<typeof setTimeout> | undefined
  private unsubscribe: Array<() => void> = []
  private running = false
  /** received batches being admitted now */
  private admitting = 0

  constructor(components: TxGossipComponents, options: TxGossipOptions) {
    this.components = components
    this.topic = txTopic(options.chainId)
    this.batchMs = options.batchMs ?? 5
    this.maxBatchCount = Math.min(options.maxBatchCount ?? 1_024, MAX_GOSSIP_BATCH)
    this.maxBatchBytes = options.maxBatchBytes ?? 256 * 1024
    this.relayMs = options.relayMs ?? 2_000
    this.relayCount = options.relayCount ?? 256
  }

  start(): void {
    if (this.running) return
    this.running = true
    const { host } = this.components
    this.unsubscribe.push(
      host.subscribe(this.topic, (_from, data) => this.receive(data), () => {}),
      // soon after, not at once: gossipsub may hear the peer's subscription before its own stream to the peer is open
      host.onTopicPeer(this.topic, () => (this.joinTimer ??= setTimeout(() => ((this.joinTimer = undefined), this.relay()), JOIN_RELAY_DELAY_MS))),
    )
    this.relayTimer = setInterval(() => this.relay(), this.relayMs)
  }

  /** Stops timers and the subscription; what waits in the outbox is dropped (the mempool still holds it). */
  stop(): void {
    this.running = false
    clearInterval(this.relayTimer)
    clearTimeout(this.flushTimer)
    clearTimeout(this.joinTimer)
    this.flushTimer = this.joinTimer = undefined
    for (const u of this.unsubscribe) u()
    this.unsubscribe = []
    this.outbox = []
    this.outboxBytes = 0
  }

  /** A transaction this node admitted from a client: it leaves with the next batch. */
  send(tx: Uint8Array): void {
    if (!this.running) return
    if (this.outboxBytes + tx.length > this.maxBatchBytes) this.flush()
    this.outbox.push(tx)
    this.outboxBytes += tx.length
    if (this.outbox.length >= this.maxBatchCount || this.outboxBytes >= this.maxBatchBytes) this.flush()
    else this.flushTimer ??= setTimeout(() => this.flush(), this.batchMs)
  }

  /** Publishes the outbox now. */
  flush(): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    if (this.outbox.length === 0) return
    const batch = this.outbox
    this.outbox = []
    this.outboxBytes = 0
    this.publish(batch)
  }

  private relay(): void {
    if (!this.running || this.components.app.mempoolSize() === 0) return
    const txs = this.components.app.toRelay(this.relayCount, this.maxBatchBytes)
    if (txs.length > 0) this.publish(txs)
  }

  private publish(batch: Uint8Array[]): void {
    this.components.host.publish(this.topic, encode(batch)).catch((e: Error) => this.components.logger.debug({ err: e.message, txs: batch.length }, 'transaction gossip failed'))
  }

  private async receive(data: Uint8Array): Promise<ValidationResult> {
    if (this.admitting >= MAX_ADMITTING_BATCHES) return 'ignore'
    this.admitting++
    try {
      return await this.admitBatch(data)
    } finally {
      this.admitting--
    }
  }

  private async admitBatch(data: Uint8Array): Promise<ValidationResult> {
    let txs: Uint8Array[]
    try {
      txs = decodeTxBatch(data, Number.POSITIVE_INFINITY) // the host already capped the message size
    } catch (e) {
      this.components.logger.warn({ err: (e as Error).message }, 'rejected transaction batch')
      return 'reject'
    }
    let admitted = 0
    let fault: string | undefined
    for (const [i, tx] of txs.entries()) {
      if (i > 0 && i % ADMIT_CHUNK === 0) {
        await nextTurn()
        if (!this.running) break
      }
      const r = this.components.app.submit(tx, 'peer')
      if (r.ok) admitted++
      else if (r.peerFault) {
        // an honest node never relays one: stop here, the batch is rejected anyway
        fault = `${r.code}: ${r.message}`
        break
      }
    }
    if (admitted > 0) this.components.onAdmitted()
    if (fault !== undefined) {
      this.components.logger.warn({ fault, txs: txs.length }, 'transaction batch holds an invalid transaction')
      return 'reject'
    }
    return admitted > 0 ? 'accept' : 'ignore'
  }
}
