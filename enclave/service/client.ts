/**
 * Clients of the enclave boundary. `WireEnclaveClient` implements every typed
 * operation of EnclaveClient over one primitive, `exchange(request bytes) →
 * response bytes`, through the wire codec; `InProcessEnclave` exchanges with an
 * EnclaveService in the same process (the in-process twin). The out-of-process
 * twin (node/enclave ProcessEnclave) exchanges frames with a child process. Both
 * go through the same codec, so they accept, refuse and fail alike.
 */
import { DEFAULT_MAX_MESSAGE_BYTES, decodeResponse, encodeRequest, type EnclaveRequest, type RequestBodies, type Results } from './codec.ts'
import { EnclaveServiceError } from './errors.ts'
import { handleRequest, type HandleOptions } from './handler.ts'
import type { Op } from './schemas.ts'
import type { EnclaveService } from './service.ts'
import type {
  AggregatedResponse,
  AggregateRequest,
  AggregateResponse,
  CallOptions,
  CheckpointAnchoredRequest,
  CheckpointAnchoredResponse,
  CloseRoundRequest,
  CloseRoundResponse,
  EnclaveClient,
  EnclaveIdentity,
  ReaggregateRequest,
  RoundKeyRequest,
  RoundKeyResponse,
} from './types.ts'

export interface WireClientOptions {
  /** responses larger than this are refused (TOO_LARGE); default 1 GiB */
  maxResponseBytes?: number
}

/** Throws EnclaveServiceError ABORTED if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EnclaveServiceError('ABORTED', `the request was aborted: ${String(signal.reason)}`)
}

export abstract class WireEnclaveClient implements EnclaveClient {
  protected readonly maxResponseBytes: number
  private nextId = 1

  constructor(options: WireClientOptions = {}) {
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  }

  abstract exchange(request: Uint8Array, options?: CallOptions): Promise<Uint8Array>

  identity(options?: CallOptions): Promise<EnclaveIdentity> {
    return this.call('identity', {}, options)
  }
  roundKey(request: RoundKeyRequest, options?: CallOptions): Promise<RoundKeyResponse> {
    return this.call('roundKey', request, options)
  }
  aggregate(request: AggregateRequest, options?: CallOptions): Promise<AggregateResponse> {
    return this.call('aggregate', request, options)
  }
  reaggregate(request: ReaggregateRequest, options?: CallOptions): Promise<AggregatedResponse> {
    return this.call('reaggregate', request, options)
  }
  closeRound(request: CloseRoundRequest, options?: CallOptions): Promise<CloseRoundResponse> {
    return this.call('closeRound', request, options)
  }
  checkpointAnchored(request: CheckpointAnchoredRequest, options?: CallOptions): Promise<CheckpointAnchoredResponse> {
    return this.call('checkpointAnchored', request, options)
  }

  private async call<K extends Op>(op: K, body: RequestBodies[K], options?: CallOptions): Promise<Results[K]> {
    throwIfAborted(options?.signal)
    const id = this.nextId++
    const request = encodeRequest({ id, op, body } as EnclaveRequest)
    const response = decodeResponse(await this.exchange(request, options), op, this.maxResponseBytes)
    // an unreadable request is answered with id 0
    if (response.id !== id && !(response.id === 0 && !response.ok)) throw new EnclaveServiceError('PROTOCOL', `response ${response.id} to request ${id}`)
    if (!response.ok) throw new EnclaveServiceError(response.error.code, response.error.message)
    return response.result
  }
}

export interface InProcessEnclaveComponents {
  service: EnclaveService
}

/** The in-process twin: the service in this process, every call through the wire codec. */
export class InProcessEnclave extends WireEnclaveClient {
  private readonly service: EnclaveService
  private readonly handleOptions: HandleOptions

  constructor(components: InProcessEnclaveComponents, options: WireClientOptions & HandleOptions = {}) {
    super(options)
    this.service = components.service
    this.handleOptions = { maxRequestBytes: options.maxRequestBytes, maxResponseBytes: options.maxResponseBytes }
  }

  async exchange(request: Uint8Array, options?: CallOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal)
    return handleRequest(this.service, request, this.handleOptions)
  }
}
