// Tests for the noise module's randomness port: rejection sampling without
// modulo bias (scripted bytes), the seeded test stream, and cryptoRandom.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { cryptoRandom, isNoiseError, randomFromBytes, seededRandom, type NoiseErrorCode } from '../../../enclave/noise/index.ts'

function expectCode(fn: () => unknown, code: NoiseErrorCode): void {
  try {
    fn()
  } catch (e) {
    expect(isNoiseError(e)).toBe(true)
    expect((e as { code: string }).code).toBe(code)
    return
  }
  throw new Error(`expected NoiseError ${code}`)
}

/** A byte source that returns the given bytes in order, `chunk` at a time. */
function scripted(bytes: number[], chunk = 1) {
  let pos = 0
  return randomFromBytes((len) => {
    if (pos + len > bytes.length) throw new Error('script exhausted')
    const out = Uint8Array.from(bytes.slice(pos, pos + len))
    pos += len
    return out
  }, chunk)
}

describe('randomFromBytes', () => {
  it('masks to the bit length of n − 1 and rejects candidates ≥ n instead of reducing them', () => {
    // n = 3: mask 0b11; 0xff → 3 (rejected), 0xfe → 2
    expect(scripted([0xff, 0xfe]).uniformBigInt(3n)).toBe(2n)
    // n = 256: one byte, no mask, no rejection
    expect(scripted([0xab]).uniformBigInt(256n)).toBe(0xabn)
    // n = 257: two bytes big-endian, top byte masked to 1 bit; 0x0101 = 257 is rejected
    expect(scripted([0xff, 0x01, 0x01, 0x00]).uniformBigInt(257n)).toBe(256n)
    // above 48 bits the BigInt path: n = 2^64 + 1 needs 9 bytes, top byte masked to 1 bit
    const big = [0x03, 1, 0, 0, 0, 0, 0, 0, 0] // 0x01_01.. masked → 2^64 + 2^56 > n: rejected
    const ok = [0x00, 0, 0, 0, 0, 0, 0, 0, 7]
    expect(scripted([...big, ...ok]).uniformBigInt(2n ** 64n + 1n)).toBe(7n)
    expect(scripted([]).uniformBigInt(1n)).toBe(0n) // no bytes needed
  })

  it('is exactly uniform over every byte value (a modulo reduction would not be)', () => {
    for (const n of [3, 5, 100, 200]) {
      const bytes = Array.from({ length: 256 }, (_, i) => i)
      const rng = scripted(bytes, 256)
      const mask = 2 ** Math.ceil(Math.log2(n)) - 1
      const accepted = bytes.filter((b) => (b & mask) < n).length
      const counts = new Array<number>(n).fill(0)
      for (let i = 0; i < accepted; i++) counts[Number(rng.uniformBigInt(BigInt(n)))]!++
      expect(new Set(counts).size).toBe(1) // every value equally often
    }
  })

  it('refuses bad n and a byte source that returns the wrong length', () => {
    const rng = seededRandom('x')
    expectCode(() => rng.uniformBigInt(0n), 'BAD_PARAMS')
    expectCode(() => rng.uniformBigInt(-5n), 'BAD_PARAMS')
    expectCode(() => rng.uniformBigInt(3 as unknown as bigint), 'BAD_PARAMS')
    expectCode(() => randomFromBytes(() => new Uint8Array(3), 4).uniformBigInt(10n), 'BAD_INPUT')
    expectCode(() => randomFromBytes(() => new Uint8Array(1), 0), 'BAD_PARAMS')
  })
})

describe('seededRandom (tests only)', () => {
  it('is SHA-256 in counter mode over the domain-separated seed', () => {
    const block = (i: number) => {
      const ctr = Buffer.alloc(8)
      ctr.writeBigUInt64BE(BigInt(i))
      return createHash('sha256').update('fedledger/enclave/noise/seeded-random/v1').update(Buffer.from([0])).update('seed').update(ctr).digest()
    }
    const expected = [...block(0), ...block(1)]
    const rng = seededRandom('seed')
    const got = Array.from({ length: 64 }, () => Number(rng.uniformBigInt(256n)))
    expect(got).toEqual(expected)
  })

  it('is deterministic per seed and differs across seeds', () => {
    const draw = (seed: string | Uint8Array) => {
      const r = seededRandom(seed)
      return Array.from({ length: 50 }, () => r.uniformBigInt(10n ** 30n))
    }
    expect(draw('a')).toEqual(draw('a'))
    expect(draw(new Uint8Array([1, 2]))).toEqual(draw(new Uint8Array([1, 2])))
    expect(draw('a')).not.toEqual(draw('b'))
    for (const v of draw('a')) expect(v >= 0n && v < 10n ** 30n).toBe(true)
  })
})

describe('cryptoRandom', () => {
  it('stays in range and is roughly uniform over n = 3 (chi-square, 2 df)', () => {
    const rng = cryptoRandom()
    const draws = 30_000
    const counts = [0, 0, 0]
    for (let i = 0; i < draws; i++) counts[Number(rng.uniformBigInt(3n))]!++
    const e = draws / 3
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0)
    expect(chi2).toBeLessThan(30) // P(χ²₂ > 30) ≈ 3e-7
    for (let i = 0; i < 200; i++) {
      const v = rng.uniformBigInt(2n ** 70n + 3n)
      expect(v >= 0n && v < 2n ** 70n + 3n).toBe(true)
    }
  })
})
