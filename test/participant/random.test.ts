// Injected randomness: seeded streams are reproducible and independent; normals have the right moments.
import { describe, expect, it } from 'vitest'
import { cryptoGaussian, cryptoRng, gaussianFrom, seededRng } from '../../participant/index.ts'
import { codeOf, meanStd } from './helpers.ts'

describe('seededRng', () => {
  it('is reproducible per seed and differs across seeds and parts', () => {
    const draw = (...parts: Array<number | string>) => Array.from({ length: 5 }, ((r) => () => r.next())(seededRng(...parts)))
    expect(draw(1)).toEqual(draw(1))
    expect(draw(1)).not.toEqual(draw(2))
    expect(draw(1, 'a')).not.toEqual(draw(1, 'b'))
    expect(draw('1')).not.toEqual(draw(1))
  })

  it('draws uniform doubles in [0, 1)', () => {
    const r = seededRng(3)
    const xs = Array.from({ length: 50_000 }, () => r.next())
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
    const { mean, std } = meanStd(xs)
    expect(mean).toBeCloseTo(0.5, 2)
    expect(std).toBeCloseTo(Math.sqrt(1 / 12), 2)
    const buckets = new Array(10).fill(0)
    for (const x of xs) buckets[Math.floor(x * 10)]++
    for (const b of buckets) expect(Math.abs(b - 5_000)).toBeLessThan(300)
  })

  it('refuses empty or non-finite seeds', () => {
    expect(codeOf(() => seededRng())).toBe('BAD_ARGUMENT')
    expect(codeOf(() => seededRng(Number.NaN))).toBe('BAD_ARGUMENT')
  })
})

describe('Gaussian sources', () => {
  it.each([
    ['seeded', () => gaussianFrom(seededRng(9))],
    ['node:crypto', () => cryptoGaussian()],
  ])('%s: mean 0, variance 1, symmetric tails', (_name, make) => {
    const g = make()
    const xs = Array.from({ length: 100_000 }, () => g.normal())
    const { mean, std } = meanStd(xs)
    expect(Math.abs(mean)).toBeLessThan(0.015)
    expect(Math.abs(std - 1)).toBeLessThan(0.015)
    const beyond2 = xs.filter((x) => Math.abs(x) > 2).length / xs.length
    expect(beyond2).toBeGreaterThan(0.042) // 2·(1 − Φ(2)) = 0.0455
    expect(beyond2).toBeLessThan(0.049)
  })

  it('cryptoRng gives fresh values', () => {
    const a = cryptoRng()
    const b = cryptoRng()
    expect(a.next()).not.toBe(b.next())
  })
})
