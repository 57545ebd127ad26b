/**
 * node:http plumbing for the API: splitting the request target, reading a body
 * under a byte cap, and writing JSON, text, bytes and error responses. Nothing here
 * knows about the ledger.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ApiError, ApiErrorCode, badRequest, errorBody } from './errors.ts'

/** Splits an origin-form request target into its raw path segments and query. */
export function splitTarget(url: string | undefined): { path: string; segments: string[]; query: URLSearchParams } {
  const target = url ?? ''
  if (!target.startsWith('/')) throw badRequest('request target must be an absolute path')
  const q = target.indexOf('?')
  const path = q === -1 ? target : target.slice(0, q)
  const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1))
  const segments = path.split('/').slice(1)
  if (segments.length > 1 && segments.at(-1) === '') segments.pop() // tolerate one trailing slash
  return { path, segments, query }
}

/** Decodes one percent-encoded path segment; %2F stays inside the segment. */
export function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw badRequest('path segment is not valid percent-encoded UTF-8')
  }
}

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

function tooLarge(maxBytes: number): ApiError {
  // the rest of the body is not read: the connection is closed after the response
  return new ApiError(413, ApiErrorCode.PAYLOAD_TOO_LARGE, `request body is larger than ${maxBytes} bytes`, { headers: { connection: 'close' } })
}

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), headers)
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  send(res, status, contentType, text, {})
}

export function sendBytes(res: ServerResponse, status: number, contentType: string, bytes: Uint8Array): void {
  send(res, status, contentType, bytes, {})
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, errorBody(err), err.headers)
}

function send(res: ServerResponse, status: number, contentType: string, body: string | Uint8Array, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  res.writeHead(status, { ...COMMON_HEADERS, ...headers, 'content-type': contentType, 'content-length': String(payload.length) })
  res.end(payload)
}

/** The raw response a connection-level failure (bad request line, timeout) gets, written to the socket directly. */
export function rawErrorResponse(status: number, reason: string, code: string, message: string): string {
  const body = JSON.stringify({ error: { code, message } })
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}
