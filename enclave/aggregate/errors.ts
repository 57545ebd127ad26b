/**
 * Typed, coded errors for robust aggregation, and the input checks that raise
 * them. Every bad input (empty set, ragged lengths, NaN/±Infinity, parameters
 * out of range, an aggregate that overflows float64) becomes an
 * `AggregationError` with a stable `code`; nothing untyped is thrown for bad input.
 */
import { CodedError } from '../../primitives/index.ts'

export const AggregationErrorCode = {
  /** no updates, or updates with zero coordinates */
  EMPTY: 'EMPTY',
  /** an element is not a Float32Array / Float64Array, or `updates` is not an array */
  BAD_INPUT: 'BAD_INPUT',
  /** updates of different lengths */
  LENGTH_MISMATCH: 'LENGTH_MISMATCH',
  /** an update holds NaN or ±Infinity */
  NOT_FINITE: 'NOT_FINITE',
  /** f, m or beta missing, not of the right kind, or out of range */
  BAD_PARAMS: 'BAD_PARAMS',
  /** too few updates for the requested Byzantine bound (Multi-Krum needs n > 2f + 2) */
  TOO_FEW: 'TOO_FEW',
  /** finite inputs whose aggregate overflows float64 (never returned as ±Infinity) */
  OVERFLOW: 'OVERFLOW',
} as const

export type AggregationErrorCode = (typeof AggregationErrorCode)[keyof typeof AggregationErrorCode]

export class AggregationError extends CodedError<AggregationErrorCode> {}

export function isAggregationError(e: unknown): e is AggregationError {
  return e instanceof AggregationError
}

/** One client's update: a flat parameter (or gradient) vector. */
export type Update = Float32Array | Float64Array

/**
 * Checks that `updates` is a non-empty array of Float32Array/Float64Array of one
 * common, non-zero length holding only finite values. Returns that length.
 */
export function checkUpdates(updates: readonly Update[]): number {
  if (!Array.isArray(updates)) throw new AggregationError('BAD_INPUT', 'updates must be an array of Float32Array or Float64Array')
  const n = updates.length
  if (n === 0) throw new AggregationError('EMPTY', 'no updates to aggregate')
  let d = -1
  for (let i = 0; i < n; i++) {
    const u: unknown = updates[i]
    if (!(u instanceof Float32Array) && !(u instanceof Float64Array)) {
      throw new AggregationError('BAD_INPUT', `update ${i} is not a Float32Array or Float64Array`)
    }
    if (d === -1) {
      d = u.length
      if (d === 0) throw new AggregationError('EMPTY', 'updates have no coordinates')
    } else if (u.length !== d) {
      throw new AggregationError('LENGTH_MISMATCH', `update ${i} has ${u.length} coordinates, update 0 has ${d}`)
    }
    for (let k = 0; k < d; k++) {
      if (!Number.isFinite(u[k] as number)) throw new AggregationError('NOT_FINITE', `update ${i} coordinate ${k} is ${u[k]}`)
    }
  }
  return d
}

/** Checks that `options` is an object; returns it for property reads. */
export function checkOptions(options: unknown, fn: string): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) throw new AggregationError('BAD_PARAMS', `${fn} needs an options object`)
  return options as Record<string, unknown>
}

/** Checks that `v` is a safe integer in [min, max] (inclusive). */
export function checkInteger(v: unknown, name: string, min: number, max: number, why: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new AggregationError('BAD_PARAMS', `${name} must be an integer, got ${String(v)}`)
  if (v < min || v > max) throw new AggregationError('BAD_PARAMS', `${name} = ${v} is out of range ${min}..${max} (${why})`)
  return v
}

/** Throws OVERFLOW if any coordinate of a computed aggregate is not finite. */
export function checkAggregate(out: Float64Array, fn: string): Float64Array<ArrayBuffer> {
  for (let k = 0; k < out.length; k++) {
    if (!Number.isFinite(out[k] as number)) throw new AggregationError('OVERFLOW', `${fn}: coordinate ${k} of the aggregate overflows float64`)
  }
  return out as Float64Array<ArrayBuffer>
}
