/**
 * Length-prefixed frames on a libp2p 3 stream: `uvarint(length) || body`.
 *
 * `readFrame` reads exactly one frame with event listeners (libp2p 3 streams are
 * event targets, not duplex iterables) and checks the declared length against the
 * limit as soon as the varint is complete, so an oversized frame is refused after a
 * few bytes instead of being buffered whole. It never waits for end-of-stream once
 * the frame is complete, so a peer that keeps its side open cannot stall us.
 */
import type { MessageStream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { P2PError } from './errors.ts'

/** Lengths above 2^31 are never legitimate here, so at most 5 varint bytes. */
const MAX_VARINT_BYTES = 5

export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new P2PError('INVALID_ARGUMENT', `frame length out of range: ${value}`)
  }
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v >>>= 7
  }
  out.push(v)
  return Uint8Array.from(out)
}

/** `uvarint(body.length) || body` as one buffer (one write, one yamux frame train). */
export function encodeFrame(body: Uint8Array): Uint8Array {
  const prefix = encodeVarint(body.length)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}

/** Write bytes, waiting for the muxer to drain when its buffer is full. */
export async function writeAll(stream: MessageStream, bytes: Uint8Array, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  if (!stream.send(bytes)) await stream.onDrain({ signal })
}

/**
 * Read one frame whose body is at most `maxBody` bytes.
 * Throws P2PError: OVERSIZED / MALFORMED (the remote's fault), PROTOCOL (stream
 * ended or was reset before the frame was complete), or the signal's reason.
 */
export function readFrame(stream: MessageStream, maxBody: number, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    let length = -1
    let varint = 0
    let varintBytes = 0
    let body: Uint8Array | undefined
    let filled = 0
    let settled = false

    const cleanup = (): void => {
      settled = true
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
    }
    const fail = (err: unknown): void => {
      if (settled) return
      cleanup()
      reject(err)
    }
    const done = (frame: Uint8Array): void => {
      if (settled) return
      cleanup()
      resolve(frame)
    }
    const onMessage = (evt: StreamMessageEvent): void => {
      if (settled) return
      const chunk = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()
      let offset = 0
      while (length < 0 && offset < chunk.length) {
        const byte = chunk[offset++] as number
        varint += (byte & 0x7f) * 2 ** (7 * varintBytes)
        varintBytes++
        if ((byte & 0x80) === 0) {
          length = varint
        } else if (varintBytes >= MAX_VARINT_BYTES) {
          fail(new P2PError('MALFORMED', 'frame length prefix is not a valid varint'))
          return
        }
        if (length > maxBody || (length < 0 && varint > maxBody)) {
          fail(new P2PError('OVERSIZED', `frame of ${length < 0 ? `more than ${varint}` : length} bytes exceeds the limit of ${maxBody}`))
          return
        }
      }
      if (length < 0) return
      body ??= new Uint8Array(length)
      const take = Math.min(length - filled, chunk.length - offset)
      body.set(chunk.subarray(offset, offset + take), filled)
      filled += take
      if (offset + take < chunk.length) {
        fail(new P2PError('MALFORMED', 'unexpected bytes after the frame'))
        return
      }
      if (filled === length) done(body)
    }
    const onEnd = (): void => {
      fail(new P2PError('PROTOCOL', 'stream ended before a complete frame'))
    }
    const onClose = (evt: StreamCloseEvent): void => {
      const why = evt.error === undefined ? 'closed' : `reset (${evt.error.message})`
      fail(new P2PError('PROTOCOL', `stream ${why} before a complete frame`, { cause: evt.error }))
    }
    const onAbort = (): void => {
      fail(signal.reason)
    }

    if (signal.aborted) {
      fail(signal.reason)
      return
    }
    signal.addEventListener('abort', onAbort, { once: true })
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
    // the remote may already have finished (and its data been buffered) before we
    // attached: buffered data is dispatched in a microtask after addEventListener,
    // and 'end' only fires once the buffer is empty, so only an empty ended stream
    // needs handling here
    if (stream.readableEnded && stream.readBufferLength === 0) onEnd()
  })
}
