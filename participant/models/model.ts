/**
 * The model interface the participant trains: a classifier whose parameters
 * are one flat Float32Array of `dimension` values (the form the ledger stores
 * and the enclave aggregates).
 *
 * Per-example gradients are the hot path of DP-SGD (each is clipped on its
 * own), so a model hands out an `ExampleGradient` workspace, allocated once:
 * `compute` runs one example forward and backward into the workspace,
 * `normSquared` gives the gradient's squared L2 norm and `addTo` adds a scaled
 * copy into an accumulator, with no allocation per example. Models whose
 * per-example gradient is a sum of outer products (every dense layer is) can
 * do both without forming the dense gradient. `lossAndGradient` is the plain
 * dense form (gradient checks, custom optimisers); `denseExampleGradient`
 * builds a workspace from it for models that only have that.
 */
import type { Dataset } from '../dataset.ts'
import type { Rng } from '../random.ts'

export interface ExampleGradient {
  /** forward and backward on one example: features x[offset .. offset + features), label y; returns its loss */
  compute(params: Float32Array, x: Float32Array, offset: number, y: number): number
  /** squared L2 norm of the last computed gradient */
  normSquared(): number
  /** acc += scale · (last computed gradient) */
  addTo(acc: Float64Array, scale: number): void
}

export interface Model {
  readonly name: string
  readonly features: number
  readonly classes: number
  /** number of parameters */
  readonly dimension: number
  /** initial parameters, deterministic given rng */
  init(rng: Rng): Float32Array
  /** writes the gradient of one example's loss into `grad` (overwritten, length dimension); returns the loss */
  lossAndGradient(params: Float32Array, x: Float32Array, offset: number, y: number, grad: Float64Array): number
  /** a per-example gradient workspace (see the module comment) */
  workspace(): ExampleGradient
  /** the predicted class of x[offset .. offset + features) */
  predict(params: Float32Array, x: Float32Array, offset?: number): number
  /** fraction of examples classified correctly */
  accuracy(params: Float32Array, data: Dataset): number
  /** mean loss over the dataset */
  loss(params: Float32Array, data: Dataset): number
}

/** A workspace over a model's dense `lossAndGradient`: correct for any model, O(dimension) per example. */
export function denseExampleGradient(model: Pick<Model, 'dimension' | 'lossAndGradient'>): ExampleGradient {
  const grad = new Float64Array(model.dimension)
  return {
    compute: (params, x, offset, y) => model.lossAndGradient(params, x, offset, y, grad),
    normSquared(): number {
      let s = 0
      for (let k = 0; k < grad.length; k++) s += grad[k]! * grad[k]!
      return s
    },
    addTo(acc, scale): void {
      for (let k = 0; k < grad.length; k++) acc[k] = acc[k]! + scale * grad[k]!
    },
  }
}
