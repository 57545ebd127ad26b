// Tests for quantization (round half to even, int64, typed errors), the
// sensitivity after rounding, and discrete Gaussian noise on a quantized sum.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  addDiscreteGaussianNoise,
  dequantize,
  isNoiseError,
  noiseVariance,
  quantize,
  quantizedSensitivity,
  seededRandom,
  toRational,
  type NoiseErrorCode,
} from '../../../enclave/noise/index.ts'

function expectCode(fn: () => unknown, code: NoiseErrorCode): void {
  let err: unknown
  try {
    fn()
  } catch (e) {
    err = e
  }
  expect(isNoiseError(err), `expected NoiseError ${code}`).toBe(true)
  expect((err as { code: string }).code).toBe(code)
}

describe('quantize / dequantize', () => {
  it('rounds half to even, deterministically', () => {
    const q = quantize(new Float64Array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 2.6, -2.6]), 1)
    expect(Array.from(q)).toEqual([0n, 2n, 2n, 0n, -2n, -2n, 0n, 3n, -3n])
    // 0.125 · 4 = 0.5 → 0 ; 0.375 · 4 = 1.5 → 2
    expect(Array.from(quantize(new Float32Array([0.125, 0.375]), 4))).toEqual([0n, 2n])
  })

  it('round-trips multiples of 1/scale exactly and others within 1/(2·scale)', () => {
    const scale = 2 ** 16
    const exact = new Float64Array([0, 1, -1, 3 / scale, -12345.5, 2 ** 40])
    expect(dequantize(quantize(exact, scale), scale)).toEqual(exact)
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 20 }), (vals) => {
        const x = Float64Array.from(vals)
        const back = dequantize(quantize(x, scale), scale)
        return vals.every((v, i) => Math.abs(back[i]! - v) <= 1 / (2 * scale))
      }),
      { numRuns: 200, seed: 11 },
    )
  })

  it('uses the whole int64 range and refuses what does not fit', () => {
    expect(quantize(new Float64Array([-(2 ** 63)]), 1)[0]).toBe(-(2n ** 63n))
    expectCode(() => quantize(new Float64Array([2 ** 63]), 1), 'OVERFLOW')
    expectCode(() => quantize(new Float64Array([0, 1e300]), 2 ** 16), 'OVERFLOW')
    expectCode(() => quantize(new Float64Array([1e308]), 1e10), 'OVERFLOW') // product is Infinity
    expectCode(() => quantize(new Float64Array([1, Number.NaN]), 1), 'NOT_FINITE')
    expectCode(() => quantize(new Float64Array([-Infinity]), 1), 'NOT_FINITE')
    for (const s of [0, -1, Number.NaN, Infinity]) expectCode(() => quantize(new Float64Array([1]), s), 'BAD_PARAMS')
    expectCode(() => quantize([1, 2] as unknown as Float64Array, 1), 'BAD_INPUT')
    expectCode(() => dequantize(new BigInt64Array(1), 0), 'BAD_PARAMS')
  })
})

describe('quantizedSensitivity', () => {
  it('is C + √d/(2·scale), never rounded below the exact value', () => {
    expect(quantizedSensitivity(1, 1, 4)).toBe(2)
    expect(quantizedSensitivity(0.7, 8, 0)).toBe(0.7)
    fc.assert(
      fc.property(fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 10_000_000 }), (c, k, d) => {
        const scale = 2 ** k
        const r = quantizedSensitivity(c, scale, d)
        // exact check: ((r − C)·2·scale)² ≥ d
        const rr = toRational(r)
        const cc = toRational(c)
        const num = (rr.num * cc.den - cc.num * rr.den) * 2n * BigInt(scale)
        const den = rr.den * cc.den
        return num >= 0n && num * num >= BigInt(d) * den * den && r <= c + Math.sqrt(d) / (2 * scale) + 1e-9
      }),
      { numRuns: 300, seed: 5 },
    )
  })

  it('bounds the norm of any clipped update after rounding (worst case: every coordinate at a half)', () => {
    const scale = 4
    const d = 16
    // coordinates at (k + 1/2)/scale round away from the value by exactly 1/(2·scale) when k is odd
    const x = new Float64Array(d).fill(1.5 / scale)
    const c = Math.hypot(...x)
    const q = dequantize(quantize(x, scale), scale)
    const norm = Math.hypot(...q)
    expect(norm).toBeGreaterThan(c) // rounding did increase the norm
    expect(norm).toBeLessThanOrEqual(quantizedSensitivity(c, scale, d))
  })

  it('refuses bad parameters', () => {
    expectCode(() => quantizedSensitivity(0, 1, 1), 'BAD_PARAMS')
    expectCode(() => quantizedSensitivity(1, -2, 1), 'BAD_PARAMS')
    expectCode(() => quantizedSensitivity(1, 1, 1.5), 'BAD_PARAMS')
  })
})

