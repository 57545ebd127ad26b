// The Dirichlet(α) label split: a deterministic partition, nobody left empty, more skew for smaller α; the Gamma/Dirichlet samplers.
import { describe, expect, it } from 'vitest'
import { dirichletSplit, gaussianFrom, sampleDirichlet, sampleLogGamma, seededRng } from '../../participant/index.ts'
import { codeOf, meanStd } from './helpers.ts'

function labels(n: number, classes: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i % classes)
}

/** Mean over members of the entropy (nats) of its label distribution. */
function meanEntropy(parts: Int32Array[], y: Uint8Array, classes: number): number {
  let total = 0
  for (const p of parts) {
    const counts = new Float64Array(classes)
    for (const i of p) counts[y[i]!]!++
    let h = 0
    for (const c of counts) if (c > 0) h -= (c / p.length) * Math.log(c / p.length)
    total += h
  }
  return total / parts.length
}

describe('dirichletSplit', () => {
  const y = labels(3_000, 10)

  it.each([0.05, 0.5, 100])('α = %s: partitions the indices, ascending per member', (alpha) => {
    const parts = dirichletSplit(y, 10, alpha, seededRng(1))
    expect(parts.length).toBe(10)
    const seen = new Uint8Array(y.length)
    for (const p of parts) {
      expect(p.length).toBeGreaterThanOrEqual(1)
      for (let k = 1; k < p.length; k++) expect(p[k]).toBeGreaterThan(p[k - 1]!)
      for (const i of p) seen[i]!++
    }
    expect(seen.every((s) => s === 1)).toBe(true)
  })

  it('is deterministic given the rng, and differs across seeds', () => {
    const a = dirichletSplit(y, 10, 0.5, seededRng(7)).map((p) => Array.from(p))
    const b = dirichletSplit(y, 10, 0.5, seededRng(7)).map((p) => Array.from(p))
    const c = dirichletSplit(y, 10, 0.5, seededRng(8)).map((p) => Array.from(p))
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
  })

  it('is more skewed for small α', () => {
    const h = (alpha: number) => meanEntropy(dirichletSplit(y, 10, alpha, seededRng(3)), y, 10)
    const skewed = h(0.1)
    const mid = h(1)
    const iid = h(1_000)
    expect(skewed).toBeLessThan(mid)
    expect(mid).toBeLessThan(iid)
    expect(iid).toBeGreaterThan(0.98 * Math.log(10)) // nearly uniform labels per member
    expect(skewed).toBeLessThan(0.6 * Math.log(10))
  })

  it('gives every member at least minPerMember, even when α makes most of them empty', () => {
    const small = labels(60, 3)
    const parts = dirichletSplit(small, 20, 0.01, seededRng(2), { minPerMember: 2, maxAttempts: 3 })
    expect(Math.min(...parts.map((p) => p.length))).toBeGreaterThanOrEqual(2)
    expect(parts.reduce((s, p) => s + p.length, 0)).toBe(60)
  })

  it('refuses impossible requests', () => {
    expect(codeOf(() => dirichletSplit(labels(5, 2), 10, 1, seededRng(1)))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => dirichletSplit(y, 10, 0, seededRng(1)))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => dirichletSplit(y, 0, 1, seededRng(1)))).toBe('BAD_ARGUMENT')
  })
})

describe('Gamma and Dirichlet samplers', () => {
  it.each([0.3, 1, 4.5])('Gamma(%s) has mean and variance equal to its shape', (shape) => {
    const rng = seededRng('gamma', shape)
    const g = gaussianFrom(rng)
    const xs = Array.from({ length: 20_000 }, () => Math.exp(sampleLogGamma(shape, rng, g)))
    const { mean, std } = meanStd(xs)
    expect(Math.abs(mean / shape - 1)).toBeLessThan(0.04)
    expect(Math.abs((std * std) / shape - 1)).toBeLessThan(0.1)
  })

  it('Dirichlet draws sum to 1 and stay finite for tiny α', () => {
    const rng = seededRng(5)
    for (const alpha of [1e-3, 0.5, 50]) {
      const p = sampleDirichlet(alpha, 10, rng)
      expect(p.every((v) => Number.isFinite(v) && v >= 0)).toBe(true)
      expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12)
    }
  })
})
