/**
 * Coordinate-wise trimmed mean (Yin et al., "Byzantine-Robust Distributed
 * Learning: Towards Optimal Statistical Rates", ICML 2018) and coordinate-wise
 * median, as pure deterministic functions.
 *
 * For each coordinate the n values are sorted ascending (TypedArray order, so
 * −0 before +0: a total order on finite values). The trimmed mean drops
 * k = ⌊β·n⌋ values at each end and averages the remaining n − 2k, summing them
 * in ascending order in float64 and dividing once; the median is the middle
 * value (n odd) or the mean of the two middle values (n even). Because both
 * work on sorted values, the result is bit-identical under any permutation of
 * the input.
 *
 * Conditions enforced (AggregationError otherwise): updates as in checkUpdates;
 * β a number with 0 ≤ β < 1/2 (BAD_PARAMS). k is computed as
 * Math.floor(β · n) in float64, as scipy's trim_mean and Flower do (so β = 0.1,
 * n = 30 drops 3), capped at ⌊(n − 1)/2⌋ so at least one value always remains.
 *
 * Output: always a fresh Float64Array.
 */
import { AggregationError, checkAggregate, checkOptions, checkUpdates, type Update } from './errors.ts'

export interface AggregateResult {
  /** the aggregate, one float64 per coordinate */
  readonly aggregate: Float64Array<ArrayBuffer>
}

export interface TrimmedMeanOptions {
  /** fraction trimmed from each end, 0 ≤ beta < 0.5 */
  readonly beta: number
}

/** Coordinate-wise β-trimmed mean. β = 0 is the plain (sorted-order) mean. */
export function trimmedMean(updates: readonly Update[], options: TrimmedMeanOptions): AggregateResult {
  const o = checkOptions(options, 'trimmedMean')
  const beta = o.beta
  if (typeof beta !== 'number' || !(beta >= 0 && beta < 0.5)) {
    throw new AggregationError('BAD_PARAMS', `beta must be a number with 0 ≤ beta < 0.5, got ${String(beta)}`)
  }
  const d = checkUpdates(updates)
  const n = updates.length
  const k = Math.min(Math.floor(beta * n), Math.floor((n - 1) / 2))
  const keep = n - 2 * k
  const out = new Float64Array(d)
  const col = new Float64Array(n)
  for (let c = 0; c < d; c++) {
    gather(updates, c, col)
    let s = col[k] as number
    for (let t = k + 1; t < n - k; t++) s += col[t] as number
    out[c] = s / keep
  }
  return { aggregate: checkAggregate(out, 'trimmedMean') }
}

/** Coordinate-wise median; for even n the mean of the two middle values. */
export function median(updates: readonly Update[]): AggregateResult {
  const d = checkUpdates(updates)
  const n = updates.length
  const out = new Float64Array(d)
  const col = new Float64Array(n)
  const hi = n >> 1
  for (let c = 0; c < d; c++) {
    gather(updates, c, col)
    if (n % 2 === 1) {
      out[c] = col[hi] as number
    } else {
      const a = col[hi - 1] as number
      const b = col[hi] as number
      const s = a + b
      // a + b can overflow for values near ±1.8e308; halving first cannot
      out[c] = Number.isFinite(s) ? s / 2 : a / 2 + b / 2
    }
  }
  return { aggregate: out as Float64Array<ArrayBuffer> }
}

/** col ← sorted column c of the updates */
function gather(updates: readonly Update[], c: number, col: Float64Array): void {
  for (let i = 0; i < updates.length; i++) col[i] = (updates[i] as Update)[c] as number
  col.sort()
}
