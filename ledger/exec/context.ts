/**
 * What a transaction handler sees: the block it runs in, the state (an overlay
 * that is discarded if the handler throws), the authenticated sender, and the
 * components the ledger was built with. Also the checks several handlers share.
 */
import type { AttestationVerifier } from '../attestation.ts'
import { LedgerError } from '../errors.ts'
import type { ChainParams, EnclaveRecord, MemberRecord } from '../state/records.ts'
import { StateKey } from '../state/keys.ts'
import type { StateOverlay } from '../state/state.ts'
import type { Role, SignedTx, TxType, Tx } from '../tx/schema.ts'
import { verifyTxSignature } from '../tx/envelope.ts'

export interface ExecutionComponents {
  attestation: AttestationVerifier
}

export interface BlockInfo {
  height: number
  /** block time in unix seconds, as agreed by consensus */
  time: number
}

export type Sender = { kind: 'member'; record: MemberRecord } | { kind: 'enclave'; record: EnclaveRecord }

export interface TxContext<T extends TxType = TxType> {
  block: BlockInfo
  /** state root before this block (checkpoints anchor it) */
  preStateRoot: Uint8Array
  state: StateOverlay
  params: ChainParams
  sender: Sender
  signed: SignedTx<T>
  tx: Tx<T>
  components: ExecutionComponents
}

export function isRevoked(rec: { revokedAt: number | null }, height: number): boolean {
  return rec.revokedAt !== null && rec.revokedAt <= height
}

export function getMember(state: StateOverlay, id: string): MemberRecord {
  const m = state.get<MemberRecord>(StateKey.member(id))
  if (m === undefined) throw new LedgerError('UNKNOWN_MEMBER', `unknown member '${id}'`)
  return m
}

export function getEnclave(state: StateOverlay, id: string): EnclaveRecord {
  const e = state.get<EnclaveRecord>(StateKey.enclave(id))
  if (e === undefined) throw new LedgerError('UNKNOWN_ENCLAVE', `unknown enclave '${id}'`)
  return e
}

export function requireMember(ctx: TxContext): MemberRecord {
  if (ctx.sender.kind !== 'member') throw new LedgerError('FORBIDDEN_ROLE', `${ctx.tx.type} must be sent by a member, not enclave '${ctx.tx.sender}'`)
  return ctx.sender.record
}

export function requireRole(ctx: TxContext, role: Role): MemberRecord {
  const m = requireMember(ctx)
  if (!m.roles.includes(role)) throw new LedgerError('FORBIDDEN_ROLE', `${ctx.tx.type} needs the ${role} role; '${m.id}' has ${m.roles.join(', ')}`)
  return m
}

export function requireEnclave(ctx: TxContext): EnclaveRecord {
  if (ctx.sender.kind !== 'enclave') throw new LedgerError('FORBIDDEN_ROLE', `${ctx.tx.type} must be sent by an enclave, not member '${ctx.tx.sender}'`)
  return ctx.sender.record
}

/**
 * Governance transactions need `governanceThreshold` distinct, unrevoked
 * governors: the sender plus co-signers in `approvals`, each signing the same
 * transaction payload.
 */
export function requireGovernance(ctx: TxContext): void {
  const sender = requireRole(ctx, 'governor')
  const signers = new Set([sender.id])
  for (const a of ctx.signed.approvals ?? []) {
    if (signers.has(a.member)) throw new LedgerError('BAD_SIGNATURE', `governor '${a.member}' approves twice`)
    const g = ctx.state.get<MemberRecord>(StateKey.member(a.member))
    if (g === undefined || !g.roles.includes('governor')) throw new LedgerError('FORBIDDEN_ROLE', `approval by '${a.member}', who is not a governor`)
    if (isRevoked(g, ctx.block.height)) throw new LedgerError('MEMBER_REVOKED', `approval by revoked governor '${a.member}'`)
    if (!verifyTxSignature(ctx.tx, g.publicKey, a.sig)) throw new LedgerError('BAD_SIGNATURE', `approval signature of '${a.member}' does not verify`)
    signers.add(a.member)
  }
  if (signers.size < ctx.params.governanceThreshold) {
    throw new LedgerError('FORBIDDEN_ROLE', `${ctx.tx.type} needs ${ctx.params.governanceThreshold} governors, has ${signers.size}`)
  }
}

export function measurementAllowed(params: ChainParams, measurement: Uint8Array): boolean {
  return params.attestation.measurements.includes(Buffer.from(measurement).toString('hex'))
}
