/**
 * The transaction formats, as zod schemas over decoded DAG-CBOR values. The
 * TypeScript types are inferred from the schemas, so the wire format and the
 * types cannot drift apart. Every field is checked here, at the edge; the state
 * machine then only applies the consortium's rules.
 *
 * Identifiers (member, enclave, round ids) are short printable strings; keys and
 * hashes are byte strings of fixed length; CIDs are DAG-CBOR links (tag 42).
 */
import { z } from 'zod'
import { CID } from 'multiformats/cid'

export const MAX_ID_LENGTH = 64
export const MAX_LIST_LENGTH = 10_000
export const MAX_TEXT_LENGTH = 1_024
/** co-signatures on one governance transaction; bounds the governance threshold at MAX_APPROVALS + 1 */
export const MAX_APPROVALS = 100

/** An identifier: member, enclave, round or chain id. */
export const Identifier = z
  .string()
  .min(1)
  .max(MAX_ID_LENGTH)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'ids are letters, digits and . _ : - (starting with a letter or digit)')
const text = z.string().max(MAX_TEXT_LENGTH)
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array
const bytes = (len: number) => z.custom<Uint8Array>((v) => isBytes(v) && v.length === len, `expected ${len} bytes`)
const bytesMax = (max: number) => z.custom<Uint8Array>((v) => isBytes(v) && v.length <= max, `expected at most ${max} bytes`)
const cid = z.custom<CID>((v) => CID.asCID(v) !== null, 'expected a CID link')
const height = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const positive = z.number().finite().positive()
const id = Identifier
const ids = z.array(id).max(MAX_LIST_LENGTH)

export const ROLES = ['participant', 'coordinator', 'auditor', 'governor'] as const
export const Role = z.enum(ROLES)
export type Role = z.infer<typeof Role>

/** A governance approval: another governor's signature over the same payload. */
export const Approval = z.strictObject({ member: id, sig: bytes(64) })
export type Approval = z.infer<typeof Approval>

/** Evidence for a revocation: a signed revocation-list entry, or a governance quorum. */
export const RevocationEntry = z.strictObject({
  chain: id,
  authority: id,
  serial: uint,
  subject: z.strictObject({ kind: z.enum(['member', 'enclave']), id }),
  reason: text,
  issuedAt: uint, // unix seconds
})
export type RevocationEntry = z.infer<typeof RevocationEntry>
export const RevocationEvidence = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('revocation-list'), entry: RevocationEntry, sig: bytes(64) }),
  z.strictObject({ kind: z.literal('governance') }),
])
export type RevocationEvidence = z.infer<typeof RevocationEvidence>

/** Opaque attestation evidence; its format's verifier (enclave/) interprets the bytes. */
export const AttestationEvidence = z.strictObject({ format: id, evidence: bytesMax(64 * 1024) })
export type AttestationEvidence = z.infer<typeof AttestationEvidence>

export const TrainingConfig = z.strictObject({
  clipNorm: positive,
  noiseMultiplier: positive,
  samplingRate: z.number().finite().gt(0).max(1),
  localEpochs: z.number().finite().positive().max(1_000),
})
export type TrainingConfig = z.infer<typeof TrainingConfig>

export const AggregationConfig = z.strictObject({
  rule: z.literal('multi-krum'),
  f: uint,
  m: uint.min(1),
  /**
   * The enclave's central (member-level) Gaussian noise on the sum of the selected
   * updates, as a multiple of the clip bound; absent means training.noiseMultiplier,
   * 0 means none. The ledger accounts the members' local DP-SGD (example-level,
   * training.*); this is a second layer whose member-level guarantee needs far more
   * members than a consortium of banks has, so it is set per round.
   */
  centralNoiseMultiplier: z.number().finite().nonnegative().max(1_000).optional(),
})
export type AggregationConfig = z.infer<typeof AggregationConfig>

export const UpdateStatement = z.strictObject({
  chain: id,
  round: id,
  member: id,
  plaintextHash: bytes(32),
  declaredNorm: z.number().finite().nonnegative(),
})
export type UpdateStatement = z.infer<typeof UpdateStatement>

export const Exclusion = z.strictObject({ member: id, reason: text })

