// Property tests (fast-check): determinism, permutation behaviour, relations
// between the rules (trimmed mean at β = 0 is the mean, median is the middle),
// and robustness bounds of the coordinate-wise rules.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { krum, median, multiKrum, trimmedMean, type Update } from '../../../enclave/aggregate/index.ts'
import { expectBitIdentical, expectClose, plainMean } from './helpers.ts'

const value = fc.double({ min: -1e3, max: 1e3, noNaN: true })

/** n updates of dimension d, each Float64Array or (rounded) Float32Array. */
const updatesArb = (minN: number, maxN: number) =>
  fc.record({ n: fc.integer({ min: minN, max: maxN }), d: fc.integer({ min: 1, max: 6 }) }).chain(({ n, d }) =>
    fc.array(fc.tuple(fc.boolean(), fc.array(value, { minLength: d, maxLength: d })), { minLength: n, maxLength: n })
      .map((rows) => rows.map(([f32, xs]): Update => (f32 ? Float32Array.from(xs) : Float64Array.from(xs)))))

/** updates plus a permutation of their indices */
const withPermutation = (minN: number, maxN: number) =>
  updatesArb(minN, maxN).chain((updates) =>
    fc.shuffledSubarray(updates.map((_, i) => i), { minLength: updates.length, maxLength: updates.length }).map((perm) => ({ updates, perm })))

/** updates with Multi-Krum parameters satisfying n > 2f + 2, 1 ≤ m ≤ n − f */
const krumCase = withPermutation(3, 10).chain(({ updates, perm }) => {
  const n = updates.length
  return fc.integer({ min: 0, max: Math.floor((n - 3) / 2) }).chain((f) =>
    fc.integer({ min: 1, max: n - f }).map((m) => ({ updates, perm, f, m })))
})

const copy = (us: readonly Update[]): Update[] => us.map((u) => u.slice())
const maxAbs = (us: readonly Update[]) => us.reduce((a, u) => Math.max(a, ...Array.from(u, Math.abs)), 0)

describe('Multi-Krum properties', () => {
  it('identical input gives bit-identical output and leaves the input untouched', () => {
    fc.assert(fc.property(krumCase, ({ updates, f, m }) => {
      const before = copy(updates)
      const a = multiKrum(updates, { f, m })
      const b = multiKrum(copy(updates), { f, m })
      expect(a.selected).toEqual(b.selected)
      expectBitIdentical(a.scores, b.scores)
      expectBitIdentical(a.aggregate, b.aggregate)
      updates.forEach((u, i) => expect(u).toEqual(before[i]))
    }), { numRuns: 200 })
  })

  it('permuting the input permutes scores exactly and `selected` consistently; the aggregate moves only in the last bits', () => {
    let strict = 0
    let runs = 0
    fc.assert(fc.property(krumCase, ({ updates, perm, f, m }) => {
      runs++
      const permuted = perm.map((i) => updates[i] as Update)
      const a = multiKrum(updates, { f, m })
      const b = multiKrum(permuted, { f, m })
      // scores are summed in value order: bit-identical under permutation
      perm.forEach((orig, i) => expect(Object.is(b.scores[i], a.scores[orig])).toBe(true))
      const sorted = Array.from(a.scores).sort((x, y) => x - y)
      const boundaryTie = m < updates.length && sorted[m - 1] === sorted[m]
      if (boundaryTie) {
        // ties at the cut are broken by index, which the permutation changes: the selected scores agree as a multiset
        const scoresOf = (r: typeof a) => r.selected.map((i) => r.scores[i] as number).sort((x, y) => x - y)
        expect(scoresOf(b)).toEqual(scoresOf(a))
      } else {
        strict++
        expect(b.selected.map((i) => perm[i] as number).sort((x, y) => x - y)).toEqual(a.selected)
        expectClose(b.aggregate, a.aggregate, 1e-12 * (1 + maxAbs(updates)))
      }
    }), { numRuns: 300 })
    // the strong branch must be exercised, not skipped. It takes 50-61 % of the random cases
    // (149-182 of 300 in six runs; ties at the cut are common), so the former bound at half
    // failed now and then (CI saw exactly 150 of 300); a quarter still proves it runs
    expect(strict).toBeGreaterThan(runs / 4)
  })

  it('selected has m distinct ascending indices with the m lowest scores; Krum is Multi-Krum with m = 1 and returns an input exactly', () => {
    fc.assert(fc.property(krumCase, ({ updates, f, m }) => {
      const r = multiKrum(updates, { f, m })
      expect(r.selected).toHaveLength(m)
      r.selected.forEach((s, i) => { if (i > 0) expect(s).toBeGreaterThan(r.selected[i - 1] as number) })
      const worstSelected = Math.max(...r.selected.map((i) => r.scores[i] as number))
      r.scores.forEach((s, i) => { if (!r.selected.includes(i)) expect(s).toBeGreaterThanOrEqual(worstSelected) })
      expect(Array.from(r.scores).every((s) => s >= 0)).toBe(true)
      const k = krum(updates, { f })
      expect(k.selected).toEqual(multiKrum(updates, { f, m: 1 }).selected)
      expect(Array.from(k.aggregate)).toEqual(Array.from(updates[k.selected[0] as number] as Update))
    }), { numRuns: 200 })
  })
})

