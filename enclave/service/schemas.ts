/**
 * zod schemas of the service's request bodies and results, over decoded
 * DAG-CBOR values. The wire codec checks every message with them, and the
 * service checks direct calls with the same request schemas, so both twins
 * refuse the same inputs. Ledger facts are not in these shapes: they arrive as
 * proofs (LedgerProofs) and certified.ts checks and parses them.
 */
import { z } from 'zod'
import { Identifier, MAX_LIST_LENGTH } from '../../ledger/index.ts'
import { CID } from '../../primitives/index.ts'

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array
export const bytes = z.custom<Uint8Array>(isBytes, 'expected bytes')
export const bytesOf = (n: number) => z.custom<Uint8Array>((v) => isBytes(v) && v.length === n, `expected ${n} bytes`)
export const cid = z.custom<CID>((v) => CID.asCID(v) !== null, 'expected a CID')
export const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const id = Identifier

const Exclusion = z.strictObject({ member: id, reason: z.string() })
const members = (value: z.ZodType<Uint8Array>) => z.array(z.tuple([id, value])).max(MAX_LIST_LENGTH)

/** Longest state key a request may prove (state keys are short paths). */
export const MAX_STATE_KEY_LENGTH = 512
/** Epoch changes a request may carry (the enclave skips those it knows). */
export const MAX_EPOCH_CHANGES = 4096

/** LedgerProofs (certified.ts): a certificate, trie proofs by key, epoch changes. */
const LedgerProofsSchema = z.strictObject({
  epochs: z.array(z.tuple([bytes, bytes])).max(MAX_EPOCH_CHANGES),
  certificate: bytes,
  proofs: z.array(z.tuple([z.string().min(1).max(MAX_STATE_KEY_LENGTH), bytes])).max(2 * MAX_LIST_LENGTH + 16),
})

export const RequestSchemas = {
  identity: z.strictObject({}),
  roundKey: z.strictObject({ chain: id, round: id, nonce: uint, time: uint }),
  aggregate: z.strictObject({ chain: id, round: id, envelopes: members(bytes), baseModel: bytes, ledger: LedgerProofsSchema, nonce: uint }),
  reaggregate: z.strictObject({ chain: id, round: id, sealed: bytes, baseModel: bytes, ledger: LedgerProofsSchema, nonce: uint }),
  closeRound: z.strictObject({ chain: id, round: id }),
  checkpointAnchored: z.strictObject({ chain: id, ledger: LedgerProofsSchema }),
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
  identity: z.strictObject({ enclaveId: id, platform: id, measurement: bytes, publicKey: bytesOf(32), ledger: z.strictObject({ chain: id, genesisHash: bytesOf(32), epoch: uint }) }),
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
