/**
 * What a transaction handler sees: the block it runs in, the state (an overlay
 * that is discarded if the handler throws), the authenticated sender, and the
 * components the ledger was built with. Also the checks several handlers share.
 */
import { type AttestationVerifier, evidenceNonce } from '../attestation.ts'
import { bytesEqual, isWeakPublicKey, toHex, verifyBytes } from '../../primitives/index.ts'
import { LedgerError, type LedgerErrorCode } from '../errors.ts'
import type { ChainParams, EnclaveRecord, MemberRecord } from '../state/records.ts'
import { StateKey } from '../state/keys.ts'
import type { StateOverlay } from '../state/state.ts'
import type { AttestationEvidence, Role, SignedTx, TxType, Tx } from '../tx/schema.ts'
import type { DecodedTx } from '../tx/envelope.ts'

export interface ExecutionComponents {
  attestation: AttestationVerifier
  /**
   * Signatures this node has checked already (its mempool verifies each transaction
   * once, on entry): true when the sender's signature in transaction `id` (a CID
   * string, so the exact bytes) verified under exactly `publicKey`. Absent or false:
   * execution verifies. Either way the outcome is the same on every replica.
   */
  verifiedSender?(id: string, publicKey: Uint8Array): boolean
  /** What decodeTx(bytes) gave when this node decoded these exact bytes before (its mempool); absent or undefined: execution decodes. */
  decoded?(bytes: Uint8Array): DecodedTx | undefined
  /**
   * The state root after committed block `height`, from the caller's committed
   * history, which is the same on every honest validator, so execution stays
   * deterministic. A caller that passes it must answer for every height of the last
   * MAX_CHECKPOINT_LAG_BLOCKS blocks. `checkpoint` uses it to verify a state older
   * than the previous block's; absent, only the previous block's state can be anchored.
   */
  stateRootAt?(height: number): Uint8Array | undefined
}

export interface BlockInfo {
  height: number
  /** block time in unix seconds, as agreed by consensus */
  timeSec: number
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
  /** the bytes the sender and any co-signers signed (txSigningBytes(tx)) */
  signing: Uint8Array
  components: ExecutionComponents
  /** set by requireGovernance: the transaction's approvals were checked and counted */
  governance: boolean
  /**
   * set when a refusal is the approvals' fault (too many, too few, a bad one, or any on a
   * transaction that takes none): the sender does not sign the approvals, so a relayer
   * may have changed them, and such a refusal must not consume the sender's nonce
   */
  approvalsFault?: boolean
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
 * governors: the sender plus exactly threshold − 1 co-signers in `approvals`
 * (sorted by member id, see decodeTx), each signing the same transaction
 * payload. Exactly, so that no relayer can add or drop approvals and change the
 * transaction's id.
 */
export function requireGovernance(ctx: TxContext): void {
  ctx.governance = true
  const sender = requireRole(ctx, 'governor')
  const refuse = (code: LedgerErrorCode, message: string): LedgerError => {
    ctx.approvalsFault = true
    return new LedgerError(code, message)
  }
  const needed = ctx.params.governanceThreshold - 1
  const given = ctx.signed.approvals?.length ?? 0
  if (given > needed) throw refuse('BAD_ARGUMENT', `${ctx.tx.type} carries ${given} approvals; the threshold needs exactly ${needed}`)
  const signers = new Set([sender.id])
  for (const a of ctx.signed.approvals ?? []) {
    if (signers.has(a.member)) throw refuse('BAD_SIGNATURE', `governor '${a.member}' approves twice`)
    const g = ctx.state.get<MemberRecord>(StateKey.member(a.member))
    if (g === undefined || !g.roles.includes('governor')) throw refuse('FORBIDDEN_ROLE', `approval by '${a.member}', who is not a governor`)
    if (isRevoked(g, ctx.block.height)) throw refuse('MEMBER_REVOKED', `approval by revoked governor '${a.member}'`)
    if (!verifyBytes(g.publicKey, ctx.signing, a.sig)) throw refuse('BAD_SIGNATURE', `approval signature of '${a.member}' does not verify`)
    signers.add(a.member)
  }
  if (signers.size < ctx.params.governanceThreshold) {
    throw refuse('FORBIDDEN_ROLE', `${ctx.tx.type} needs ${ctx.params.governanceThreshold} governors, has ${signers.size}`)
  }
}

export function measurementAllowed(params: ChainParams, measurement: Uint8Array): boolean {
  return params.attestation.measurements.includes(toHex(measurement))
}

export function requireStrongKey(publicKey: Uint8Array, whose: string): void {
  if (isWeakPublicKey(publicKey)) throw new LedgerError('BAD_ARGUMENT', `${whose} public key is not a valid ed25519 key of full order`)
}

export interface EvidenceExpectation {
  purpose: 'enclave.register' | 'enclave.round-key'
  /** the enclave id (registration) or round id (round key) the evidence was made for */
  subject: string
  platform: string
  measurement: Uint8Array
  /** keys that must all be bound into the evidence */
  keys: Uint8Array[]
}

/**
 * The one check of enclave evidence: format allowed by the chain, verified under the
 * chain's trust anchors at block time, not debug, the expected platform and an
 * allowed measurement, every expected key bound, and the nonce of this purpose.
 */
export function verifyEnclaveEvidence(ctx: TxContext, att: AttestationEvidence, expect: EvidenceExpectation): void {
  const policy = ctx.params.attestation
  const reject = (why: string) => new LedgerError('ATTESTATION_REJECTED', why)
  if (!policy.formats.includes(att.format)) throw reject(`evidence format '${att.format}' is not allowed on this chain`)
  const trustAnchors = Object.hasOwn(policy.trustAnchors, att.format) ? policy.trustAnchors[att.format]! : []
  const v = ctx.components.attestation.verify(att.format, att.evidence, { at: ctx.block.timeSec, maxAgeSeconds: policy.maxEvidenceAgeSeconds, trustAnchors })
  if (v.debug) throw reject('enclave runs in debug mode')
  if (v.platform !== expect.platform) throw reject(`evidence is for platform '${v.platform}', not '${expect.platform}'`)
  if (!bytesEqual(v.measurement, expect.measurement)) throw reject('evidence measurement differs from the expected one')
  if (!measurementAllowed(ctx.params, v.measurement)) throw reject('measurement is not on the allow-list')
  for (const key of expect.keys) if (!v.boundKeys.some((k) => bytesEqual(k, key))) throw reject(`key ${Buffer.from(key).toString('hex').slice(0, 16)}… is not bound into the evidence`)
  const nonce = expect.purpose === 'enclave.register' ? evidenceNonce(ctx.params.chainId, expect.purpose, expect.subject) : evidenceNonce(ctx.params.chainId, expect.purpose, expect.subject, genesisHashOf(ctx))
  if (!bytesEqual(v.nonce, nonce)) throw reject(`evidence was not made for ${expect.purpose} of '${expect.subject}' on this chain (an enclave pinned to another genesis?)`)
}

/** This network's genesis hash: recorded by block 1 (executeBlock), so present in every state a transaction runs on. */
export function genesisHashOf(ctx: TxContext): Uint8Array {
  const hash = ctx.state.get<Uint8Array>(StateKey.genesis)
  if (hash === undefined) throw new LedgerError('BAD_ARGUMENT', 'the state holds no genesis hash (executeBlock records it at height 1)')
  return hash
}
