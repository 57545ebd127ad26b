// Tests for the exact samplers (CKS 2020): Bernoulli(exp(−γ)), discrete Laplace
// and discrete Gaussian, checked against their exact distributions with seeded
// sources and tolerances derived from the sample size (so they cannot flake).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  bernoulliExpNeg,
  discreteGaussianSampler,
  isNoiseError,
  isqrt,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
  seededRandom,
  toRational,
  type Rational,
} from '../../../enclave/noise/index.ts'

const Z = 5 // tolerance in standard errors

/** Exact pmf of N_Z(0, σ²) on [−K, K] (the tail beyond is negligible for these σ). */
function gaussianPmf(sigma2: number): Map<number, number> {
  const K = Math.ceil(12 * Math.sqrt(sigma2)) + 2
  let norm = 0
  const w = new Map<number, number>()
  for (let y = -K; y <= K; y++) {
    const p = Math.exp((-y * y) / (2 * sigma2))
    w.set(y, p)
    norm += p
  }
  for (const [y, p] of w) w.set(y, p / norm)
  return w
}

function moments(pmf: Map<number, number>) {
  let m2 = 0
  let m4 = 0
  for (const [y, p] of pmf) {
    m2 += p * y * y
    m4 += p * y ** 4
  }
  return { variance: m2, m4 }
}

describe('bernoulliExpNeg (CKS Algorithm 1)', () => {
  it('γ = 0 always gives 1', () => {
    const rng = seededRandom('b0')
    for (let i = 0; i < 1000; i++) expect(bernoulliExpNeg(0, rng)).toBe(true)
  })

  const cases: Array<[string, Rational]> = [
    ['1/3', { num: 1n, den: 3n }],
    ['1', { num: 1n, den: 1n }],
    ['5/2', { num: 5n, den: 2n }],
    ['7', { num: 7n, den: 1n }],
  ]
  for (const [label, gamma] of cases) {
    it(`has mean exp(−${label}) within ${Z} standard errors`, () => {
      const rng = seededRandom(`bern-${label}`)
      const p = Math.exp(-Number(gamma.num) / Number(gamma.den))
      const n = 40_000
      let hits = 0
      for (let i = 0; i < n; i++) if (bernoulliExpNeg(gamma, rng)) hits++
      const se = Math.sqrt((p * (1 - p)) / n)
      expect(Math.abs(hits / n - p)).toBeLessThan(Z * se)
    })
  }

  it('refuses γ < 0 and non-finite γ', () => {
    const rng = seededRandom('x')
    for (const g of [-1, Number.NaN, Infinity, { num: -1n, den: 2n }, { num: 1n, den: 0n }]) {
      expect(() => bernoulliExpNeg(g, rng)).toThrow(expect.objectContaining({ code: 'BAD_PARAMS' }))
    }
  })
})

describe('sampleDiscreteLaplace (CKS Algorithm 2)', () => {
  it('matches P(x) ∝ exp(−|x|/t) at 0 and ±1 for t = 2', () => {
    const rng = seededRandom('lap')
    const t = 2
    const r = Math.exp(-1 / t)
    const p = (x: number) => ((1 - r) / (1 + r)) * r ** Math.abs(x)
    const n = 30_000
    const counts = new Map<bigint, number>()
    for (let i = 0; i < n; i++) {
      const x = sampleDiscreteLaplace(t, rng)
      counts.set(x, (counts.get(x) ?? 0) + 1)
    }
    for (const x of [-1, 0, 1]) {
      const pe = p(x)
      expect(Math.abs((counts.get(BigInt(x)) ?? 0) / n - pe)).toBeLessThan(Z * Math.sqrt((pe * (1 - pe)) / n))
    }
    expect(() => sampleDiscreteLaplace(0, rng)).toThrow(expect.objectContaining({ code: 'BAD_PARAMS' }))
  })
})

