// Krum / Multi-Krum: scores derived by hand from the paper's definition,
// agreement with Flower's aggregate_krum, planted Byzantine updates, overflow.
import { describe, expect, it } from 'vitest'
import { krum, multiKrum, pairwiseSquaredDistances, type Update } from '../../../enclave/aggregate/index.ts'
import { expectClose, f64, flowerKrum, gaussian, l2, plainMean, prng } from './helpers.ts'

describe('Multi-Krum, hand-derived vectors (n = 5, d = 2, f = 1: each score sums the n − f − 2 = 2 nearest)', () => {
  // x0 = (0,0), x1 = (1,0), x2 = (0,2), x3 = (3,3), x4 = (−6,8)
  // squared distances: d01 = 1, d02 = 4, d03 = 18, d04 = 100, d12 = 5, d13 = 13,
  //                    d14 = 113, d23 = 10, d24 = 72, d34 = 106
  // scores: s0 = 1+4 = 5, s1 = 1+5 = 6, s2 = 4+5 = 9, s3 = 10+13 = 23, s4 = 72+100 = 172
  const xs = [f64(0, 0), f64(1, 0), f64(0, 2), f64(3, 3), f64(-6, 8)]

  it('computes the scores of the definition', () => {
    expect(Array.from(multiKrum(xs, { f: 1, m: 1 }).scores)).toEqual([5, 6, 9, 23, 172])
  })

  it('selects the m lowest scores and returns their unweighted mean', () => {
    const r3 = multiKrum(xs, { f: 1, m: 3 })
    expect(r3.selected).toEqual([0, 1, 2])
    expect(Array.from(r3.aggregate)).toEqual([1 / 3, 2 / 3])
    const r4 = multiKrum(xs, { f: 1, m: 4 }) // m = n − f
    expect(r4.selected).toEqual([0, 1, 2, 3])
    expect(Array.from(r4.aggregate)).toEqual([1, 1.25])
  })

  it('Krum returns the lowest-scoring update itself', () => {
    const r = krum(xs, { f: 1 })
    expect(r.selected).toEqual([0])
    expect(Array.from(r.aggregate)).toEqual([0, 0])
    // reordered so the best update is last: still found, values returned exactly
    const r2 = krum([xs[4], xs[3], xs[2], xs[1], Float32Array.of(0.1, -0.1)] as Update[], { f: 1 })
    expect(r2.selected).toEqual([4])
    expect(r2.aggregate).toBeInstanceOf(Float64Array)
    expect(Array.from(r2.aggregate)).toEqual([Math.fround(0.1), Math.fround(-0.1)])
  })

  it('breaks score ties by the lower index', () => {
    // unit square plus an outlier: (0,0), (1,0), (0,1), (1,1), (10,10); the four corners all score 1+1 = 2
    const sq = [f64(10, 10), f64(0, 0), f64(1, 0), f64(0, 1), f64(1, 1)]
    const r = multiKrum(sq, { f: 1, m: 2 })
    expect(Array.from(r.scores)).toEqual([162 + 181, 2, 2, 2, 2])
    expect(r.selected).toEqual([1, 2])
    expect(krum(sq, { f: 1 }).selected).toEqual([1])
  })
})

describe('Multi-Krum agrees with Flower\'s aggregate_krum (equal example counts)', () => {
  it('on seeded random sets: same scores, same selection, same mean', () => {
    const rand = prng(2017)
    for (let trial = 0; trial < 40; trial++) {
      const n = 3 + Math.floor(rand() * 12)
      const d = 1 + Math.floor(rand() * 20)
      const f = Math.floor(rand() * Math.floor((n - 1) / 2)) // 2f + 2 < n
      const m = 1 + Math.floor(rand() * (n - f))
      const xs = Array.from({ length: n }, () => Float64Array.from({ length: d }, () => gaussian(rand) * 3))
      const ours = multiKrum(xs, { f, m })
      const ref = flowerKrum(xs, f, m)
      expectClose(ours.scores, ref.scores)
      expect(ours.selected).toEqual(ref.selected)
      expectClose(ours.aggregate, ref.aggregate)
    }
  })
})

