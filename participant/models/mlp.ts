/**
 * A small multilayer perceptron: one hidden ReLU layer, softmax cross-entropy.
 * Parameters, flat: W1 (features × hidden, row j = feature j), b1 (hidden),
 * W2 (hidden × classes), b2 (classes).
 * dimension = features·hidden + hidden + hidden·classes + classes.
 *
 * Each layer's per-example gradient is an outer product (input ⊗ backpropagated
 * error), so the squared norm is (‖x‖² + 1)·‖δ1‖² + (‖h‖² + 1)·‖δ2‖² and the
 * scaled add runs over nonzero inputs and active units only. Initialisation:
 * He-normal W1 (std √(2/features)), W2 with std √(1/hidden), zero biases.
 */
import { checkInteger } from '../errors.ts'
import { gaussianFrom, type Rng } from '../random.ts'
import type { ExampleGradient, Model } from './model.ts'
import { SoftmaxClassifier, SparseRow, softmaxCrossEntropy, type Forward } from './softmax.ts'

interface Shape {
  readonly features: number
  readonly hidden: number
  readonly classes: number
  readonly b1: number
  readonly w2: number
  readonly b2: number
}

class MlpWorkspace implements ExampleGradient, Forward {
  readonly logits: Float64Array
  private readonly s: Shape
  private readonly row: SparseRow
  private readonly z1: Float64Array
  private readonly a: Float64Array
  private readonly d1: Float64Array
  private readonly d2: Float64Array
  private aNorm2 = 0

  constructor(s: Shape) {
    this.s = s
    this.row = new SparseRow(s.features)
    this.z1 = new Float64Array(s.hidden)
    this.a = new Float64Array(s.hidden)
    this.d1 = new Float64Array(s.hidden)
    this.logits = new Float64Array(s.classes)
    this.d2 = new Float64Array(s.classes)
  }

  forward(params: Float32Array, x: Float32Array, offset: number): void {
    const { hidden: H, classes: K, b1, w2, b2 } = this.s
    const { z1, a, logits } = this
    const { index, value } = this.row
    this.row.gather(x, offset)
    for (let h = 0; h < H; h++) z1[h] = params[b1 + h]!
    for (let t = 0; t < this.row.count; t++) {
      const base = index[t]! * H
      const v = value[t]!
      for (let h = 0; h < H; h++) z1[h] = z1[h]! + v * params[base + h]!
    }
    let n2 = 0
    for (let k = 0; k < K; k++) logits[k] = params[b2 + k]!
    for (let h = 0; h < H; h++) {
      const act = z1[h]! > 0 ? z1[h]! : 0
      a[h] = act
      if (act === 0) continue
      n2 += act * act
      const base = w2 + h * K
      for (let k = 0; k < K; k++) logits[k] = logits[k]! + act * params[base + k]!
    }
    this.aNorm2 = n2
  }

  compute(params: Float32Array, x: Float32Array, offset: number, y: number): number {
    this.forward(params, x, offset)
    const { hidden: H, classes: K, w2 } = this.s
    const loss = softmaxCrossEntropy(this.logits, y, this.d2)
    const { a, d1, d2 } = this
    for (let h = 0; h < H; h++) {
      if (a[h] === 0) {
        d1[h] = 0
        continue
      }
      const base = w2 + h * K
      let s = 0
      for (let k = 0; k < K; k++) s += params[base + k]! * d2[k]!
      d1[h] = s
    }
    return loss
  }

  normSquared(): number {
    let n1 = 0
    for (let h = 0; h < this.s.hidden; h++) n1 += this.d1[h]! * this.d1[h]!
    let n2 = 0
    for (let k = 0; k < this.s.classes; k++) n2 += this.d2[k]! * this.d2[k]!
    return (this.row.norm2 + 1) * n1 + (this.aNorm2 + 1) * n2
  }

  addTo(acc: Float64Array, scale: number): void {
    const { hidden: H, classes: K, b1, w2, b2 } = this.s
    const { a, d1, d2 } = this
    const { index, value } = this.row
    for (let t = 0; t < this.row.count; t++) {
      const base = index[t]! * H
      const v = scale * value[t]!
      for (let h = 0; h < H; h++) acc[base + h] = acc[base + h]! + v * d1[h]!
    }
    for (let h = 0; h < H; h++) acc[b1 + h] = acc[b1 + h]! + scale * d1[h]!
    for (let h = 0; h < H; h++) {
      if (a[h] === 0) continue
      const base = w2 + h * K
      const v = scale * a[h]!
      for (let k = 0; k < K; k++) acc[base + k] = acc[base + k]! + v * d2[k]!
    }
    for (let k = 0; k < K; k++) acc[b2 + k] = acc[b2 + k]! + scale * d2[k]!
  }
}

class Mlp extends SoftmaxClassifier {
  readonly name: string
  readonly features: number
  readonly classes: number
  readonly hidden: number
  readonly dimension: number
  private readonly shape: Shape
  protected readonly scratch: MlpWorkspace
  protected readonly lossScratch: Float64Array

  constructor(features: number, hidden: number, classes: number) {
    super()
    this.features = checkInteger(features, 'features', 1, 1 << 24)
    this.hidden = checkInteger(hidden, 'hidden', 1, 1 << 16)
    this.classes = checkInteger(classes, 'classes', 2, 1 << 16)
    const b1 = features * hidden
    const w2 = b1 + hidden
    const b2 = w2 + hidden * classes
    this.shape = { features, hidden, classes, b1, w2, b2 }
    this.dimension = b2 + classes
    this.name = `mlp(${features}→${hidden}→${classes})`
    this.scratch = new MlpWorkspace(this.shape)
    this.lossScratch = new Float64Array(classes)
  }

  init(rng: Rng): Float32Array {
    const g = gaussianFrom(rng)
    const p = new Float32Array(this.dimension)
    const { b1, w2, b2 } = this.shape
    const s1 = Math.sqrt(2 / this.features)
    for (let i = 0; i < b1; i++) p[i] = s1 * g.normal()
    const s2 = Math.sqrt(1 / this.hidden)
    for (let i = w2; i < b2; i++) p[i] = s2 * g.normal()
    return p
  }

  workspace(): ExampleGradient {
    return new MlpWorkspace(this.shape)
  }

}

/** An MLP with one hidden ReLU layer of `hidden` units. */
export function mlp(features: number, hidden: number, classes: number): Model {
  return new Mlp(features, hidden, classes)
}
