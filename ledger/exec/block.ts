/**
 * `executeBlock(state, block, components) → { state, receipts, stateRoot }`: the
 * ledger's deterministic state transition. Each transaction is decoded, checked
 * (chain id, sender, nonce, signature) and applied in its own overlay; a failing
 * transaction yields a receipt with a typed code and leaves the state as it was,
 * except that one refused by its handler (past those checks) consumes its nonce.
 * Nothing a transaction contains can make this function throw: the only throws
 * are broken caller invariants (a block at the wrong height, a state without
 * genesis).
 */
import { cidOfBytes, type CID } from '../../primitives/index.ts'
import { LedgerError, type LedgerErrorCode, isLedgerError } from '../errors.ts'
import { StateKey } from '../state/keys.ts'
import type { ChainParams, EnclaveRecord, MemberRecord } from '../state/records.ts'
import { type LedgerState, StateOverlay } from '../state/state.ts'
import { decodeTx, verifyDecodedTx, type DecodedTx } from '../tx/envelope.ts'
import type { TxType } from '../tx/schema.ts'
import { isRevoked, type BlockInfo, type ExecutionComponents, type Sender, type TxContext } from './context.ts'
import { applyEpochBoundary, budgetGrant, enclaveRegister, enclaveRevoke, memberRegister, memberRevoke, paramsUpdate, validatorSetUpdate } from './membership.ts'
import { enclaveRoundKey, roundCommit, roundOpen } from './rounds.ts'
import { checkpoint, roundClose, roundDiscard, roundResult } from './results.ts'

export interface BlockInput extends BlockInfo {
  /** encoded signed transactions, in consensus order */
  txs: readonly Uint8Array[]
}

export type ReceiptCode = 'OK' | LedgerErrorCode | 'INTERNAL'

export interface Receipt {
  index: number
  tx: CID
  code: ReceiptCode
  message: string
}

export interface BlockOutcome {
  state: LedgerState
  receipts: Receipt[]
  stateRoot: Uint8Array
  /** the state writes of the block, in key order (undefined = deleted); what the store persists */
  writes: Array<[string, Uint8Array | undefined]>
}

type Handler = (ctx: TxContext<any>) => void
const HANDLERS: Record<TxType, Handler> = {
  'member.register': memberRegister,
  'member.revoke': memberRevoke,
  'enclave.register': enclaveRegister,
  'enclave.revoke': enclaveRevoke,
  'validator-set.update': validatorSetUpdate,
  'budget.grant': budgetGrant,
  'round.open': roundOpen,
  'enclave.round-key': enclaveRoundKey,
  'round.commit': roundCommit,
  'round.result': roundResult,
  'round.close': roundClose,
  'round.discard': roundDiscard,
  'params.update': paramsUpdate,
  checkpoint,
}

export function executeBlock(state: LedgerState, block: BlockInput, components: ExecutionComponents): BlockOutcome {
  if (block.height !== state.height + 1) throw new Error(`block height ${block.height} does not follow state height ${state.height}`)
  const params = state.get<ChainParams>(StateKey.params)
  if (params === undefined) throw new Error('state has no chain parameters: execute on a genesis state')
  if (!block.txs.every((t) => t instanceof Uint8Array)) throw new Error('block transactions must be byte arrays (decode the block before executing it)')
  const missing = params.attestation.formats.filter((f) => !components.attestation.supports(f))
  if (missing.length > 0) throw new Error(`this node cannot verify evidence formats its chain allows: ${missing.join(', ')}`)
  const overlay = new StateOverlay(state)
  // the first block records the genesis hash, so that every later state can prove which network it is
  if (block.height === 1) overlay.put(StateKey.genesis, state.root)
  const receipts: Receipt[] = block.txs.map((bytes, index) => {
    const txOverlay = new StateOverlay(overlay)
    let id: CID | undefined
    try {
      const decoded = components.decoded?.(bytes) ?? decodeTx(bytes)
      id = decoded.id
      applyTx(decoded, txOverlay, overlay, params, block, state.root, components)
      txOverlay.mergeInto(overlay)
      return { index, tx: id, code: 'OK', message: '' }
    } catch (e) {
      const tx = id ?? cidOfBytes(bytes)
      if (isLedgerError(e)) return { index, tx, code: e.code, message: e.message }
      // A bug, not bad input: still deterministic on every replica, and visible in the receipt.
      return { index, tx, code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) }
    }
  })
  applyEpochBoundary(overlay, block.height, params.epochLength)
  const writes = overlay.changes()
  const next = state.apply(writes, block.height)
  return { state: next, receipts, stateRoot: next.root, writes }
}

