/**
 * Properties of the accountant that must hold for any parameters (fast-check):
 * monotonicity of ε, additivity of RDP under composition, the improved
 * conversion never worse than the classic one, and bit-exact determinism.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { composeRdp, computeEpsilon, epsilonFromRdp, rdpCurve } from '../../ledger/privacy/index.ts'

// A smaller order grid (integer and fractional) keeps the many runs fast.
const ORDERS = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 8, 10, 12.5, 16, 20, 24, 32, 48, 64]

const q = fc.double({ min: 1e-5, max: 1, noNaN: true })
const sigma = fc.double({ min: 0.3, max: 30, noNaN: true })
const steps = fc.integer({ min: 1, max: 100_000 })
const delta = fc.double({ min: 1e-12, max: 0.1, noNaN: true })
/** x <= y, both drawn from arb */
const ordered = (arb: fc.Arbitrary<number>) => fc.tuple(arb, arb).map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]))

/** a <= b up to a relative slack for rounding in the series */
function expectAtMost(a: number, b: number, slack = 1e-9): void {
  expect(a).toBeLessThanOrEqual(b + slack * Math.abs(b))
}

const eps = (p: { q: number; sigma: number; steps: number; delta: number }) => computeEpsilon({ ...p, orders: ORDERS }).epsilon

describe('epsilon is monotone', () => {
  it('non-decreasing in steps', () => {
    fc.assert(
      fc.property(q, sigma, ordered(steps), delta, (q, sigma, [s1, s2], delta) => {
        expect(eps({ q, sigma, steps: s1, delta })).toBeLessThanOrEqual(eps({ q, sigma, steps: s2, delta }))
      }),
    )
  })

  it('non-decreasing in the sampling rate q', () => {
    fc.assert(
      fc.property(ordered(q), sigma, steps, delta, ([q1, q2], sigma, steps, delta) => {
        expectAtMost(eps({ q: q1, sigma, steps, delta }), eps({ q: q2, sigma, steps, delta }))
      }),
    )
  })

  it('non-increasing in the noise multiplier sigma', () => {
    fc.assert(
      fc.property(q, ordered(sigma), steps, delta, (q, [s1, s2], steps, delta) => {
        expectAtMost(eps({ q, sigma: s2, steps, delta }), eps({ q, sigma: s1, steps, delta }))
      }),
    )
  })

  it('non-increasing in delta', () => {
    fc.assert(
      fc.property(q, sigma, steps, ordered(delta), (q, sigma, steps, [d1, d2]) => {
        expect(eps({ q, sigma, steps, delta: d2 })).toBeLessThanOrEqual(eps({ q, sigma, steps, delta: d1 }))
      }),
    )
  })
})

describe('RDP composition', () => {
  it('is additive: n1 steps then n2 steps is the curve of n1 + n2 steps', () => {
    fc.assert(
      fc.property(q, sigma, steps, steps, (q, sigma, n1, n2) => {
        const a = rdpCurve({ q, sigma, steps: n1, orders: ORDERS })
        const b = rdpCurve({ q, sigma, steps: n2, orders: ORDERS })
        const ab = rdpCurve({ q, sigma, steps: n1 + n2, orders: ORDERS })
        const sum = composeRdp(a, b)
        sum.forEach((v, k) => expect(Math.abs(v - ab[k]!)).toBeLessThanOrEqual(4e-16 * ab[k]!))
      }),
    )
  })

  it('composing a second mechanism never lowers epsilon', () => {
    fc.assert(
      fc.property(q, sigma, steps, q, sigma, steps, delta, (q1, s1, n1, q2, s2, n2, delta) => {
        const a = rdpCurve({ q: q1, sigma: s1, steps: n1, orders: ORDERS })
        const b = rdpCurve({ q: q2, sigma: s2, steps: n2, orders: ORDERS })
        const both = epsilonFromRdp(ORDERS, composeRdp(a, b), delta).epsilon
        expect(epsilonFromRdp(ORDERS, a, delta).epsilon).toBeLessThanOrEqual(both)
        expect(epsilonFromRdp(ORDERS, b, delta).epsilon).toBeLessThanOrEqual(both)
      }),
      { numRuns: 50 },
    )
  })

  it('the RDP curve is non-decreasing in the order (Rényi divergence grows with alpha)', () => {
    fc.assert(
      fc.property(q, sigma, (q, sigma) => {
        const r = rdpCurve({ q, sigma, steps: 1, orders: ORDERS })
        for (let k = 1; k < r.length; k++) expectAtMost(r[k - 1]!, r[k]!, 1e-6)
      }),
    )
  })
})

describe('conversions', () => {
  it('improved <= classic for any curve and delta', () => {
    const curve = fc.array(fc.double({ min: 0, max: 1e3, noNaN: true }), { minLength: ORDERS.length, maxLength: ORDERS.length })
    fc.assert(
      fc.property(curve, fc.double({ min: 1e-300, max: 0.999, noNaN: true }), (rdp, delta) => {
        expect(epsilonFromRdp(ORDERS, rdp, delta, 'improved').epsilon).toBeLessThanOrEqual(epsilonFromRdp(ORDERS, rdp, delta, 'classic').epsilon)
      }),
    )
  })

  it('improved <= classic for sampled Gaussian schedules', () => {
    fc.assert(
      fc.property(q, sigma, steps, delta, (q, sigma, steps, delta) => {
        const p = { q, sigma, steps, delta, orders: ORDERS }
        expect(computeEpsilon(p).epsilon).toBeLessThanOrEqual(computeEpsilon({ ...p, conversion: 'classic' }).epsilon)
      }),
      { numRuns: 50 },
    )
  })
})

describe('determinism', () => {
  it('the same parameters give bit-identical curves and epsilons', () => {
    fc.assert(
      fc.property(q, sigma, steps, delta, (q, sigma, steps, delta) => {
        const a = rdpCurve({ q, sigma, steps, orders: ORDERS })
        const b = rdpCurve({ q, sigma, steps, orders: ORDERS })
        expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true)
        expect(Object.is(computeEpsilon({ q, sigma, steps, delta }).epsilon, computeEpsilon({ q, sigma, steps, delta }).epsilon)).toBe(true)
      }),
      { numRuns: 20 },
    )
  })
})
