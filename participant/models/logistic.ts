/**
 * Multinomial logistic regression: logits = Wᵀx + b, softmax cross-entropy.
 * Parameters, flat: W as features × classes (row j holds feature j's weight
 * for every class), then b (classes). dimension = (features + 1) · classes.
 *
 * One example's gradient is the outer product [x; 1] ⊗ (p − e_y), so its
 * squared norm is (‖x‖² + 1)·‖p − e_y‖² and adding it touches only the rows
 * of nonzero features: per-example clipping costs O(nnz(x) · classes).
 */
import { checkInteger } from '../errors.ts'
import type { Rng } from '../random.ts'
import type { ExampleGradient, Model } from './model.ts'
import { SoftmaxClassifier, SparseRow, softmaxCrossEntropy, type Forward } from './softmax.ts'

class LogisticWorkspace implements ExampleGradient, Forward {
  readonly logits: Float64Array
  private readonly delta: Float64Array
  private readonly row: SparseRow
  private readonly features: number
  private readonly classes: number
  constructor(features: number, classes: number) {
    this.features = features
    this.classes = classes
    this.row = new SparseRow(features)
    this.logits = new Float64Array(classes)
    this.delta = new Float64Array(classes)
  }

  forward(params: Float32Array, x: Float32Array, offset: number): void {
    const K = this.classes
    const row = this.row
    row.gather(x, offset)
    const index = row.index
    const value = row.value
    const count = row.count
    const logits = this.logits
    const bias = this.features * K
    for (let k = 0; k < K; k++) logits[k] = params[bias + k]!
    for (let t = 0; t < count; t++) {
      const base = index[t]! * K
      const v = value[t]!
      for (let k = 0; k < K; k++) logits[k] = logits[k]! + v * params[base + k]!
    }
  }

  compute(params: Float32Array, x: Float32Array, offset: number, y: number): number {
    this.forward(params, x, offset)
    return softmaxCrossEntropy(this.logits, y, this.delta)
  }

  normSquared(): number {
    let d2 = 0
    for (let k = 0; k < this.classes; k++) d2 += this.delta[k]! * this.delta[k]!
    return (this.row.norm2 + 1) * d2
  }

  addTo(acc: Float64Array, scale: number): void {
    const K = this.classes
    const row = this.row
    const index = row.index
    const value = row.value
    const count = row.count
    const delta = this.delta
    for (let t = 0; t < count; t++) {
      const base = index[t]! * K
      const v = scale * value[t]!
      for (let k = 0; k < K; k++) acc[base + k] = acc[base + k]! + v * delta[k]!
    }
    const bias = this.features * K
    for (let k = 0; k < K; k++) acc[bias + k] = acc[bias + k]! + scale * delta[k]!
  }
}

class LogisticRegression extends SoftmaxClassifier {
  readonly name: string
  readonly features: number
  readonly classes: number
  readonly dimension: number
  protected readonly scratch: LogisticWorkspace
  protected readonly lossScratch: Float64Array

  constructor(features: number, classes: number) {
    super()
    this.features = checkInteger(features, 'features', 1, 1 << 24)
    this.classes = checkInteger(classes, 'classes', 2, 1 << 16)
    this.dimension = (features + 1) * classes
    this.name = `logistic-regression(${features}→${classes})`
    this.scratch = new LogisticWorkspace(features, classes)
    this.lossScratch = new Float64Array(classes)
  }

  /** Zeros: the loss is convex, and zero is the usual start (rng unused, kept for the interface). */
  init(_rng: Rng): Float32Array {
    return new Float32Array(this.dimension)
  }

  workspace(): ExampleGradient {
    return new LogisticWorkspace(this.features, this.classes)
  }

}

/** Multinomial logistic regression over `features` inputs and `classes` classes. */
export function logisticRegression(features: number, classes: number): Model {
  return new LogisticRegression(features, classes)
}
