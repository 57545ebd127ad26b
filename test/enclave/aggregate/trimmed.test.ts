// Coordinate-wise trimmed mean and median: hand values, the ⌊βn⌋ rule,
// planted outliers, overflow handling.
import { describe, expect, it } from 'vitest'
import { median, trimmedMean, type Update } from '../../../enclave/aggregate/index.ts'
import { expectClose, expectCode, f64, gaussian, l2, plainMean, prng } from './helpers.ts'

describe('trimmedMean', () => {
  // per coordinate: column 0 = [5, −100, 1, 3, 1000], column 1 = [2, 2, 2, 2, 7]
  const xs = [f64(5, 2), f64(-100, 2), f64(1, 2), f64(3, 2), f64(1000, 7)]

  it('drops ⌊βn⌋ values at each end of every coordinate and averages the rest', () => {
    // β = 0.2, n = 5: drop 1 each side → column 0 keeps [1, 3, 5] → 3; column 1 keeps [2, 2, 2] → 2
    expect(Array.from(trimmedMean(xs, { beta: 0.2 }).aggregate)).toEqual([3, 2])
    // β = 0.39: ⌊1.95⌋ = 1, same as 0.2
    expect(Array.from(trimmedMean(xs, { beta: 0.39 }).aggregate)).toEqual([3, 2])
    // β = 0.4: ⌊2⌋ = 2 → the middle value only
    expect(Array.from(trimmedMean(xs, { beta: 0.4 }).aggregate)).toEqual([3, 2])
    // β = 0.1: ⌊0.5⌋ = 0 → the plain mean: (5 − 100 + 1 + 3 + 1000)/5 = 181.8, (2·4 + 7)/5 = 3
    expectClose(trimmedMean(xs, { beta: 0.1 }).aggregate, [181.8, 3])
  })

  it('follows scipy/Flower in computing ⌊β·n⌋ in float64 (β = 0.1, n = 30 drops 3 per side)', () => {
    // values 0..29 in one coordinate: drop 0,1,2 and 27,28,29 → mean of 3..26 = 14.5; with an outlier at 29 → 1e9 unchanged
    const xs = Array.from({ length: 30 }, (_, i) => f64(i === 29 ? 1e9 : i))
    expect(trimmedMean(xs, { beta: 0.1 }).aggregate[0]).toBe(14.5)
  })

  it('is robust to ⌊βn⌋ planted outliers per coordinate where the plain mean is not', () => {
    const rand = prng(2018)
    const d = 64
    const honest = Array.from({ length: 12 }, () => Float32Array.from({ length: d }, (_, k) => k / d + 0.05 * gaussian(rand)))
    // 4 attackers: two huge positive, two huge negative, in different coordinates' extremes
    const bad = [1e6, 1e6, -1e6, 3e5].map((v) => new Float64Array(d).fill(v))
    const all: Update[] = [bad[0] as Float64Array, ...honest.slice(0, 6), bad[1] as Float64Array, bad[2] as Float64Array, ...honest.slice(6), bad[3] as Float64Array]
    const n = all.length // 16; β = 0.25 → drop 4 each side
    expect(n).toBe(16)
    const tm = trimmedMean(all, { beta: 0.25 }).aggregate
    const hm = plainMean(honest)
    expect(l2(tm, hm)).toBeLessThan(0.05 * Math.sqrt(d))
    expect(l2(plainMean(all), hm)).toBeGreaterThan(1e4)
    const md = median(all).aggregate
    expect(l2(md, hm)).toBeLessThan(0.1 * Math.sqrt(d))
  })

  it('refuses an aggregate that overflows float64 instead of returning Infinity', () => {
    const big = [f64(1.7e308), f64(1.7e308), f64(1.7e308)]
    expectCode(() => trimmedMean(big, { beta: 0 }), 'OVERFLOW')
    // trimming to the single middle value does not overflow
    expect(trimmedMean(big, { beta: 0.4 }).aggregate[0]).toBe(1.7e308)
  })
})

describe('median', () => {
  it('is the middle value for odd n and the mean of the two middle values for even n', () => {
    expect(Array.from(median([f64(3, -1), f64(1, 10), f64(2, 0)]).aggregate)).toEqual([2, 0])
    expect(Array.from(median([f64(4, 0), f64(1, -2), f64(3, 7), f64(2, 5)]).aggregate)).toEqual([2.5, 2.5])
    expect(Array.from(median([Float32Array.of(0.1)]).aggregate)).toEqual([Math.fround(0.1)])
  })

  it('does not overflow when the two middle values are near the float64 maximum', () => {
    expect(median([f64(1.7e308), f64(1.7e308)]).aggregate[0]).toBe(1.7e308)
    expect(median([f64(-1.7e308), f64(-1.5e308)]).aggregate[0]).toBe(-1.6e308)
  })
})
