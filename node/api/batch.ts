/**
 * POST /v1/txs/batch: many signed transactions in one request, for clients that
 * submit at a high rate. The body is DAG-CBOR of an array of byte strings, each
 * one an encoded transaction exactly as POST /v1/txs takes it. The whole body is
 * checked before anything is submitted (a malformed batch submits nothing); then
 * each transaction goes through the same SubmitFn, in order, and gets its own
 * result: `{ id }` or the error the single route would have answered with.
 *
 * Under load:
 * - while the node takes no client transaction at all (its mempool holds as many
 *   as it takes from clients), the whole batch is refused at once with the single
 *   route's 503 and Retry-After, before its body is read or decoded; once the node
 *   fills up during a batch, the rest of the batch gets that same answer, so nothing
 *   after a deferred transaction is admitted even if the pool drains meanwhile;
 * - the transactions are admitted in chunks of ADMIT_CHUNK, and the event loop is
 *   given back between chunks, so that consensus messages and timers that arrived
 *   meanwhile are handled within about a chunk's admission time, not a batch's.
 */
import { decode } from '../../primitives/index.ts'
import { ADMIT_CHUNK, nextTurn } from '../mempool/index.ts'
import { ApiError, ApiErrorCode, badRequest, errorBody, submitFailure } from './errors.ts'
import { mediaType, readBody } from './http.ts'
import type { RouteContext, RouteDeps, RouteResult } from './routes.ts'

/** At most this many transactions per batch. */
export const MAX_BATCH_TXS = 1000
/** The default body cap of a batch (a single submission's cap is DEFAULT_MAX_BODY_BYTES). */
export const DEFAULT_MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024

export type BatchItemResult = { id: string } | { error: { code: string; message: string; retryAfterMs?: number } }

export async function submitBatch(d: RouteDeps, c: RouteContext): Promise<RouteResult> {
  if (mediaType(c.req.headers['content-type']) !== 'application/cbor') {
    throw new ApiError(415, ApiErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send the batch as application/cbor: DAG-CBOR of an array of byte strings, each an encoded signed transaction')
  }
  const closed = d.submitRefusal()
  if (closed !== undefined) {
    // answered before the body is read: close the connection rather than read and discard an unchecked body
    const err = submitFailure(closed)
    err.headers['connection'] = 'close'
    throw err
  }
  const txs = parseBatch(await readBody(c.req, d.maxBatchBodyBytes))
  const results: BatchItemResult[] = []
  /** once the node is full, the rest of the batch gets the same answer: none of it is admitted after something before it was deferred */
  let full: ApiError | undefined
  for (const tx of txs) {
    if (full !== undefined) {
      results.push(errorBody(full))
      continue
    }
    if (results.length > 0 && results.length % ADMIT_CHUNK === 0) await nextTurn()
    if (c.signal.aborted) throw new ApiError(400, ApiErrorCode.BAD_REQUEST, `the client went away after ${results.length} of ${txs.length} transactions were submitted`)
    try {
      const { id } = await d.submit(tx, c.signal)
      results.push({ id: String(id) })
    } catch (e) {
      const err = submitFailure(e)
      if (err.code === ApiErrorCode.INTERNAL) d.logger?.error({ err: err.cause ?? e, route: '/v1/txs/batch', index: results.length }, 'batch item failed')
      if (err.status === 503 && err.retryAfterMs !== undefined) full = err
      results.push(errorBody(err))
    }
  }
  return { status: 200, json: { results } }
}

/**
 * The transactions of a batch body. The array header is read first, so a body
 * announcing more than MAX_BATCH_TXS items is refused before it is decoded.
 */
export function parseBatch(body: Uint8Array): Uint8Array[] {
  const shape = `body must be DAG-CBOR of an array of 1 to ${MAX_BATCH_TXS} non-empty byte strings`
  const count = arrayLength(body)
  if (count === undefined) throw badRequest(shape)
  if (count === 0) throw badRequest(`empty batch: ${shape}`)
  if (count > MAX_BATCH_TXS) throw badRequest(`batch of ${count} transactions: at most ${MAX_BATCH_TXS} per request`)
  let items: unknown
  try {
    items = decode(body, body.length)
  } catch (e) {
    throw new ApiError(400, ApiErrorCode.BAD_REQUEST, `body is not valid DAG-CBOR: ${shape}`, { cause: e })
  }
  if (!Array.isArray(items)) throw badRequest(shape)
  items.forEach((tx: unknown, i) => {
    if (!(tx instanceof Uint8Array)) throw badRequest(`item ${i} is not a byte string: ${shape}`)
    if (tx.length === 0) throw badRequest(`item ${i} is an empty transaction`)
  })
  return items as Uint8Array[]
}

/** The length a CBOR definite-length array header announces; undefined when the body does not start with one. */
function arrayLength(body: Uint8Array): number | undefined {
  const first = body[0]
  if (first === undefined || first >> 5 !== 4) return undefined
  const info = first & 0x1f
  if (info < 24) return info
  const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
  if (width === 0 || body.length < 1 + width) return undefined // 28-30 reserved, 31 indefinite (not DAG-CBOR)
  let n = 0
  for (let i = 1; i <= width; i++) n = n * 256 + body[i]!
  return n
}