describe('planted Byzantine updates', () => {
  const d = 100
  const honestCount = 10
  const f = 3
  const byzantineAt = [0, 6, 12] // interleaved with the honest updates
  const attacks: Record<string, (center: Float64Array, rand: () => number) => Float64Array[]> = {
    'large random vectors': (c, rand) => Array.from({ length: f }, () => c.map((x) => x + 50 * gaussian(rand))),
    'colluding identical vectors': (c) => { const v = c.map((x, k) => x + (k % 2 === 0 ? 1.5 : -1.5)); return [v, v.slice(), v.slice()] },
    'sign flip, scaled': (c) => Array.from({ length: f }, () => c.map((x) => -10 * x)),
  }

  for (const [name, attack] of Object.entries(attacks)) {
    it(`Multi-Krum and Krum never select them (${name}); the plain mean is dragged away`, () => {
      const rand = prng(name.length * 31 + 5)
      const center = Float64Array.from({ length: d }, () => 0.5 + rand())
      const honest = Array.from({ length: honestCount }, () => Float32Array.from(center, (x) => x + 0.1 * gaussian(rand)))
      const bad = attack(center, rand)
      const all: Update[] = []
      for (let i = 0, h = 0, b = 0; i < honestCount + f; i++) all.push(byzantineAt.includes(i) ? bad[b++] as Float64Array : honest[h++] as Float32Array)
      const honestIdx = all.map((_, i) => i).filter((i) => !byzantineAt.includes(i))

      const r = multiKrum(all, { f, m: all.length - f })
      expect(r.selected).toEqual(honestIdx)
      const honestMean = plainMean(honest)
      expect(l2(r.aggregate, honestMean)).toBeLessThan(1e-9)
      expect(l2(plainMean(all), honestMean)).toBeGreaterThan(2)
      for (const i of byzantineAt) for (const j of honestIdx) expect(r.scores[i]).toBeGreaterThan(r.scores[j] as number)

      const k = krum(all, { f })
      expect(honestIdx).toContain(k.selected[0])
      expect(l2(k.aggregate, honestMean)).toBeLessThan(0.1 * Math.sqrt(d))
    })
  }

  it('an attacker whose distances overflow float64 scores +Infinity and is excluded', () => {
    const xs = [f64(1, 2), f64(1.1, 2), f64(1e300, -1e300), f64(0.9, 2.1), f64(1, 1.9)]
    const r = multiKrum(xs, { f: 1, m: 4 })
    expect(r.scores[2]).toBe(Infinity)
    expect(r.selected).toEqual([0, 1, 3, 4])
    expectClose(r.aggregate, [1, 2])
  })
})

describe('multiKrum with precomputed distances', () => {
  it('selects as it would from its own distances, and refuses a matrix of the wrong size', () => {
    const updates = Array.from({ length: 7 }, (_, i) => Float64Array.from({ length: 5 }, (_, k) => Math.sin(i * 3 + k) * (i === 6 ? 40 : 1)))
    const own = multiKrum(updates, { f: 2, m: 3 })
    const given = multiKrum(updates, { f: 2, m: 3, distances: pairwiseSquaredDistances(updates) })
    expect(given.selected).toEqual(own.selected)
    expect(given.scores).toEqual(own.scores)
    expect(given.selected).not.toContain(6)
    expect(() => multiKrum(updates, { f: 2, m: 3, distances: new Float64Array(48) })).toThrow(expect.objectContaining({ code: 'BAD_PARAMS' }))
    // and the scores really come from the matrix given
    const skewed = pairwiseSquaredDistances(updates)
    for (let j = 0; j < 7; j++) if (j !== 0) skewed[j] = skewed[j * 7] = 1e9
    expect(multiKrum(updates, { f: 2, m: 3, distances: skewed }).selected).not.toContain(0)
  })
})
