/**
 * Length-prefixed frames on a byte stream (the enclave process's stdin and
 * stdout): a 4-byte big-endian length, then that many bytes. The decoder takes
 * chunks as they arrive and gives back whole frames; a frame longer than its
 * limit is skipped as it streams past (never buffered) and reported as
 * 'oversized', so one huge message cannot exhaust memory or desynchronize the stream.
 */
export const FRAME_HEADER_BYTES = 4
/** The largest length a 4-byte header can state. */
export const MAX_FRAME_BYTES = 0xffff_ffff

export type FrameEvent = { kind: 'frame'; bytes: Uint8Array } | { kind: 'oversized'; length: number }

/** The 4-byte header of a frame of `length` bytes. */
export function frameHeader(length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_FRAME_BYTES) throw new RangeError(`a frame holds 0..${MAX_FRAME_BYTES} bytes, not ${length}`)
  const h = new Uint8Array(FRAME_HEADER_BYTES)
  new DataView(h.buffer).setUint32(0, length, false)
  return h
}

/** Header and payload in one buffer (for small frames and tests; writers may send the two parts separately). */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length)
  out.set(frameHeader(payload.length), 0)
  out.set(payload, FRAME_HEADER_BYTES)
  return out
}

export class FrameDecoder {
  private readonly maxFrameBytes: number
  private chunks: Uint8Array[] = []
  private buffered = 0
  /** the length of the frame being read, once its header is in */
  private expected: number | null = null
  /** bytes of an oversized frame still to skip */
  private skipping = 0

  constructor(options: { maxFrameBytes: number }) {
    this.maxFrameBytes = options.maxFrameBytes
  }

  /** Bytes held for an incomplete frame (header included). */
  get pending(): number {
    return this.buffered
  }

  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = []
    let rest = chunk
    while (rest.length > 0) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, rest.length)
        this.skipping -= n
        rest = rest.subarray(n)
        continue
      }
      this.chunks.push(rest)
      this.buffered += rest.length
      rest = new Uint8Array(0)
      if (this.expected === null) {
        if (this.buffered < FRAME_HEADER_BYTES) break
        const all = this.take(this.buffered)
        this.expected = new DataView(all.buffer, all.byteOffset, FRAME_HEADER_BYTES).getUint32(0, false)
        rest = all.subarray(FRAME_HEADER_BYTES)
        if (this.expected > this.maxFrameBytes) {
          events.push({ kind: 'oversized', length: this.expected })
          this.skipping = this.expected
          this.expected = null
        }
        continue
      }
      if (this.buffered < this.expected) break
      const all = this.take(this.buffered)
      events.push({ kind: 'frame', bytes: new Uint8Array(all.buffer, all.byteOffset, this.expected) })
      rest = all.subarray(this.expected)
      this.expected = null
    }
    // a zero-length frame completes as soon as its header is in
    if (this.expected === 0) {
      events.push({ kind: 'frame', bytes: new Uint8Array(0) })
      this.expected = null
    }
    return events
  }

  /** Concatenates and clears the buffered chunks (which hold exactly `n` bytes). */
  private take(n: number): Uint8Array {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, n)
    this.chunks = []
    this.buffered = 0
    return all
  }
}
