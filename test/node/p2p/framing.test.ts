/**
 * Frame reading against a fake libp2p 3 message stream: chunking, limits checked
 * from the header alone, malformed prefixes, early end, aborts; and the penalty
 * policy in isolation.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { MessageStream } from '@libp2p/interface'
import { encodeFrame, encodeVarint, readFrame } from '../../../node/p2p/framing.ts'
import { PenaltyBook } from '../../../node/p2p/penalties.ts'
import { isP2PError } from '../../../node/p2p/index.ts'

/** Just enough of a MessageStream for readFrame: events plus the two read-state fields. */
class FakeStream extends EventTarget {
  readableEnded = false
  readBufferLength = 0
  received = 0
  push(chunk: Uint8Array): void {
    this.received += chunk.length
    const evt = new Event('message') as Event & { data: Uint8Array }
    evt.data = chunk
    this.dispatchEvent(evt)
  }
  end(): void {
    this.readableEnded = true
    this.dispatchEvent(new Event('end'))
  }
  asStream(): MessageStream {
    return this as unknown as MessageStream
  }
}

const never = new AbortController().signal

describe('framing', () => {
  it('reads a frame split across chunks, including a multi-byte length', async () => {
    const body = new Uint8Array(300).map((_, i) => i & 0xff)
    const frame = encodeFrame(body)
    expect(Array.from(frame.subarray(0, 2))).toEqual([0xac, 0x02]) // 300 as uvarint
    const s = new FakeStream()
    const read = readFrame(s.asStream(), 1000, never)
    s.push(frame.subarray(0, 1))
    s.push(frame.subarray(1, 50))
    s.push(frame.subarray(50))
    await expect(read).resolves.toEqual(body)
  })

  it('reads an empty frame and encodes varints canonically', async () => {
    const s = new FakeStream()
    const read = readFrame(s.asStream(), 10, never)
    s.push(encodeFrame(new Uint8Array(0)))
    await expect(read).resolves.toEqual(new Uint8Array(0))
    expect(Array.from(encodeVarint(127))).toEqual([0x7f])
    expect(Array.from(encodeVarint(128))).toEqual([0x80, 0x01])
    expect(() => encodeVarint(-1)).toThrow()
  })

  it('refuses an oversized frame from its header, before its body arrives', async () => {
    const s = new FakeStream()
    const read = readFrame(s.asStream(), 1024, never)
    // declares 1 GiB; only the 5-byte prefix is ever sent
    s.push(encodeVarint(1024 ** 3))
    const err = await read.catch((e: unknown) => e)
    expect(isP2PError(err, 'OVERSIZED')).toBe(true)
    expect(s.received).toBe(5)
    // a partial prefix that already exceeds the limit is refused too
    const s2 = new FakeStream()
    const read2 = readFrame(s2.asStream(), 100, never)
    s2.push(Uint8Array.of(0xff, 0xff))
    await expect(read2).rejects.toMatchObject({ code: 'OVERSIZED' })
  })

  it('rejects malformed prefixes and trailing bytes as MALFORMED, early end as PROTOCOL', async () => {
    const s = new FakeStream()
    const read = readFrame(s.asStream(), 2 ** 40, never)
    s.push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01))
    await expect(read).rejects.toMatchObject({ code: 'MALFORMED' })

    const s2 = new FakeStream()
    const read2 = readFrame(s2.asStream(), 100, never)
    s2.push(Uint8Array.of(2, 1, 2, 3))
    await expect(read2).rejects.toMatchObject({ code: 'MALFORMED' })

    const s3 = new FakeStream()
    const read3 = readFrame(s3.asStream(), 100, never)
    s3.push(Uint8Array.of(5, 1, 2))
    s3.end()
    await expect(read3).rejects.toMatchObject({ code: 'PROTOCOL' })

    const s4 = new FakeStream()
    s4.readableEnded = true
    await expect(readFrame(s4.asStream(), 100, never)).rejects.toMatchObject({ code: 'PROTOCOL' })
  })

  it('stops waiting when the signal aborts, with the signal reason', async () => {
    const s = new FakeStream()
    const controller = new AbortController()
    const read = readFrame(s.asStream(), 100, controller.signal)
    s.push(Uint8Array.of(10, 1))
    controller.abort(new Error('deadline'))
    await expect(read).rejects.toThrow('deadline')
  })
})

describe('PenaltyBook', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('bans at once for severe offences, after the threshold for minor ones, and lifts bans after the cool-down', () => {
    vi.useFakeTimers()
    const bans: string[] = []
    const expired: string[] = []
    const book = new PenaltyBook(
      { onBan: (peer, reason) => bans.push(`${peer}:${reason}`), onBanExpired: (peer) => expired.push(peer) },
      { coolDownMs: 1000, severeThreshold: 1, minorThreshold: 3 },
    )
    expect(book.record('p1', 'slow', 'minor')).toBe(false)
    expect(book.record('p1', 'slow', 'minor')).toBe(false)
    expect(book.isBanned('p1')).toBe(false)
    expect(book.record('p1', 'late', 'minor')).toBe(true)
    expect(book.isBanned('p1')).toBe(true)
    expect(book.record('p2', 'gossip-reject', 'severe')).toBe(true)
    expect(bans).toEqual(['p1:late', 'p2:gossip-reject'])
    expect(book.snapshot().get('p1')).toMatchObject({ count: 3, minorSinceBan: 0, lastReason: 'late', bans: 1 })
    // an offence while banned is counted but does not ban again
    expect(book.record('p2', 'again', 'severe')).toBe(false)
    vi.advanceTimersByTime(1001)
    expect(expired.sort()).toEqual(['p1', 'p2'])
    expect(book.isBanned('p1')).toBe(false)
    expect(book.snapshot().get('p2')).toMatchObject({ count: 2, bans: 1 })
    expect(book.snapshot().get('p2')?.bannedUntil).toBeUndefined()
  })

  it('severeThreshold > 1 tolerates that many severe offences minus one', () => {
    vi.useFakeTimers()
    const bans: string[] = []
    const book = new PenaltyBook({ onBan: (peer) => bans.push(peer), onBanExpired: () => {} }, { severeThreshold: 2 })
    expect(book.record('p', 'gossip-reject', 'severe')).toBe(false)
    expect(book.record('p', 'gossip-reject', 'severe')).toBe(true)
    expect(bans).toEqual(['p'])
    expect(() => new PenaltyBook({ onBan: () => {}, onBanExpired: () => {} }, { severeThreshold: 0 })).toThrow(RangeError)
  })
})
