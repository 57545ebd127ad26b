/**
 * The wire codec of the enclave boundary: one DAG-CBOR message per request and
 * per response, size-limited and checked with zod before anything is used.
 *
 *   request  = { v: 2, id, op, body }
 *   response = { v: 2, id, ok: true, result } | { v: 2, id, ok: false, error: { code, message } }
 *
 * `id` correlates a response with its request (a client drops answers to
 * requests it gave up on); an unreadable request is answered with id 0. Error
 * codes are EnclaveServiceErrorCode values; the client rebuilds the error.
 */
import { z } from 'zod'
import { decode, encode } from '../../primitives/index.ts'
import type { LedgerProofs } from './certified.ts'
import { EnclaveServiceError, isEnclaveServiceErrorCode, type EnclaveServiceErrorCode } from './errors.ts'
import { describeIssues, isOp, RequestSchemas, ResultSchemas, type Op } from './schemas.ts'
import type {
  AggregateRequest,
  AggregateResponse,
  AggregatedResponse,
  CheckpointAnchoredRequest,
  CheckpointAnchoredResponse,
  CloseRoundRequest,
  CloseRoundResponse,
  EnclaveIdentity,
  ReaggregateRequest,
  RoundKeyRequest,
  RoundKeyResponse,
} from './types.ts'

export const WIRE_VERSION = 2
/** Default limit of one message either way (a 4-byte frame length allows up to 4 GiB − 1). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 * 1024

export interface RequestBodies {
  identity: Record<string, never>
  roundKey: RoundKeyRequest
  aggregate: AggregateRequest
  reaggregate: ReaggregateRequest
  closeRound: CloseRoundRequest
  checkpointAnchored: CheckpointAnchoredRequest
}

export interface Results {
  identity: EnclaveIdentity
  roundKey: RoundKeyResponse
  aggregate: AggregateResponse
  reaggregate: AggregatedResponse
  closeRound: CloseRoundResponse
  checkpointAnchored: CheckpointAnchoredResponse
}

export type EnclaveRequest = { [K in Op]: { id: number; op: K; body: RequestBodies[K] } }[Op]
export interface WireError {
  code: EnclaveServiceErrorCode
  message: string
}
export type EnclaveResponse<K extends Op = Op> = { id: number; ok: true; result: Results[K] } | { id: number; ok: false; error: WireError }

const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const RequestEnvelope = z.strictObject({ v: z.literal(WIRE_VERSION), id: uint, op: z.string().max(64), body: z.unknown() })
const ResponseEnvelope = z.union([
  z.strictObject({ v: z.literal(WIRE_VERSION), id: uint, ok: z.literal(true), result: z.unknown() }),
  z.strictObject({ v: z.literal(WIRE_VERSION), id: uint, ok: z.literal(false), error: z.strictObject({ code: z.string().max(64), message: z.string().max(4096) }) }),
])

function proofsOf(p: LedgerProofs): LedgerProofs {
  return { epochs: p.epochs, certificate: p.certificate, proofs: p.proofs }
}

/** The body as it goes on the wire: only the schema's fields (a RoundRecord's others are left out), no undefined. */
function wireBody(req: EnclaveRequest): unknown {
  switch (req.op) {
    case 'identity':
      return {}
    case 'roundKey': {
      const { chain, round, nonce, time } = req.body
      return { chain, round, nonce, time }
    }
    case 'aggregate': {
      const { chain, round, envelopes, baseModel, ledger, nonce } = req.body
      return { chain, round, envelopes, baseModel, ledger: proofsOf(ledger), nonce }
    }
    case 'reaggregate': {
      const { chain, round, sealed, baseModel, ledger, nonce } = req.body
      return { chain, round, sealed, baseModel, ledger: proofsOf(ledger), nonce }
    }
    case 'closeRound':
      return { chain: req.body.chain, round: req.body.round }
    case 'checkpointAnchored':
      return { chain: req.body.chain, ledger: proofsOf(req.body.ledger) }
  }
}

function wireEncode(value: unknown, what: string): Uint8Array {
  try {
    return encode(value)
  } catch (e) {
    throw new EnclaveServiceError('BAD_REQUEST', `cannot encode the ${what}: ${(e as Error).message}`, { cause: e })
  }
}

