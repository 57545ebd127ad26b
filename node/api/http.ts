/**
 * node:http plumbing for the API's handlers: reading a body under a byte cap and
 * parsing it as JSON, the media type of a request, the headers every response
 * carries, and the raw error response of a connection-level failure. Nothing here
 * knows about the ledger.
 */
import type { IncomingMessage } from 'node:http'
import { ApiError, ApiErrorCode, badRequest } from './errors.ts'

/** The media type of a Content-Type header, lowercased, without parameters. */
export function mediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  return header.split(';')[0]!.trim().toLowerCase() || undefined
}

/**
 * Reads the whole body, refusing more than `maxBytes` (413) before reading it when
 * Content-Length says so, or as soon as a chunked body grows past it. Rejects if
 * the client goes away first.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(tooLarge(maxBytes))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (err: ApiError | undefined) => {
      if (done) return
      done = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('close', onClose)
      req.off('error', onClose)
      if (err !== undefined) reject(err)
      else resolve(new Uint8Array(Buffer.concat(chunks, size)))
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        chunks.length = 0
        req.pause()
        finish(tooLarge(maxBytes))
      } else chunks.push(chunk)
    }
    const onEnd = () => finish(undefined)
    const onClose = () => finish(new ApiError(400, ApiErrorCode.BAD_REQUEST, 'the client closed the request before its body ended'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('close', onClose)
    req.on('error', onClose)
  })
}

/** A body read by `readBody` as JSON (strict UTF-8); 400 when it is not. */
export function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch {
    throw badRequest('body is not valid JSON')
  }
}

function tooLarge(maxBytes: number): ApiError {
  // the rest of the body is not read: the connection is closed after the response
  return new ApiError(413, ApiErrorCode.PAYLOAD_TOO_LARGE, `request body is larger than ${maxBytes} bytes`, { headers: { connection: 'close' } })
}

/** Headers every API response carries. */
export const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }

/** The raw response a connection-level failure (bad request line, timeout) gets, written to the socket directly. */
export function rawErrorResponse(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } })
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
