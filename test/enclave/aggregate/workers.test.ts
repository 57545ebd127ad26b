// DistanceWorkers: the threaded kernel equals the single-thread reference bit
// for bit for 1–3 threads; row splitting; lifecycle, abort and bad input.
import { afterEach, describe, expect, it } from 'vitest'
import { pairwiseSquaredDistances, type Update } from '../../../enclave/aggregate/index.ts'
import { DistanceWorkers, splitRows } from '../../../enclave/aggregate/distanceWorkers.ts'
import { expectBitIdentical, f64, gaussian, prng } from './helpers.ts'

function randomUpdates(rand: () => number, n: number, d: number, mixed: boolean): Update[] {
  return Array.from({ length: n }, (_, i) => {
    const v = Array.from({ length: d }, () => gaussian(rand) * 0.01 * (1 + (i % 4)))
    return mixed && i % 3 === 1 ? Float64Array.from(v) : Float32Array.from(v)
  })
}

describe('splitRows', () => {
  it('cuts 0..n−1 into contiguous ranges with about equal pair counts', () => {
    for (const [n, parts] of [[2, 2], [3, 4], [10, 2], [100, 2], [1000, 3], [57, 5]] as const) {
      const ranges = splitRows(n, parts)
      expect(ranges[0]?.[0]).toBe(0)
      expect(ranges.at(-1)?.[1]).toBe(n)
      ranges.forEach(([lo, hi], t) => { expect(hi).toBeGreaterThan(lo); if (t > 0) expect(lo).toBe(ranges[t - 1]?.[1]) })
      if (n >= 100) {
        const pairs = ranges.map(([lo, hi]) => { let p = 0; for (let i = lo; i < hi; i++) p += n - 1 - i; return p })
        const ideal = (n * (n - 1)) / 2 / parts
        for (const p of pairs) expect(Math.abs(p - ideal)).toBeLessThanOrEqual(n)
      }
    }
  })
})

describe('DistanceWorkers', () => {
  let pool: DistanceWorkers | undefined
  afterEach(async () => { await pool?.stop(); pool = undefined })

  for (const threads of [1, 2, 3]) {
    it(`${threads} thread(s): bit-identical to pairwiseSquaredDistances, odd lengths, float32 and mixed input`, async () => {
      pool = new DistanceWorkers({ threads })
      await pool.start()
      const rand = prng(threads * 101)
      for (const [n, d, mixed] of [[2, 1, false], [7, 3, true], [19, 1025, false], [40, 777, true]] as const) {
        const xs = randomUpdates(rand, n, d, mixed)
        const got = await pool.pairwiseSquaredDistances(xs)
        expect(got.some((x) => x > 0)).toBe(true)
        expectBitIdentical(got, pairwiseSquaredDistances(xs, 'js'))
      }
    })
  }

  it('runs concurrent calls one after another, each with its own result', async () => {
    pool = new DistanceWorkers({ threads: 2 })
    await pool.start()
    const rand = prng(5)
    const sets = [randomUpdates(rand, 12, 301, false), randomUpdates(rand, 9, 64, true), randomUpdates(rand, 15, 5, false)]
    const results = await Promise.all(sets.map((xs) => pool!.pairwiseSquaredDistances(xs)))
    results.forEach((r, i) => expectBitIdentical(r, pairwiseSquaredDistances(sets[i] as Update[])))
  })

  it('rejects bad input with a code, refuses calls before start, honours an aborted signal', async () => {
    const p = new DistanceWorkers({ threads: 1 })
    await expect(p.pairwiseSquaredDistances([f64(1), f64(2)])).rejects.toThrow(/not started/)
    pool = p
    await p.start()
    await expect(p.pairwiseSquaredDistances([f64(1), f64(1, 2)])).rejects.toMatchObject({ code: 'LENGTH_MISMATCH' })
    await expect(p.pairwiseSquaredDistances([])).rejects.toMatchObject({ code: 'EMPTY' })
    await expect(p.pairwiseSquaredDistances([f64(1), f64(NaN)])).rejects.toMatchObject({ code: 'NOT_FINITE' })
    const reason = new Error('round cancelled')
    await expect(p.pairwiseSquaredDistances([f64(1), f64(2)], { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    // aborting a running call rejects it at once; the pool stays usable
    const xs = randomUpdates(prng(9), 60, 20_000, false)
    const controller = new AbortController()
    const running = p.pairwiseSquaredDistances(xs, { signal: controller.signal })
    controller.abort(reason)
    await expect(running).rejects.toBe(reason)
    const small = randomUpdates(prng(10), 4, 9, true)
    expectBitIdentical(await p.pairwiseSquaredDistances(small), pairwiseSquaredDistances(small))
  })

  it('rejects a bad thread count', () => {
    expect(() => new DistanceWorkers({ threads: 0 })).toThrow(RangeError)
    expect(() => new DistanceWorkers({ threads: 1.5 })).toThrow(RangeError)
  })
})
