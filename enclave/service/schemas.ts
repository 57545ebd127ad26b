/**
 * zod schemas of the service's request bodies and results, over decoded
 * DAG-CBOR values. The wire codec checks every message with them, and the
 * service checks direct calls with the same request schemas, so both twins
 * refuse the same inputs. Round specs and commit records are parsed with
 * z.object (extra fields, such as the rest of a ledger RoundRecord, are dropped).
 */
import { z } from 'zod'
import { Identifier, MAX_LIST_LENGTH } from '../../ledger/index.ts'
import { CID } from '../../primitives/index.ts'

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array
export const bytes = z.custom<Uint8Array>(isBytes, 'expected bytes')
export const bytesOf = (n: number) => z.custom<Uint8Array>((v) => isBytes(v) && v.length === n, `expected ${n} bytes`)
const cid = z.custom<CID>((v) => CID.asCID(v) !== null, 'expected a CID')
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const positive = z.number().finite().positive()
const id = Identifier

export const RoundSpecSchema = z.object({
  id,
  aggregation: z.object({ f: uint, m: uint.min(1), centralNoiseMultiplier: z.number().finite().nonnegative().optional() }),
  training: z.object({ clipNorm: positive, noiseMultiplier: positive, samplingRate: z.number().finite().gt(0).max(1), localEpochs: positive }),
  steps: uint.min(1),
})

export const CommitSchema = z.object({
  round: id,
  member: id,
  seq: uint,
  ciphertext: cid,
  plaintextHash: bytesOf(32),
  declaredNorm: z.number().finite().nonnegative(),
  statementSig: bytesOf(64),
  height: uint,
})

const Exclusion = z.strictObject({ member: id, reason: z.string() })
const members = (value: z.ZodType<Uint8Array>) => z.array(z.tuple([id, value])).max(MAX_LIST_LENGTH)

export const RequestSchemas = {
  identity: z.strictObject({}),
  roundKey: z.strictObject({ chain: id, round: id, nonce: uint, time: uint }),
  aggregate: z.strictObject({
    chain: id,
    round: RoundSpecSchema,
    dimension: uint.min(1),
    commits: z.array(CommitSchema).max(MAX_LIST_LENGTH),
    envelopes: members(bytes),
    memberKeys: members(bytesOf(32)),
    baseModel: bytes,
    window: uint.min(1),
    nonce: uint,
  }),
  reaggregate: z.strictObject({ chain: id, round: id, dimension: uint.min(1), sealed: bytes, without: z.array(id).max(MAX_LIST_LENGTH), baseModel: bytes, nonce: uint }),
  closeRound: z.strictObject({ chain: id, round: id }),
  checkpointAnchored: z.strictObject({ chain: id, seq: uint }),
} as const

const Aggregated = z.strictObject({
  kind: z.literal('aggregated'),
  model: bytes,
  modelCid: cid,
  update: bytes,
  tx: bytes,
  included: z.array(id),
  excluded: z.array(Exclusion),
  transcriptHash: bytesOf(32),
  sealed: bytes,
})
const Insufficient = z.strictObject({ kind: z.literal('insufficient'), valid: uint, needed: uint, excluded: z.array(Exclusion) })

export const ResultSchemas = {
  identity: z.strictObject({ enclaveId: id, platform: id, measurement: bytes, publicKey: bytesOf(32) }),
  roundKey: z.strictObject({ roundPublicKey: bytesOf(32), tx: bytes }),
  aggregate: z.discriminatedUnion('kind', [Aggregated, Insufficient]),
  reaggregate: Aggregated,
  closeRound: z.strictObject({ destroyed: z.boolean() }),
  checkpointAnchored: z.strictObject({ erasedThrough: uint }),
} as const

export type Op = keyof typeof RequestSchemas

export function isOp(op: unknown): op is Op {
  return typeof op === 'string' && Object.hasOwn(RequestSchemas, op)
}

/** "path: message" of the first few issues. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ')
}