describe('sampleDiscreteGaussian (CKS Algorithm 3)', () => {
  for (const sigma2 of [1, 4.5, 100]) {
    it(`σ² = ${sigma2}: integer support, mean ≈ 0, variance ≈ σ², symmetric`, () => {
      const rng = seededRandom(`dg-${sigma2}`)
      const sample = discreteGaussianSampler(sigma2)
      const n = 20_000
      let sum = 0
      let sumSq = 0
      let pos = 0
      let neg = 0
      for (let i = 0; i < n; i++) {
        const y = sample(rng)
        expect(typeof y).toBe('bigint') // support on Z
        const v = Number(y)
        sum += v
        sumSq += v * v
        if (v > 0) pos++
        else if (v < 0) neg++
      }
      const { variance, m4 } = moments(gaussianPmf(sigma2))
      expect(Math.abs(variance - sigma2) / sigma2).toBeLessThan(1e-6) // N_Z's variance is σ² to this precision for σ ≥ 1
      expect(Math.abs(sum / n)).toBeLessThan(Z * Math.sqrt(variance / n))
      const meanSq = sumSq / n
      expect(Math.abs(meanSq - variance)).toBeLessThan(Z * Math.sqrt((m4 - variance ** 2) / n))
      // symmetry: among non-zero draws, positive vs negative is Binomial(m, 1/2)
      const m = pos + neg
      expect(Math.abs(pos - m / 2)).toBeLessThan(Z * Math.sqrt(m / 4))
    })
  }

  it('σ² = 1: frequencies of −3..3 match the exact pmf', () => {
    const pmf = gaussianPmf(1)
    const rng = seededRandom('dg-pmf')
    const n = 20_000
    const counts = new Map<bigint, number>()
    for (let i = 0; i < n; i++) {
      const y = sampleDiscreteGaussian(1, rng)
      counts.set(y, (counts.get(y) ?? 0) + 1)
    }
    for (let y = -3; y <= 3; y++) {
      const p = pmf.get(y)!
      expect(Math.abs((counts.get(BigInt(y)) ?? 0) / n - p)).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / n))
    }
  })

  it('is deterministic for a seed, and a double σ² equals its exact rational', () => {
    const draw = (s2: number | Rational, seed: string) => {
      const rng = seededRandom(seed)
      return Array.from({ length: 200 }, () => sampleDiscreteGaussian(s2, rng))
    }
    expect(draw(4.5, 's')).toEqual(draw(4.5, 's'))
    expect(draw(4.5, 's')).toEqual(draw({ num: 9n, den: 2n }, 's'))
    expect(draw(4.5, 's')).toEqual(draw({ num: -18n, den: -4n }, 's'))
    expect(draw(4.5, 's')).not.toEqual(draw(4.5, 't'))
  })

  it('refuses σ² ≤ 0, non-finite σ² and malformed rationals with a typed error', () => {
    const rng = seededRandom('x')
    const bad: Array<number | Rational> = [0, -0, -1, Number.NaN, Infinity, -Infinity, { num: 0n, den: 1n }, { num: -3n, den: 2n }, { num: 1n, den: 0n }, { num: 1, den: 2 } as unknown as Rational]
    for (const s2 of bad) {
      let err: unknown
      try {
        sampleDiscreteGaussian(s2, rng)
      } catch (e) {
        err = e
      }
      expect(isNoiseError(err)).toBe(true)
      expect((err as { code: string }).code).toBe('BAD_PARAMS')
    }
  })
})

describe('exact arithmetic helpers', () => {
  it('toRational gives the exact value of a double', () => {
    expect(toRational(4.5)).toEqual({ num: 9n, den: 2n })
    expect(toRational(0.1)).toEqual({ num: 3602879701896397n, den: 2n ** 55n })
    expect(toRational(-3)).toEqual({ num: -3n, den: 1n })
    expect(toRational(Number.MIN_VALUE)).toEqual({ num: 1n, den: 2n ** 1074n })
  })

  it('isqrt is ⌊√n⌋', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 200n }), (n) => {
        const r = isqrt(n)
        return r * r <= n && n < (r + 1n) * (r + 1n)
      }),
      { numRuns: 300, seed: 7 },
    )
  })
})
