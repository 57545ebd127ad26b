/**
 * The mempool's checks of one transaction against the committed state, in the
 * ledger's terms (ledger/exec/block.ts `applyTx`): decode (size, canonical form,
 * schema), chain id, sender (member, else enclave; not revoked), nonce window, and
 * the sender's signature. These are exactly the checks the ledger makes before it
 * runs a transaction's handler; the handler's rules (roles, rounds, budgets,
 * governance approvals) stay in the ledger, which refuses such a transaction with a
 * receipt. The signature check is separate because it is the expensive one: the
 * mempool runs its own cheap limits first.
 */
import { decodeTx, isLedgerError, MAX_TX_BYTES, verifyDecodedTx, type DecodedTx } from '../../ledger/index.ts'
import { MempoolError, RETRY_AFTER_MS } from './errors.ts'
import type { MempoolSender, MempoolState } from './state.ts'

export interface Admissible {
  decoded: DecodedTx
  sender: MempoolSender
  /** the sender's next nonce in the committed state */
  next: number
}

/** Decodes `bytes` and checks chain, sender and nonce window; returns a MempoolError on refusal (never throws for bad input). */
export function precheck(bytes: Uint8Array, state: MempoolState, maxTxBytes: number, maxNonceGap: number): Admissible | MempoolError {
  if (!(bytes instanceof Uint8Array)) return new MempoolError('MALFORMED', 'a transaction must be bytes')
  if (bytes.length > maxTxBytes) {
    // over the ledger's own limit, the ledger would refuse it too; under it, only this node's option does
    const ledgerCode = bytes.length > MAX_TX_BYTES ? 'OVERSIZED' : undefined
    return new MempoolError('OVERSIZED', `transaction is ${bytes.length} bytes, limit ${maxTxBytes}`, ledgerCode === undefined ? undefined : { ledgerCode })
  }
  let decoded: DecodedTx
  try {
    decoded = decodeTx(bytes)
  } catch (e) {
    if (!isLedgerError(e)) throw e
    const code = e.code === 'OVERSIZED' ? 'OVERSIZED' : 'MALFORMED'
    return new MempoolError(code, e.message, { ledgerCode: e.code, cause: e })
  }
  const { tx } = decoded.signed
  if (tx.chain !== state.chainId) return new MempoolError('WRONG_CHAIN', `transaction is for chain '${tx.chain}', this is '${state.chainId}'`, { ledgerCode: 'WRONG_CHAIN' })
  const sender = state.sender(tx.sender)
  if (sender === undefined) return new MempoolError('UNKNOWN_SENDER', `unknown sender '${tx.sender}'`, { ledgerCode: 'UNKNOWN_MEMBER' })
  // A revocation in the committed state is at or below its height, so it applies to every block still to come.
  if (sender.revokedAt !== null) {
    const ledgerCode = sender.kind === 'member' ? 'MEMBER_REVOKED' : 'ENCLAVE_REVOKED'
    return new MempoolError('UNKNOWN_SENDER', `${sender.kind} '${tx.sender}' was revoked at height ${sender.revokedAt}`, { ledgerCode })
  }
  const next = state.nonce(tx.sender)
  const subject = { sender: tx.sender, nonce: tx.nonce }
  if (tx.nonce < next) return new MempoolError('STALE_NONCE', `nonce ${tx.nonce} of '${tx.sender}' is not the next one (${next}): replay`, { ledgerCode: 'BAD_NONCE', subject })
  if (tx.nonce - next > maxNonceGap) {
    // not now: once the earlier nonces commit, the same transaction is in the window
    return new MempoolError('NONCE_GAP', `nonce ${tx.nonce} of '${tx.sender}' is ${tx.nonce - next} ahead of its next nonce ${next}; at most ${maxNonceGap} ahead are held; retry once earlier ones commit`, { ledgerCode: 'BAD_NONCE', retryAfterMs: RETRY_AFTER_MS, subject })
  }
  return { decoded, sender, next }
}

/** The ledger's signature check of the sender (co-signers' approvals are checked by the governance handlers). */
export function checkSignature(a: Admissible): MempoolError | undefined {
  const { tx, sig } = a.decoded.signed
  if (!verifyDecodedTx(a.decoded, a.sender.publicKey, sig)) return new MempoolError('BAD_SIGNATURE', `signature of '${tx.sender}' does not verify`, { ledgerCode: 'BAD_SIGNATURE', subject: { sender: tx.sender, nonce: tx.nonce } })
  return undefined
}
