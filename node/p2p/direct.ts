/**
 * Direct (point-to-point) protocols: one-way `send` and `request`/response, one
 * libp2p stream per message.
 *
 * Wire format, one frame each way (see framing.ts for the frame itself):
 *   request stream body  = mode (0x00 one-way send | 0x01 request) || payload
 *   response frame body  = status (0x00 ok | 0x01 handler error) || payload
 *                          (for 0x01 the payload is the UTF-8 error message)
 * The responder writes a response only for mode 0x01. Payloads are limited to
 * `maxMessageBytes` both ways; an oversized or malformed frame is refused as soon
 * as its header is read and its sender is penalised (a severe offence).
 */
import type { Libp2p, Stream, Connection } from '@libp2p/interface'
import { P2PError, toP2PError } from './errors.ts'
import { encodeFrame, readFrame, writeAll } from './framing.ts'
import { parsePeerId } from './keys.ts'
import type { Logger } from '../logger.ts'

export type DirectHandler = (
  from: string,
  data: Uint8Array,
  signal: AbortSignal,
) => Promise<Uint8Array | undefined> | Uint8Array | undefined

export interface SendOptions {
  signal?: AbortSignal
  /** deadline for opening the stream and writing (default: the host's requestTimeoutMs) */
  timeoutMs?: number
}

export interface RequestOptions {
  signal?: AbortSignal
  /** deadline for the whole exchange (default: the host's requestTimeoutMs) */
  timeoutMs?: number
}

/** `send` never rejects: it resolves with the outcome. */
export type SendResult = { ok: true } | { ok: false; error: P2PError }

export interface DirectProtocolsComponents {
  isDenied(peer: string): boolean
  penalise(peer: string, reason: string): void
  log: Logger
}

export interface DirectProtocolsOptions {
  maxMessageBytes: number
  requestTimeoutMs: number
  maxStreamsPerProtocol: number
}

const MODE_SEND = 0x00
const MODE_REQUEST = 0x01
const STATUS_OK = 0x00
const STATUS_ERROR = 0x01
const MAX_ERROR_MESSAGE = 1024

interface Attached {
  node: Libp2p
  stopped: AbortSignal
}

export class DirectProtocols {
  readonly #components: DirectProtocolsComponents
  readonly #opts: DirectProtocolsOptions
  readonly #handlers = new Map<string, DirectHandler>()
  #attached: Attached | undefined

  constructor(components: DirectProtocolsComponents, options: DirectProtocolsOptions) {
    this.#components = components
    this.#opts = options
  }

  handle(protocol: string, handler: DirectHandler): () => void {
    if (typeof protocol !== 'string' || !protocol.startsWith('/')) {
      throw new P2PError('INVALID_ARGUMENT', `protocol id must start with "/": ${JSON.stringify(protocol)}`)
    }
    if (this.#handlers.has(protocol)) throw new P2PError('INVALID_ARGUMENT', `a handler for ${protocol} is already registered`)
    this.#handlers.set(protocol, handler)
    if (this.#attached !== undefined) {
      this.#register(this.#attached, protocol).catch((err: unknown) => {
        this.#components.log.error({ protocol, err: (err as Error).message }, 'registering a protocol handler failed')
      })
    }
    return () => {
      if (this.#handlers.get(protocol) !== handler) return
      this.#handlers.delete(protocol)
      void this.#attached?.node.unhandle(protocol).catch(() => {})
    }
  }

