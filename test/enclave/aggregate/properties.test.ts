// Property tests (fast-check) of Multi-Krum and Krum: determinism, permutation
// behaviour and the relations between them.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { krum, multiKrum, type Update } from '../../../enclave/aggregate/index.ts'
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
