/**
 * The service side of the wire: request bytes in, response bytes out. It never
 * throws for bad input — an unreadable request, an unknown operation, a refused
 * argument or an enclave failure all become an error response
 * ({ code, message }), and the service keeps serving.
 */
import { DEFAULT_MAX_MESSAGE_BYTES, encodeResponse, parseRequest, type EnclaveRequest, type WireError } from './codec.ts'
import { isEnclaveServiceError } from './errors.ts'
import type { EnclaveService } from './service.ts'

export interface HandleOptions {
  maxRequestBytes?: number
  maxResponseBytes?: number
}

function wireError(e: unknown): WireError {
  if (isEnclaveServiceError(e)) return { code: e.code, message: e.message }
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) }
}

function errorResponse(id: number, e: unknown): Uint8Array {
  return encodeResponse({ id, ok: false, error: wireError(e) })
}

function dispatch(service: EnclaveService, req: EnclaveRequest): Promise<unknown> {
  switch (req.op) {
    case 'identity':
      return service.identity()
    case 'roundKey':
      return service.roundKey(req.body)
    case 'aggregate':
      return service.aggregate(req.body)
    case 'reaggregate':
      return service.reaggregate(req.body)
    case 'closeRound':
      return service.closeRound(req.body)
    case 'checkpointAnchored':
      return service.checkpointAnchored(req.body)
  }
}

/** Answers one request; see the file comment. */
export async function handleRequest(service: EnclaveService, bytes: Uint8Array, options: HandleOptions = {}): Promise<Uint8Array> {
  const maxResponse = options.maxResponseBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const parsed = parseRequest(bytes, options.maxRequestBytes ?? DEFAULT_MAX_MESSAGE_BYTES)
  if ('error' in parsed) return errorResponse(parsed.id, parsed.error)
  const { id } = parsed.request
  try {
    const result = await dispatch(service, parsed.request)
    const out = encodeResponse({ id, ok: true, result } as Parameters<typeof encodeResponse>[0])
    if (out.length > maxResponse) return encodeResponse({ id, ok: false, error: { code: 'TOO_LARGE', message: `the ${parsed.request.op} response is ${out.length} bytes, limit ${maxResponse}` } })
    return out
  } catch (e) {
    return errorResponse(id, e)
  }
}
