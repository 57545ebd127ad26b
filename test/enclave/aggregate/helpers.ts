// Shared helpers for the aggregation tests: a seeded PRNG, Gaussian clusters,
// an independent transcription of Flower's aggregate_krum, and float checks.
import { expect } from 'vitest'
import { AggregationError, type AggregationErrorCode, type Update } from '../../../enclave/aggregate/index.ts'

/** mulberry32: small seeded PRNG in [0, 1), so scenarios replay exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Standard normal sample (Box–Muller). */
export function gaussian(rand: () => number): number {
  const u = 1 - rand()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
}

/** Index-order float64 mean of the given updates (the "plain mean" baseline). */
export function plainMean(updates: readonly Update[]): Float64Array {
  const d = (updates[0] as Update).length
  const out = new Float64Array(d)
  for (const u of updates) for (let k = 0; k < d; k++) out[k] = (out[k] as number) + (u[k] as number)
  for (let k = 0; k < d; k++) out[k] = (out[k] as number) / updates.length
  return out
}

export function l2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let k = 0; k < a.length; k++) s += ((a[k] as number) - (b[k] as number)) ** 2
  return Math.sqrt(s)
}

/**
 * Flower's aggregate_krum (flwr/server/strategy/aggregate.py), transcribed step
 * by step from its description, with equal example counts (so its weighted mean
 * is the unweighted mean): distance matrix of squared norms; num_closest =
 * max(1, n − f − 2); per row, argsort and sum entries [1, num_closest] (slot 0
 * is the row's own zero); then the to_keep lowest scores, averaged. Stable
 * argsort (numpy's small-array sort is stable), so ties go to lower indices.
 */
export function flowerKrum(updates: readonly Update[], f: number, toKeep: number): { selected: number[]; scores: number[]; aggregate: Float64Array } {
  const n = updates.length
  const dist = updates.map((a) => updates.map((b) => {
    let s = 0
    for (let k = 0; k < a.length; k++) s += ((a[k] as number) - (b[k] as number)) ** 2
    return Math.sqrt(s) ** 2 // np.linalg.norm(delta) ** 2
  }))
  const argsort = (xs: readonly number[]) => xs.map((_, i) => i).sort((i, j) => (xs[i] as number) - (xs[j] as number) || i - j)
  const numClosest = Math.max(1, n - f - 2)
  const scores = dist.map((row) => argsort(row).slice(1, numClosest + 1).reduce((s, j) => s + (row[j] as number), 0))
  const best = argsort(scores).slice(0, toKeep)
  return { selected: [...best].sort((a, b) => a - b), scores, aggregate: plainMean(best.map((i) => updates[i] as Update)) }
}

/** |a − b| ≤ tol · (1 + |b|) coordinate-wise. */
export function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12): void {
  expect(a.length).toBe(b.length)
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as number
    const y = b[k] as number
    if (!(Math.abs(x - y) <= tol * (1 + Math.abs(y)))) expect.fail(`coordinate ${k}: ${x} vs ${y}`)
  }
}

/** Bit-identical float64 arrays (distinguishes −0 from +0). */
export function expectBitIdentical(a: Float64Array, b: Float64Array): void {
  expect(a.length).toBe(b.length)
  expect(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).toEqual(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))
}

/** Runs fn, expecting an AggregationError with the given code. */
export function expectCode(fn: () => unknown, code: AggregationErrorCode): void {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(AggregationError)
    expect((e as AggregationError).code).toBe(code)
    return
  }
  expect.fail(`expected AggregationError ${code}, nothing was thrown`)
}

export const f64 = (...xs: number[]): Float64Array => Float64Array.from(xs)
