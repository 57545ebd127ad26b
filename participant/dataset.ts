/**
 * A labelled dataset for classification, as flat typed arrays: `x` holds n rows
 * of `features` float32 values (row-major), `y` one class index in
 * [0, classes) per row. `makeDataset` checks the shape; `subset` copies rows
 * out by index (a bank's share of a split).
 */
import { ParticipantError } from './errors.ts'

export type Labels = Uint8Array | Int32Array

export interface Dataset {
  /** n × features, row-major */
  readonly x: Float32Array
  /** n class indices in [0, classes) */
  readonly y: Labels
  readonly n: number
  readonly features: number
  readonly classes: number
}

function bad(message: string): never {
  throw new ParticipantError('BAD_DATASET', message)
}

/** Throws BAD_DATASET unless the arrays match the shape, every value is finite and every label is in range. */
export function checkDataset(ds: Dataset): Dataset {
  if (typeof ds !== 'object' || ds === null) bad('a dataset is an object { x, y, n, features, classes }')
  const { x, y, n, features, classes } = ds
  if (!Number.isSafeInteger(n) || n < 0) bad(`n must be a non-negative integer, got ${String(n)}`)
  if (!Number.isSafeInteger(features) || features < 1) bad(`features must be a positive integer, got ${String(features)}`)
  if (!Number.isSafeInteger(classes) || classes < 2) bad(`classes must be an integer ≥ 2, got ${String(classes)}`)
  if (!(x instanceof Float32Array)) bad('x must be a Float32Array')
  if (!(y instanceof Uint8Array || y instanceof Int32Array)) bad('y must be a Uint8Array or an Int32Array')
  if (x.length !== n * features) bad(`x has ${x.length} values; ${n} rows of ${features} features take ${n * features}`)
  if (y.length !== n) bad(`y has ${y.length} labels for ${n} rows`)
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) bad(`x[${i}] (row ${Math.floor(i / features)}) is ${x[i]}`)
  }
  for (let i = 0; i < n; i++) {
    const c = y[i]!
    if (!(c >= 0 && c < classes)) bad(`label ${i} is ${c}, outside [0, ${classes})`)
  }
  return ds
}

/** A checked dataset over the given arrays. */
export function makeDataset(x: Float32Array, y: Labels, features: number, classes: number): Dataset {
  return checkDataset({ x, y, n: y.length, features, classes })
}

/** The rows at `indices`, in that order, copied. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const f = ds.features
  const x = new Float32Array(indices.length * f)
  const y = ds.y instanceof Uint8Array ? new Uint8Array(indices.length) : new Int32Array(indices.length)
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r]!
    if (!(Number.isInteger(i) && i >= 0 && i < ds.n)) throw new ParticipantError('BAD_ARGUMENT', `index ${String(i)} is outside [0, ${ds.n})`)
    x.set(ds.x.subarray(i * f, (i + 1) * f), r * f)
    y[r] = ds.y[i]!
  }
  return { x, y, n: indices.length, features: f, classes: ds.classes }
}