describe('addDiscreteGaussianNoise', () => {
  const params = { scale: 4, clipNorm: 2.5, noiseMultiplier: 0.5 } // σ·C·scale = 5

  it('uses the exact variance (σ·C·scale)²', () => {
    expect(noiseVariance(params)).toEqual({ num: 25n, den: 1n })
    expect(noiseVariance({ scale: 2 ** 16, clipNorm: 1, noiseMultiplier: 1.5 })).toEqual({ num: 9n * 2n ** 30n, den: 1n })
  })

  it('adds zero-mean integer noise with std σ·C·scale and leaves the input alone', () => {
    const n = 20_000
    const input = new BigInt64Array(n).map((_, i) => BigInt(i % 7) - 3n)
    const copy = input.slice()
    const out = addDiscreteGaussianNoise(input, params, seededRandom('noise'))
    expect(out).toBeInstanceOf(BigInt64Array)
    expect(out.length).toBe(n)
    expect(input).toEqual(copy)
    let sum = 0
    let sumSq = 0
    let changed = 0
    for (let i = 0; i < n; i++) {
      const e = Number(out[i]! - input[i]!)
      sum += e
      sumSq += e * e
      if (e !== 0) changed++
    }
    const v = 25
    expect(Math.abs(sum / n)).toBeLessThan(5 * Math.sqrt(v / n))
    expect(Math.abs(sumSq / n - v)).toBeLessThan(5 * Math.sqrt((2 * v * v) / n)) // Var(e²) ≈ 2σ⁴
    expect(changed).toBeGreaterThan(n * 0.8)
  })

  it('accepts Int32Array and integer arrays, and is deterministic for a seed', () => {
    const a = addDiscreteGaussianNoise(new Int32Array([5, -7, 0]), params, seededRandom('s'))
    const b = addDiscreteGaussianNoise([5, -7n, 0], params, seededRandom('s'))
    expect(a).toEqual(b)
    expect(addDiscreteGaussianNoise(new BigInt64Array(0), params, seededRandom('s')).length).toBe(0)
  })

  it('refuses σ = 0 and other bad parameters, non-integer sums and int64 overflow', () => {
    const rng = seededRandom('x')
    const sum = new BigInt64Array(4)
    for (const bad of [
      { ...params, noiseMultiplier: 0 },
      { ...params, noiseMultiplier: -1 },
      { ...params, clipNorm: Number.NaN },
      { ...params, scale: 0 },
      null,
    ]) {
      expectCode(() => addDiscreteGaussianNoise(sum, bad as typeof params, rng), 'BAD_PARAMS')
    }
    expectCode(() => addDiscreteGaussianNoise([1, 1.5], params, rng), 'BAD_INPUT')
    expectCode(() => addDiscreteGaussianNoise(['1'] as unknown as number[], params, rng), 'BAD_INPUT')
    expectCode(() => addDiscreteGaussianNoise(new Float64Array(2) as unknown as Int32Array, params, rng), 'BAD_INPUT')
    const edge = new BigInt64Array(64).map((_, i) => (i % 2 === 0 ? 2n ** 63n - 1n : -(2n ** 63n)))
    expectCode(() => addDiscreteGaussianNoise(edge, { scale: 1, clipNorm: 1, noiseMultiplier: 100 }, rng), 'OVERFLOW')
  })
})