export function encodeRequest(req: EnclaveRequest): Uint8Array {
  const op: unknown = (req as { op?: unknown } | undefined)?.op
  if (!isOp(op)) throw new EnclaveServiceError('UNKNOWN_OP', `unknown operation '${String(op)}'`)
  return wireEncode({ v: WIRE_VERSION, id: req.id, op: req.op, body: wireBody(req) }, `${req.op} request`)
}

/** Like decodeRequest, but never throws: the error comes back with whatever id could be read. */
export function parseRequest(bytes: Uint8Array, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): { id: number; request: EnclaveRequest } | { id: number; error: EnclaveServiceError } {
  if (!(bytes instanceof Uint8Array)) return { id: 0, error: new EnclaveServiceError('BAD_REQUEST', 'a request is bytes') }
  if (bytes.length > maxBytes) return { id: 0, error: new EnclaveServiceError('TOO_LARGE', `request of ${bytes.length} bytes, limit ${maxBytes}`) }
  let raw: unknown
  try {
    raw = decode(bytes, maxBytes)
  } catch (e) {
    return { id: 0, error: new EnclaveServiceError('BAD_REQUEST', `unreadable request: ${(e as Error).message}`) }
  }
  const env = RequestEnvelope.safeParse(raw)
  if (!env.success) {
    const id = typeof raw === 'object' && raw !== null && uint.safeParse((raw as { id?: unknown }).id).success ? (raw as { id: number }).id : 0
    return { id, error: new EnclaveServiceError('BAD_REQUEST', `malformed request: ${describeIssues(env.error)}`) }
  }
  const { id, op, body } = env.data
  if (!isOp(op)) return { id, error: new EnclaveServiceError('UNKNOWN_OP', `unknown operation '${op}'`) }
  const parsed = RequestSchemas[op].safeParse(body)
  if (!parsed.success) return { id, error: new EnclaveServiceError('BAD_REQUEST', `bad ${op} request: ${describeIssues(parsed.error)}`) }
  return { id, request: { id, op, body: parsed.data } as EnclaveRequest }
}

/** Decodes and checks request bytes. Throws EnclaveServiceError (BAD_REQUEST, UNKNOWN_OP, TOO_LARGE). */
export function decodeRequest(bytes: Uint8Array, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): EnclaveRequest {
  const r = parseRequest(bytes, maxBytes)
  if ('error' in r) throw r.error
  return r.request
}

export function encodeResponse(res: EnclaveResponse): Uint8Array {
  const body = res.ok ? { v: WIRE_VERSION, id: res.id, ok: true, result: res.result } : { v: WIRE_VERSION, id: res.id, ok: false, error: { code: res.error.code, message: res.error.message.slice(0, 4096) } }
  try {
    return encode(body)
  } catch (e) {
    throw new EnclaveServiceError('INTERNAL', `cannot encode the response: ${(e as Error).message}`, { cause: e })
  }
}

/**
 * Decodes response bytes to a request of `op`, checking the result's schema.
 * Throws EnclaveServiceError PROTOCOL (unreadable, wrong shape) or TOO_LARGE;
 * an error response is returned, not thrown.
 */
export function decodeResponse<K extends Op>(bytes: Uint8Array, op: K, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): EnclaveResponse<K> {
  if (bytes.length > maxBytes) throw new EnclaveServiceError('TOO_LARGE', `response of ${bytes.length} bytes, limit ${maxBytes}`)
  let raw: unknown
  try {
    raw = decode(bytes, maxBytes)
  } catch (e) {
    throw new EnclaveServiceError('PROTOCOL', `unreadable response: ${(e as Error).message}`, { cause: e })
  }
  const env = ResponseEnvelope.safeParse(raw)
  if (!env.success) throw new EnclaveServiceError('PROTOCOL', `malformed response: ${describeIssues(env.error)}`)
  const m = env.data
  if (!m.ok) {
    const code = isEnclaveServiceErrorCode(m.error.code) ? m.error.code : 'PROTOCOL'
    return { id: m.id, ok: false, error: { code, message: code === m.error.code ? m.error.message : `unknown error code '${m.error.code}': ${m.error.message}` } }
  }
  const result = ResultSchemas[op].safeParse(m.result)
  if (!result.success) throw new EnclaveServiceError('PROTOCOL', `malformed ${op} result: ${describeIssues(result.error)}`)
  return { id: m.id, ok: true, result: result.data as Results[K] }
}