export const Validator = z.strictObject({ id, publicKey: bytes(32), power: uint.min(1) })
export type Validator = z.infer<typeof Validator>

/** An attestation policy as governance sets it (params.update): what decides whether enclave evidence verifies. */
export const AttestationPolicyBody = z.strictObject({
  formats: z.array(id).min(1).max(16),
  trustAnchors: z.record(id, z.array(bytesMax(8192)).max(16)),
  maxEvidenceAgeSeconds: uint.min(1),
  measurements: z.array(z.string().regex(/^([0-9a-f]{2}){1,64}$/, 'measurements are lowercase hex of 1 to 64 bytes')).max(256),
})

/** Transaction bodies, by type. */
export const Bodies = {
  'member.register': z.strictObject({ id, org: text.min(1), roles: z.array(Role).min(1).max(ROLES.length), publicKey: bytes(32), attestation: cid.optional() }),
  'member.revoke': z.strictObject({ member: id, reason: text, evidence: RevocationEvidence }),
  'enclave.register': z.strictObject({ id, platform: id, measurement: bytesMax(64), publicKey: bytes(32), attestation: AttestationEvidence }),
  'enclave.revoke': z.strictObject({ enclave: id, reason: text, evidence: RevocationEvidence }),
  'validator-set.update': z.strictObject({ validators: z.array(Validator).min(1).max(1_000), epoch: uint }),
  'budget.grant': z.strictObject({ member: id, epsilon: positive, delta: z.number().finite().gt(0).lt(1) }),
  'round.open': z.strictObject({
    round: id,
    baseModel: cid,
    training: TrainingConfig,
    aggregation: AggregationConfig,
    eligible: ids.min(1),
    deadline: height,
    enclave: id,
  }),
  'enclave.round-key': z.strictObject({ round: id, publicKey: bytes(32), attestation: AttestationEvidence }),
  'round.commit': z.strictObject({ round: id, ciphertext: cid, statement: UpdateStatement, statementSig: bytes(64) }),
  'round.result': z.strictObject({
    round: id,
    model: cid,
    included: ids,
    excluded: z.array(Exclusion).max(MAX_LIST_LENGTH),
    dp: z.strictObject({ clipNorm: positive, noiseMultiplier: positive, samplingRate: z.number().finite().gt(0).max(1), steps: uint.min(1) }),
    /** Multi-Krum as applied (m = min(the round's m, valid updates − f)) and the σ of the central noise the enclave added */
    aggregation: z.strictObject({ f: uint, m: uint.min(1), centralNoiseMultiplier: z.number().finite().nonnegative().max(1_000) }),
    transcriptHash: bytes(32),
  }),
  'round.close': z.strictObject({ round: id }),
  'round.discard': z.strictObject({ round: id, reason: text }),
  'params.update': z
    .strictObject({ governanceThreshold: uint.min(1).max(MAX_APPROVALS + 1).optional(), attestation: AttestationPolicyBody.optional() })
    .refine((b) => b.governanceThreshold !== undefined || b.attestation !== undefined, 'a params.update changes the governance threshold, the attestation policy, or both'),
  checkpoint: z.strictObject({ round: id, model: cid, snapshot: cid, stateRoot: bytes(32), height }),
} as const

export type TxType = keyof typeof Bodies
export const TX_TYPES = Object.keys(Bodies) as TxType[]
export type TxBody<T extends TxType> = z.infer<(typeof Bodies)[T]>

/** The signed part of a transaction. */
export const TxPayload = z.strictObject({
  chain: id,
  type: z.string(),
  sender: id,
  nonce: uint,
  body: z.unknown(),
})

/** A transaction as it travels: payload, the sender's signature, optional co-signers. */
export const SignedTxSchema = z.strictObject({
  tx: TxPayload,
  sig: bytes(64),
  approvals: z.array(Approval).max(MAX_APPROVALS).optional(),
})

export type Tx<T extends TxType = TxType> = { chain: string; type: T; sender: string; nonce: number; body: TxBody<T> }
export type AnyTx = { [T in TxType]: Tx<T> }[TxType]
export interface SignedTx<T extends TxType = TxType> {
  tx: Tx<T>
  sig: Uint8Array
  approvals?: Approval[]
}
