/**
 * Typed errors of the HTTP API. `ApiError` carries the HTTP status and a stable
 * code that goes out as `{ "error": { "code", "message" } }`. `SubmitError` is
 * what the node's `submit` throws to refuse a transaction; the server maps its
 * reason to a status (422, 429, 503). Anything else that escapes a handler is a
 * 500 whose message never reaches the client. `errorBody` is the one JSON shape
 * of an error, also used per item in a batch submission's results.
 */
import { CodedError } from '../../primitives/index.ts'
import { isLedgerError } from '../../ledger/index.ts'

export const ApiErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  NOT_FOUND: 'NOT_FOUND',
  /** no route serves this path (as opposed to NOT_FOUND: the route exists, the object does not) */
  NO_ROUTE: 'NO_ROUTE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  /** the transaction was refused; the error body carries the node's or the ledger's own code instead when it has one */
  TX_REJECTED: 'TX_REJECTED',
  RATE_LIMITED: 'RATE_LIMITED',
  NOT_READY: 'NOT_READY',
  /** an admin route on a node built without the admin component (production nodes; testnets enable it via config api.admin) */
  ADMIN_DISABLED: 'ADMIN_DISABLED',
  /** GET /v1/events/blocks on a server built without a block feed */
  EVENTS_DISABLED: 'EVENTS_DISABLED',
  /** the server already holds its maximum of open event streams */
  TOO_MANY_STREAMS: 'TOO_MANY_STREAMS',
  /** GET /v1/snapshots/{height} for a height whose state this node no longer (or does not yet) hold */
  SNAPSHOT_NOT_RETAINED: 'SNAPSHOT_NOT_RETAINED',
  INTERNAL: 'INTERNAL',
} as const
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode]

/** `code`: an ApiErrorCode, or a ledger / node code passed through (e.g. BAD_NONCE on a 422) */
export class ApiError extends CodedError<string> {
  readonly status: number
  /** extra response headers (Allow, Retry-After) */
  readonly headers: Record<string, string>
  /** a "not now" refusal: the client may offer the same request again after this many milliseconds (also in the body) */
  readonly retryAfterMs: number | undefined

  constructor(status: number, code: string, message: string, options: { headers?: Record<string, string>; cause?: unknown; retryAfterMs?: number } = {}) {
    super(code, message, options)
    this.status = status
    this.headers = options.headers ?? {}
    this.retryAfterMs = options.retryAfterMs
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, ApiErrorCode.BAD_REQUEST, message)
export const notFound = (message: string): ApiError => new ApiError(404, ApiErrorCode.NOT_FOUND, message)
export const notReady = (message: string): ApiError => new ApiError(503, ApiErrorCode.NOT_READY, message)

/** Why the node refused a submitted transaction. */
export type SubmitErrorReason = 'rejected' | 'rate-limited' | 'mempool-full' | 'not-ready'

const SUBMIT_STATUS: Record<SubmitErrorReason, number> = { rejected: 422, 'rate-limited': 429, 'mempool-full': 503, 'not-ready': 503 }

/**
 * Thrown by the node's `submit` to refuse a transaction. `code` is specific
 * (e.g. BAD_NONCE, DUPLICATE, MEMPOOL_FULL) and is sent to the client as is.
 */
export class SubmitError extends CodedError<string> {
  readonly reason: SubmitErrorReason
  readonly retryAfterSeconds: number | undefined

  constructor(reason: SubmitErrorReason, code: string, message: string, options: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(code, message, options)
    this.reason = reason
    this.retryAfterSeconds = options.retryAfterSeconds
  }
}

/** Maps what `submit` threw: a SubmitError by its reason, a LedgerError (the transaction failed the ledger's checks) to 422. */
export function submitFailure(e: unknown): ApiError {
  if (e instanceof ApiError) return e
  if (e instanceof SubmitError) {
    const headers: Record<string, string> = {}
    const retry = e.retryAfterSeconds !== undefined && Number.isFinite(e.retryAfterSeconds) ? Math.max(0, e.retryAfterSeconds) : undefined
    if (retry !== undefined) headers['retry-after'] = String(Math.ceil(retry))
    return new ApiError(SUBMIT_STATUS[e.reason] ?? 422, e.code, e.message, { headers, cause: e, retryAfterMs: retry === undefined ? undefined : Math.round(retry * 1000) })
  }
  if (isLedgerError(e)) return new ApiError(422, e.code, e.message, { cause: e })
  return internal(e)
}

/** The JSON body of an error: `{ "error": { "code", "message" } }`, plus `retryAfterMs` for a "not now" refusal. */
export function errorBody(err: ApiError): { error: { code: string; message: string; retryAfterMs?: number } } {
  const { code, message, retryAfterMs } = err
  return { error: retryAfterMs === undefined ? { code, message } : { code, message, retryAfterMs } }
}

/** Maps anything a query handler threw. Bad arguments the ledger caught become 400; the rest is internal. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e
  if (isLedgerError(e) && (e.code === 'BAD_ARGUMENT' || e.code === 'MALFORMED')) return new ApiError(400, ApiErrorCode.BAD_REQUEST, e.message, { cause: e })
  return internal(e)
}

function internal(e: unknown): ApiError {
  return new ApiError(500, ApiErrorCode.INTERNAL, 'internal error', { cause: e })
}
