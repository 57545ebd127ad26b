/**
 * Typed, coded errors for the p2p layer. Everything the host throws (or resolves
 * as a failed send) is a `P2PError` with a stable `code`; libp2p's own errors are
 * mapped onto these codes by `toP2PError` so callers never match on libp2p names.
 */
import { CodedError } from '../../primitives/index.ts'

export const P2PErrorCode = {
  /** the host is not started (or was stopped while the call was in flight) */
  NOT_STARTED: 'NOT_STARTED',
  /** libp2p could not be created or could not listen (e.g. address in use) */
  START_FAILED: 'START_FAILED',
  /** a bad argument from the caller: malformed multiaddr, peer id, seed, duplicate handler */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** a message or frame larger than `maxMessageBytes` (ours or the remote's) */
  OVERSIZED: 'OVERSIZED',
  /** a frame that does not follow the wire format (bad varint, unknown mode/status byte) */
  MALFORMED: 'MALFORMED',
  /** the call's deadline passed */
  TIMEOUT: 'TIMEOUT',
  /** the caller's AbortSignal fired */
  ABORTED: 'ABORTED',
  /** the peer could not be reached, or the connection dropped mid-call */
  NO_CONNECTION: 'NO_CONNECTION',
  /** the peer is blocked, banned after offences, or not in `allowedPeers` */
  DENIED: 'DENIED',
  /** protocol-level failure: unsupported protocol, stream reset, early end of stream */
  PROTOCOL: 'PROTOCOL',
  /** the remote handler threw; the message is the remote's error message */
  REMOTE_ERROR: 'REMOTE_ERROR',
} as const

export type P2PErrorCode = (typeof P2PErrorCode)[keyof typeof P2PErrorCode]

export class P2PError extends CodedError<P2PErrorCode> {}

export function isP2PError(e: unknown, code?: P2PErrorCode): e is P2PError {
  return e instanceof P2PError && (code === undefined || e.code === code)
}

/** The signals whose firing explains an abort, checked in this order. */
export interface AbortContext {
  timeout?: AbortSignal
  caller?: AbortSignal
  stopped?: AbortSignal
  /** words for messages, e.g. "request /fl/sync/1 to 12D3…" */
  what: string
  /** code for errors not recognised otherwise (NO_CONNECTION while dialling, PROTOCOL on a stream) */
  fallback?: P2PErrorCode
}

const NO_CONNECTION_NAMES = new Set([
  'DialError',
  'ConnectionClosedError',
  'ConnectionClosingError',
  'ConnectionFailedError',
  'MuxerClosedError',
  'NoValidAddressesError',
  'NotFoundError',
  'UnexpectedPeerError',
  'TooManyOutboundProtocolStreamsError',
  'DialDeniedError',
  'ConnectionDeniedError',
  'ConnectionInterceptedError',
  'EncryptionFailedError',
  'MuxerUnavailableError',
  'TransportUnavailableError',
])

/** Map anything thrown while talking to a peer onto a `P2PError`. */
export function toP2PError(err: unknown, ctx: AbortContext): P2PError {
  if (ctx.timeout?.aborted === true) return new P2PError('TIMEOUT', `${ctx.what} timed out`, { cause: err })
  if (ctx.caller?.aborted === true) return new P2PError('ABORTED', `${ctx.what} was aborted`, { cause: err })
  if (ctx.stopped?.aborted === true) return new P2PError('NOT_STARTED', `${ctx.what} failed: host stopped`, { cause: err })
  if (err instanceof P2PError) {
    return err.message.startsWith(ctx.what) ? err : new P2PError(err.code, `${ctx.what}: ${err.message}`, { cause: err })
  }
  const name = err instanceof Error ? err.name : ''
  const detail = err instanceof Error ? err.message : String(err)
  if (name === 'UnsupportedProtocolError') {
    return new P2PError('PROTOCOL', `${ctx.what} failed: the peer does not support the protocol`, { cause: err })
  }
  if (name === 'StreamResetError' || name === 'StreamAbortedError' || name === 'StreamStateError') {
    return new P2PError('PROTOCOL', `${ctx.what} failed: stream reset (${detail})`, { cause: err })
  }
  if (name === 'TimeoutError') return new P2PError('TIMEOUT', `${ctx.what} timed out`, { cause: err })
  if (name === 'AbortError') return new P2PError('ABORTED', `${ctx.what} was aborted`, { cause: err })
  if (NO_CONNECTION_NAMES.has(name)) {
    return new P2PError('NO_CONNECTION', `${ctx.what} failed: ${detail}`, { cause: err })
  }
  return new P2PError(ctx.fallback ?? 'PROTOCOL', `${ctx.what} failed: ${detail}`, { cause: err })
}