  /** Register every handler on a started node (host start). */
  async attach(node: Libp2p, stopped: AbortSignal): Promise<void> {
    const attached = { node, stopped }
    this.#attached = attached
    await Promise.all([...this.#handlers.keys()].map((p) => this.#register(attached, p)))
  }

  detach(): void {
    this.#attached = undefined
  }

  async send(peer: string, protocol: string, data: Uint8Array, options: SendOptions = {}): Promise<SendResult> {
    try {
      await this.#exchange(peer, protocol, data, MODE_SEND, options)
      return { ok: true }
    } catch (err) {
      const error = err instanceof P2PError ? err : new P2PError('PROTOCOL', String(err), { cause: err })
      this.#components.log.debug({ peer, protocol, code: error.code, err: error.message }, 'send failed')
      return { ok: false, error }
    }
  }

  async request(peer: string, protocol: string, data: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    const response = await this.#exchange(peer, protocol, data, MODE_REQUEST, options)
    if (response === undefined) throw new P2PError('PROTOCOL', `request ${protocol} to ${peer}: no response`)
    return response
  }

  async #exchange(
    peer: string,
    protocol: string,
    data: Uint8Array,
    mode: number,
    options: RequestOptions,
  ): Promise<Uint8Array | undefined> {
    const what = `${mode === MODE_SEND ? 'send' : 'request'} ${protocol} to ${peer}`
    const attached = this.#attached
    if (attached === undefined) throw new P2PError('NOT_STARTED', `${what}: host not started`)
    const peerId = parsePeerId(peer)
    if (!(data instanceof Uint8Array)) throw new P2PError('INVALID_ARGUMENT', `${what}: data must be a Uint8Array`)
    if (data.length > this.#opts.maxMessageBytes) {
      throw new P2PError('OVERSIZED', `${what}: ${data.length} bytes exceeds maxMessageBytes ${this.#opts.maxMessageBytes}`)
    }
    if (this.#components.isDenied(peer)) throw new P2PError('DENIED', `${what}: peer is blocked, banned or not allowed`)
    const timeoutMs = options.timeoutMs ?? this.#opts.requestTimeoutMs
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new P2PError('INVALID_ARGUMENT', `${what}: timeoutMs must be a positive number, got ${timeoutMs}`)
    }
    if (options.signal?.aborted === true) throw new P2PError('ABORTED', `${what} was aborted`)
    const timeout = AbortSignal.timeout(timeoutMs)
    const signals = [timeout, attached.stopped, ...(options.signal === undefined ? [] : [options.signal])]
    const signal = AbortSignal.any(signals)
    const ctx = { what, timeout, caller: options.signal, stopped: attached.stopped }

    let stream: Stream
    try {
      stream = await attached.node.dialProtocol(peerId, protocol, {
        signal,
        maxOutboundStreams: this.#opts.maxStreamsPerProtocol,
      })
    } catch (err) {
      throw toP2PError(err, { ...ctx, fallback: 'NO_CONNECTION' })
    }
    try {
      const body = new Uint8Array(data.length + 1)
      body[0] = mode
      body.set(data, 1)
      await writeAll(stream, encodeFrame(body), signal)
      await stream.close({ signal })
      if (mode === MODE_SEND) return undefined
      const frame = await readFrame(stream, this.#opts.maxMessageBytes + 1, signal)
      return this.#decodeResponse(peer, what, frame)
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      const error = toP2PError(err, ctx)
      if (error.code === 'OVERSIZED' || error.code === 'MALFORMED') {
        this.#components.penalise(peer, error.code === 'OVERSIZED' ? 'oversized-frame' : 'malformed-frame')
        throw new P2PError(error.code, `${what}: response refused: ${error.message}`, { cause: error })
      }
      throw error
    }
  }

  #decodeResponse(peer: string, what: string, frame: Uint8Array): Uint8Array {
    const status = frame[0]
    const payload = frame.subarray(1)
    if (status === STATUS_OK) return payload
    if (status === STATUS_ERROR) {
      const message = new TextDecoder().decode(payload)
      throw new P2PError('REMOTE_ERROR', `${what}: remote handler failed: ${message}`)
    }
    throw new P2PError('MALFORMED', `response status byte ${String(status)} from ${peer} is not 0 or 1`)
  }

  async #register(attached: Attached, protocol: string): Promise<void> {
    await attached.node.handle(protocol, (stream, connection) => this.#serve(attached, protocol, stream, connection), {
      maxInboundStreams: this.#opts.maxStreamsPerProtocol,
      maxOutboundStreams: this.#opts.maxStreamsPerProtocol,
      force: true,
    })
  }

  async #serve(attached: Attached, protocol: string, stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString()
    const handler = this.#handlers.get(protocol)
    // the handler's signal: host stop, deadline, or the requester resetting the stream
    const reset = new AbortController()
    const onClose = (): void => reset.abort(new P2PError('ABORTED', `stream from ${from} closed`))
    stream.addEventListener('close', onClose, { once: true })
    const signal = AbortSignal.any([attached.stopped, AbortSignal.timeout(this.#opts.requestTimeoutMs), reset.signal])
    try {
      if (handler === undefined) throw new P2PError('PROTOCOL', `no handler for ${protocol}`)
      const body = await readFrame(stream, this.#opts.maxMessageBytes + 1, signal)
      const mode = body[0]
      if (mode !== MODE_SEND && mode !== MODE_REQUEST) {
        throw new P2PError('MALFORMED', `request mode byte ${String(mode)} is not 0 or 1`)
      }
      let response: Uint8Array
      try {
        const result = (await handler(from, body.subarray(1), signal)) ?? new Uint8Array(0)
        if (!(result instanceof Uint8Array)) throw new Error('handler returned something other than a Uint8Array')
        if (result.length > this.#opts.maxMessageBytes) {
          throw new Error(`response of ${result.length} bytes exceeds maxMessageBytes ${this.#opts.maxMessageBytes}`)
        }
        response = withStatus(STATUS_OK, result)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        this.#components.log.debug({ peer: from, protocol, err: message }, 'direct handler failed')
        response = withStatus(STATUS_ERROR, new TextEncoder().encode(message.slice(0, MAX_ERROR_MESSAGE)))
      }
      if (mode === MODE_REQUEST) await writeAll(stream, encodeFrame(response), signal)
      await stream.close({ signal })
    } catch (err) {
      const error = toP2PError(err, { what: `serving ${protocol} for ${from}` })
      stream.abort(error)
      if (error.code === 'OVERSIZED' || error.code === 'MALFORMED') {
        this.#components.log.warn({ peer: from, protocol, err: error.message }, 'refused a bad frame')
        this.#components.penalise(from, error.code === 'OVERSIZED' ? 'oversized-frame' : 'malformed-frame')
      } else {
        this.#components.log.debug({ peer: from, protocol, err: error.message }, 'inbound stream failed')
      }
    } finally {
      stream.removeEventListener('close', onClose)
    }
  }
}

function withStatus(status: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1)
  out[0] = status
  out.set(payload, 1)
  return out
}
