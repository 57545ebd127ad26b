/**
 * Why the mempool refuses a transaction: a `MempoolError` with a stable code (used
 * in metrics, API answers and the gossip accept/ignore/reject mapping) and a message
 * for a person. Where the ledger would refuse the same transaction with its own
 * code (a bad nonce, a revoked member, …), that code rides along as `ledgerCode`
 * and the message is the ledger's.
 */
import { CodedError } from '../../primitives/index.ts'
import type { LedgerErrorCode } from '../../ledger/index.ts'

export const MempoolErrorCode = {
  /** the same bytes are already pending, or the sender already has a transaction pending at that nonce */
  DUPLICATE: 'DUPLICATE',
  /** not a canonical, schema-valid transaction envelope */
  MALFORMED: 'MALFORMED',
  /** larger than the transaction size limit */
  OVERSIZED: 'OVERSIZED',
  /** signed for another chain */
  WRONG_CHAIN: 'WRONG_CHAIN',
  /** the sender is neither a member nor an enclave of the committed state, or it is revoked */
  UNKNOWN_SENDER: 'UNKNOWN_SENDER',
  /** the sender's signature does not verify under its registered key */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** the nonce is below the sender's next nonce: already used (a replay) */
  STALE_NONCE: 'STALE_NONCE',
  /**
   * the nonce is more than `maxNonceGap` ahead of the sender's next nonce, or (a
   * client's transaction) an earlier nonce of the sender was refused here and is not
   * held: retry once the earlier nonces are in
   */
  NONCE_GAP: 'NONCE_GAP',
  /** the mempool is at its count or byte limit and no transaction may be evicted for this one */
  FULL: 'FULL',
  /** the sender's token bucket is empty */
  RATE_LIMITED: 'RATE_LIMITED',
  /** the sender already has `maxPerSender` transactions pending */
  SENDER_LIMIT: 'SENDER_LIMIT',
} as const

export type MempoolErrorCode = (typeof MempoolErrorCode)[keyof typeof MempoolErrorCode]

export const MEMPOOL_ERROR_CODES = Object.values(MempoolErrorCode)

export class MempoolError extends CodedError<MempoolErrorCode> {
  /** the ledger's code for the same refusal, when the ledger has one */
  readonly ledgerCode: LedgerErrorCode | undefined
  /**
   * Set when the refusal says "not now" rather than "never": the same bytes may be
   * admitted later (the pool drains, a token refills, earlier nonces commit), and a
   * client should offer them again after about this many milliseconds, in nonce
   * order. Undefined for refusals that retrying cannot change.
   */
  readonly retryAfterMs: number | undefined
  /** the refused transaction's sender and nonce, when it decoded that far */
  readonly subject: { sender: string; nonce: number } | undefined

  constructor(code: MempoolErrorCode, message: string, options?: { ledgerCode?: LedgerErrorCode; cause?: unknown; retryAfterMs?: number; subject?: { sender: string; nonce: number } }) {
    super(code, message, options)
    this.ledgerCode = options?.ledgerCode
    this.retryAfterMs = options?.retryAfterMs
    this.subject = options?.subject
  }
}

/** How long a client is asked to wait before offering a transaction refused "not now" (a block interval or so). */
export const RETRY_AFTER_MS = 500

/** How many transactions of a batch (from a client or from gossip) are admitted before the event loop is given back (each costs a decode and a signature check). */
export const ADMIT_CHUNK = 64

/** Resolves on the next turn of the event loop, after the I/O and timers that are waiting (admission yields with it between chunks). */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve))
}

export function isMempoolError(e: unknown): e is MempoolError {
  return e instanceof MempoolError
}

/**
 * Whether a refusal proves that whoever relayed the transaction misbehaved (gossip
 * `reject`, which lowers the peer's score) rather than that it lost a race, hit a
 * local limit or sees another committed state than ours (gossip `ignore`): bytes no
 * honest node forwards, because its own mempool refuses them whatever its state.
 * (A sender's key never changes once registered, so a bad signature is a fault; a
 * transaction over this node's own size limit but within the ledger's is not.)
 */
export function isPeerFault(e: MempoolError): boolean {
  if (e.code === 'OVERSIZED') return e.ledgerCode === 'OVERSIZED'
  return e.code === 'MALFORMED' || e.code === 'WRONG_CHAIN' || e.code === 'BAD_SIGNATURE'
}