describe('trimmed mean and median properties', () => {
  it('trimmedMean with β = 0 equals the mean (up to summation order)', () => {
    fc.assert(fc.property(updatesArb(1, 12), (updates) => {
      expectClose(trimmedMean(updates, { beta: 0 }).aggregate, plainMean(updates), 1e-12 * (1 + maxAbs(updates)))
    }), { numRuns: 200 })
  })

  it('trimmedMean and median are bit-identical under any permutation', () => {
    fc.assert(fc.property(withPermutation(1, 12), fc.double({ min: 0, max: 0.49, noNaN: true }), ({ updates, perm }, beta) => {
      const permuted = perm.map((i) => updates[i] as Update)
      expectBitIdentical(trimmedMean(permuted, { beta }).aggregate, trimmedMean(updates, { beta }).aggregate)
      expectBitIdentical(median(permuted).aggregate, median(updates).aggregate)
    }), { numRuns: 200 })
  })

  it('median of an odd count is the middle value exactly, and equals the maximal trimmed mean', () => {
    fc.assert(fc.property(updatesArb(1, 6).map((us) => (us.length % 2 === 0 ? us.slice(1) : us)), (updates) => {
      const med = median(updates).aggregate
      for (let k = 0; k < med.length; k++) {
        // −0 sorts before +0, as in the TypedArray order the module documents
        const negZero = (x: number) => (Object.is(x, -0) ? -1 : 0)
        const col = updates.map((u) => u[k] as number).sort((x, y) => x - y || negZero(x) - negZero(y))
        expect(med[k]).toBe(col[(col.length - 1) / 2])
      }
      // β = 0.4999 drops (n − 1)/2 per side for every odd n ≤ 5000
      expectBitIdentical(trimmedMean(updates, { beta: 0.4999 }).aggregate, med)
    }), { numRuns: 200 })
  })

  it('with at most ⌊βn⌋ arbitrary outliers, every coordinate stays within the honest range', () => {
    const outlier = fc.oneof(fc.constant(1e12), fc.constant(-1e12), fc.double({ min: -1e9, max: 1e9, noNaN: true }))
    // c outliers among honest.length + c updates, with β ≥ c / n so that ⌊βn⌋ ≥ c (c < honest.length)
    const scenario = updatesArb(2, 10).chain((honest) => {
      const d = (honest[0] as Update).length
      return fc.integer({ min: 0, max: Math.min(6, honest.length - 1) }).chain((c) => fc.tuple(
        fc.constant(honest),
        fc.double({ min: 0, max: 1, noNaN: true }).map((t) => { const lo = c / (honest.length + c); return lo + t * Math.max(0, 0.49 - lo) }),
        fc.array(fc.array(outlier, { minLength: d, maxLength: d }), { minLength: c, maxLength: c }),
        fc.nat()))
    })
    let covered = 0
    fc.assert(fc.property(scenario, ([honest, beta, outliers, at]) => {
      const n = honest.length + outliers.length
      if (outliers.length > Math.floor(beta * n)) return // c / n rounded below c, or above 0.49: not covered
      if (outliers.length > 0) covered++
      const all = [...honest]
      for (const o of outliers) all.splice(at % (all.length + 1), 0, Float64Array.from(o))
      const checks: Array<[string, Float64Array]> = [['trimmedMean', trimmedMean(all, { beta }).aggregate]]
      if (outliers.length <= Math.floor((n - 1) / 2)) checks.push(['median', median(all).aggregate])
      for (const [, agg] of checks) {
        for (let k = 0; k < agg.length; k++) {
          const col = honest.map((u) => u[k] as number)
          expect(agg[k]).toBeGreaterThanOrEqual(Math.min(...col))
          expect(agg[k]).toBeLessThanOrEqual(Math.max(...col))
        }
      }
    }), { numRuns: 300 })
    expect(covered).toBeGreaterThan(60) // runs that really carry outliers
  })
})