/**
 * Applies one transaction to `state` (its own overlay). The checks that make it the
 * sender's (chain, a known unrevoked sender, the next nonce, the signature) come
 * first; a failure there leaves no trace, since it may not be the sender's at all.
 * Past them, a handler that refuses the transaction still consumes its nonce, in
 * `block` (the block's overlay, kept when the transaction's is dropped): a refused
 * transaction can never execute later, when the state has changed under it, and
 * the sender's next transaction is not held behind it. Except when the refusal is the
 * governance approvals' fault: the sender's signature does not cover them, so anyone
 * relaying the transaction could add, drop or spoil one to burn the sender's nonce.
 */
function applyTx(decoded: DecodedTx, state: StateOverlay, block: StateOverlay, params: ChainParams, info: BlockInfo, preStateRoot: Uint8Array, components: ExecutionComponents): void {
  const { signed } = decoded
  const { tx } = signed
  if (tx.chain !== params.chainId) throw new LedgerError('WRONG_CHAIN', `transaction is for chain '${tx.chain}', this is '${params.chainId}'`)
  const sender = lookupSender(state, tx.sender, info.height)
  const nonceKey = StateKey.nonce(tx.sender)
  const expected = state.get<number>(nonceKey) ?? 0
  if (tx.nonce !== expected) throw new LedgerError('BAD_NONCE', `nonce ${tx.nonce} of '${tx.sender}' is not the next one (${expected})${tx.nonce < expected ? ': replay' : ''}`)
  const checked = components.verifiedSender?.(decoded.id.toString(), sender.record.publicKey) === true
  if (!checked && !verifyDecodedTx(decoded, sender.record.publicKey, signed.sig)) throw new LedgerError('BAD_SIGNATURE', `signature of '${tx.sender}' does not verify`)
  const ctx: TxContext = { block: info, preStateRoot, state, params, sender, signed, tx, signing: decoded.signing, components, governance: false }
  try {
    HANDLERS[tx.type](ctx)
    if ((signed.approvals?.length ?? 0) > 0 && !ctx.governance) {
      ctx.approvalsFault = true
      throw new LedgerError('BAD_ARGUMENT', `${tx.type} takes no governance approvals`)
    }
  } catch (e) {
    // the sender does not sign the approvals: a refusal they caused may be a relayer's doing
    if (ctx.approvalsFault !== true) block.put(nonceKey, expected + 1)
    throw e
  }
  state.put(nonceKey, expected + 1)
}

function lookupSender(state: StateOverlay, id: string, height: number): Sender {
  const member = state.get<MemberRecord>(StateKey.member(id))
  if (member !== undefined) {
    if (isRevoked(member, height)) throw new LedgerError('MEMBER_REVOKED', `member '${id}' was revoked at height ${member.revokedAt}`)
    return { kind: 'member', record: member }
  }
  const enclave = state.get<EnclaveRecord>(StateKey.enclave(id))
  if (enclave !== undefined) {
    if (isRevoked(enclave, height)) throw new LedgerError('ENCLAVE_REVOKED', `enclave '${id}' was revoked at height ${enclave.revokedAt}`)
    return { kind: 'enclave', record: enclave }
  }
  throw new LedgerError('UNKNOWN_MEMBER', `unknown sender '${id}'`)
}
