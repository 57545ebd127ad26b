// Plaintext updates: little-endian float32 encoding, exact decoding checks, the norm and clipping.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clipToNorm, decodeUpdate, encodeUpdate, hashUpdate, l2Norm, normsAgree, UpdateError } from '../../../enclave/updates/index.ts'
import { sha256, toHex } from '../../../primitives/index.ts'

function codeOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return e instanceof UpdateError ? `${e.code}: ${e.message}` : `not an UpdateError: ${String(e)}`
  }
  return 'no throw'
}

describe('plaintext updates', () => {
  it('encodes as little-endian float32, independent of the platform', () => {
    expect(toHex(encodeUpdate(new Float32Array([1, -2, 0.5])))).toBe('0000803f000000c00000003f')
    expect(toHex(hashUpdate(encodeUpdate(new Float32Array([1]))))).toBe(toHex(sha256(new Uint8Array([0, 0, 0x80, 0x3f]))))
  })

  it('decodes what it encodes, -0 and subnormals included', () => {
    const v = new Float32Array([0, -0, 1.4e-45, -3.4028234663852886e38, 1e-3])
    const back = decodeUpdate(encodeUpdate(v), v.length)
    expect(Array.from(back)).toEqual(Array.from(v))
    expect(Object.is(back[1], -0)).toBe(true)
    // works on a view at an odd offset
    const bytes = new Uint8Array(1 + 20)
    bytes.set(encodeUpdate(v), 1)
    expect(Array.from(decodeUpdate(bytes.subarray(1), 5))).toEqual(Array.from(v))
  })

  it('refuses the wrong length and non-finite values with typed errors naming the index', () => {
    expect(codeOf(() => decodeUpdate(new Uint8Array(12), 4))).toMatch(/^WRONG_LENGTH/)
    expect(codeOf(() => decodeUpdate(new Uint8Array(13), 3))).toMatch(/^WRONG_LENGTH/)
    expect(codeOf(() => decodeUpdate(new Uint8Array(0), 1))).toMatch(/^WRONG_LENGTH/)
    for (const bad of ['0000c07f', '0000807f', '000080ff', '0100807f']) {
      const bytes = Buffer.from(`00000000${bad}`, 'hex')
      expect(codeOf(() => decodeUpdate(new Uint8Array(bytes), 2))).toMatch(/^NOT_FINITE: value 1 /)
    }
    expect(codeOf(() => encodeUpdate(new Float32Array([1, Number.NaN])))).toMatch(/^NOT_FINITE: value 1 /)
    expect(codeOf(() => encodeUpdate(new Float32Array([Infinity])))).toMatch(/^NOT_FINITE/)
    expect(codeOf(() => encodeUpdate([1, 2] as unknown as Float32Array))).toMatch(/^BAD_ARGUMENT/)
  })

  it('l2Norm accumulates in float64 in index order', () => {
    expect(l2Norm(new Float32Array([3, 4]))).toBe(5)
    // float32 accumulation would lose the small terms entirely
    const v = new Float32Array(1 + 1_000_000).fill(1e-4)
    v[0] = 1
    expect(l2Norm(v)).toBe(Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0)))
    expect(l2Norm(v)).toBeCloseTo(Math.sqrt(1 + 1e6 * Math.fround(1e-4) ** 2), 12)
  })

  it('normsAgree tolerates 1e-6 relative, no more', () => {
    expect(normsAgree(1, 1 + 5e-7)).toBe(true)
    expect(normsAgree(1, 1 + 2e-6)).toBe(false)
    expect(normsAgree(0, 0)).toBe(true)
    expect(normsAgree(0, 1e-30)).toBe(false)
  })

  it('clipToNorm returns float32 values whose l2Norm is within the bound, and keeps the direction', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 200 }), fc.double({ min: 1e-3, max: 1e3, noNaN: true }), (values, clip) => {
        const out = clipToNorm(values, clip)
        expect(out.length).toBe(values.length)
        expect(l2Norm(out)).toBeLessThanOrEqual(clip)
        const n = l2Norm(values)
        if (n > clip) {
          expect(l2Norm(out)).toBeGreaterThan(clip * (1 - 1e-5))
          const scale = clip / n
          for (let i = 0; i < values.length; i++) expect(Math.abs(out[i]! - values[i]! * scale)).toBeLessThanOrEqual(Math.abs(values[i]! * scale) * 1e-5 + 1e-30)
        } else {
          expect(Array.from(out)).toEqual(values.map((x) => Math.fround(x)))
        }
      }),
      { numRuns: 300, seed: 7 },
    )
  })

  it('clipToNorm rounds to float32 without overshooting when rounding alone would', () => {
    // found by search: a float64 vector with norm exactly C whose float32 rounding is above C
    let found = 0
    for (let s = 1; s < 200 && found < 5; s++) {
      const v = Array.from({ length: 32 }, (_, i) => Math.sin(s * 13.7 + i))
      const n = l2Norm(v)
      const exact = v.map((x) => x / n)
      if (l2Norm(Float32Array.from(exact)) <= 1) continue
      found++
      expect(l2Norm(clipToNorm(exact, 1))).toBeLessThanOrEqual(1)
    }
    expect(found).toBeGreaterThan(0)
    expect(codeOf(() => clipToNorm([1, Number.NaN], 1))).toMatch(/^NOT_FINITE/)
    expect(codeOf(() => clipToNorm([1], 0))).toMatch(/^BAD_ARGUMENT/)
    expect(codeOf(() => clipToNorm([1e39], 1e300))).toMatch(/^NOT_FINITE/)
  })
})
