/**
 * Krum and Multi-Krum (Blanchard et al., "Machine Learning with Adversaries:
 * Byzantine Tolerant Gradient Descent", NeurIPS 2017), as pure deterministic
 * functions.
 *
 * Definition. For n updates of which at most f are Byzantine, the score of
 * update i is the sum of its squared distances to the n − f − 2 updates
 * closest to it (itself excluded). Krum returns the update with the lowest
 * score; Multi-Krum selects the m updates with the lowest scores and returns
 * their unweighted mean. Flower's `aggregate_krum` computes the same scores;
 * it weights the mean by example counts and clamps n − f − 2 to at least 1
 * where we refuse instead.
 *
 * Conditions enforced (AggregationError otherwise):
 * - f is an integer ≥ 0 (BAD_PARAMS);
 * - n > 2f + 2, i.e. n ≥ 2f + 3, the paper's resilience condition, which also
 *   makes n − f − 2 ≥ f + 1 ≥ 1 (TOO_FEW);
 * - m is an integer with 1 ≤ m ≤ n − f (BAD_PARAMS): at most as many as are
 *   guaranteed honest;
 * - updates as in checkUpdates (EMPTY, BAD_INPUT, LENGTH_MISMATCH, NOT_FINITE).
 *
 * Determinism. Distances: see distances.ts. Each score sums its n − f − 2
 * smallest distances in ascending order of value, so scores are bit-identical
 * under any permutation of the input. Ranking is by (score, index): ties go to
 * the lower index. The mean adds the selected updates in ascending index order
 * in float64 and divides once by m.
 *
 * Output. `aggregate` is always a fresh Float64Array (float64 accumulation;
 * a Float32 caller narrows explicitly); for Krum (m = 1) it is the selected
 * update's values exactly. `selected` is ascending; `scores[i]` is update i's score.
 */
import { AggregationError, checkAggregate, checkInteger, checkOptions, checkUpdates, type Update } from './errors.ts'
import { squaredDistanceMatrix } from './distances.ts'

export interface MultiKrumOptions {
  /** assumed upper bound on Byzantine updates */
  readonly f: number
  /** how many updates to select and average */
  readonly m: number
  /**
   * the n×n squared distances, already computed bit for bit as
   * pairwiseSquaredDistances does (DistanceWorkers on threads); absent: computed here
   */
  readonly distances?: Float64Array
}

export interface KrumOptions {
  readonly f: number
}

export interface AggregateResult {
  /** the aggregate, one float64 per coordinate */
  readonly aggregate: Float64Array<ArrayBuffer>
}

export interface MultiKrumResult extends AggregateResult {
  /** indices of the selected updates, ascending */
  readonly selected: readonly number[]
  /** scores[i]: sum of update i's n − f − 2 smallest squared distances to the others */
  readonly scores: Float64Array<ArrayBuffer>
}

/** Multi-Krum: the unweighted mean of the m updates with the lowest Krum scores. */
export function multiKrum(updates: readonly Update[], options: MultiKrumOptions): MultiKrumResult {
  const o = checkOptions(options, 'multiKrum')
  const d = checkUpdates(updates)
  const n = updates.length
  const f = checkF(o.f, n)
  const m = checkInteger(o.m, 'm', 1, n - f, `Multi-Krum selects 1..n − f updates; n = ${n}, f = ${f}`)
  const given = options.distances
  if (given !== undefined && (!(given instanceof Float64Array) || given.length !== n * n)) {
    throw new AggregationError('BAD_PARAMS', `distances must be a Float64Array of n × n = ${n * n} entries`)
  }
  return run(updates, d, f, m, given)
}

/** Krum: the single update with the lowest score (Multi-Krum with m = 1). */
export function krum(updates: readonly Update[], options: KrumOptions): MultiKrumResult {
  const o = checkOptions(options, 'krum')
  const d = checkUpdates(updates)
  return run(updates, d, checkF(o.f, updates.length), 1)
}

function checkF(v: unknown, n: number): number {
  const f = checkInteger(v, 'f', 0, Number.MAX_SAFE_INTEGER, 'a count of Byzantine updates')
  if (n <= 2 * f + 2) {
    throw new AggregationError('TOO_FEW', `Krum with f = ${f} needs more than 2f + 2 = ${2 * f + 2} updates, got ${n}`)
  }
  return f
}

function run(updates: readonly Update[], d: number, f: number, m: number, distances?: Float64Array): MultiKrumResult {
  const n = updates.length
  const scores = krumScores(distances ?? squaredDistanceMatrix(updates, d), n, n - f - 2)
  const selected = lowestScores(scores, m)
  return { selected, scores, aggregate: checkAggregate(meanOf(updates, selected, d), 'multiKrum') }
}

/** For each row i of the n×n matrix, the sum of its k smallest off-diagonal entries, in ascending order. */
function krumScores(dist: Float64Array, n: number, k: number): Float64Array<ArrayBuffer> {
  const scores = new Float64Array(n)
  const row = new Float64Array(n - 1)
  for (let i = 0; i < n; i++) {
    let c = 0
    for (let j = 0; j < n; j++) if (j !== i) row[c++] = dist[i * n + j] as number
    row.sort() // TypedArray sort: numeric ascending
    let s = 0
    for (let t = 0; t < k; t++) s += row[t] as number
    scores[i] = s
  }
  return scores
}

/** Indices of the m lowest scores, ties broken by lower index, returned ascending. */
function lowestScores(scores: Float64Array, m: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i)
  order.sort((a, b) => {
    const sa = scores[a] as number
    const sb = scores[b] as number
    return sa < sb ? -1 : sa > sb ? 1 : a - b
  })
  return order.slice(0, m).sort((a, b) => a - b)
}

/** Mean of updates[idx] for idx in `selected` (ascending), summed in that order in float64. */
function meanOf(updates: readonly Update[], selected: readonly number[], d: number): Float64Array {
  const out = new Float64Array(d)
  out.set(updates[selected[0] as number] as Update)
  for (let t = 1; t < selected.length; t++) {
    const u = updates[selected[t] as number] as Update
    for (let k = 0; k < d; k++) out[k] = (out[k] as number) + (u[k] as number)
  }
  const m = selected.length
  if (m > 1) for (let k = 0; k < d; k++) out[k] = (out[k] as number) / m
  return out
}
