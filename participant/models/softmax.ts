/**
 * Shared pieces of the softmax classifiers: softmax cross-entropy with its
 * gradient with respect to the logits, the nonzero gather of an input row
 * (MNIST rows are ~80 % zeros, so dense layers run over the nonzeros only),
 * and the dataset-level loops (accuracy, mean loss) over a forward pass.
 */
import type { Dataset } from '../dataset.ts'
import { ParticipantError } from '../errors.ts'
import type { Rng } from '../random.ts'
import type { ExampleGradient, Model } from './model.ts'

/**
 * Cross-entropy of softmax(logits) against class y; writes p − e_y into `delta`.
 * Stable for any finite logits (max subtracted before exp).
 */
export function softmaxCrossEntropy(logits: Float64Array, y: number, delta: Float64Array): number {
  const k = logits.length
  if (!(y >= 0 && y < k && Number.isInteger(y))) throw new ParticipantError('BAD_ARGUMENT', `label ${y} is not a class in [0, ${k})`)
  let max = -Infinity
  for (let c = 0; c < k; c++) if (logits[c]! > max) max = logits[c]!
  let sum = 0
  for (let c = 0; c < k; c++) {
    const e = Math.exp(logits[c]! - max)
    delta[c] = e
    sum += e
  }
  for (let c = 0; c < k; c++) delta[c] = delta[c]! / sum
  delta[y] = delta[y]! - 1
  return Math.log(sum) + max - logits[y]!
}

export function argmax(v: Float64Array): number {
  let best = 0
  for (let c = 1; c < v.length; c++) if (v[c]! > v[best]!) best = c
  return best
}

/** The nonzero entries of one input row, gathered into reusable buffers. */
export class SparseRow {
  readonly index: Int32Array
  readonly value: Float64Array
  count = 0
  /** squared L2 norm of the row */
  norm2 = 0
  constructor(features: number) {
    this.index = new Int32Array(features)
    this.value = new Float64Array(features)
  }

  gather(x: Float32Array, offset: number): void {
    const index = this.index
    const value = this.value
    const f = index.length
    if (!(offset >= 0 && offset + f <= x.length)) throw new ParticipantError('BAD_ARGUMENT', `row at offset ${offset} needs ${f} features; x has ${x.length} values`)
    let c = 0
    let n2 = 0
    for (let j = 0; j < f; j++) {
      const v = x[offset + j]!
      if (v !== 0) {
        index[c] = j
        value[c] = v
        c++
        n2 += v * v
      }
    }
    this.count = c
    this.norm2 = n2
  }
}

/** A forward pass that leaves the logits in `logits`. */
export interface Forward {
  readonly logits: Float64Array
  forward(params: Float32Array, x: Float32Array, offset: number): void
}

export function checkParams(params: Float32Array, dimension: number, name: string): void {
  if (!(params instanceof Float32Array) || params.length !== dimension) {
    throw new ParticipantError('WRONG_LENGTH', `${name} has ${dimension} parameters; got ${params instanceof Float32Array ? `${params.length} values` : 'not a Float32Array'}`)
  }
}

export function checkFeatures(data: Dataset, features: number, classes: number, name: string): void {
  if (data.features !== features) throw new ParticipantError('BAD_DATASET', `${name} takes ${features} features; the dataset has ${data.features}`)
  if (data.classes > classes) throw new ParticipantError('BAD_DATASET', `${name} has ${classes} classes; the dataset has ${data.classes}`)
}

export function datasetAccuracy(fw: Forward, params: Float32Array, data: Dataset): number {
  if (data.n === 0) return 0
  let correct = 0
  for (let i = 0; i < data.n; i++) {
    fw.forward(params, data.x, i * data.features)
    if (argmax(fw.logits) === data.y[i]) correct++
  }
  return correct / data.n
}

export function datasetLoss(fw: Forward, params: Float32Array, data: Dataset, scratch: Float64Array): number {
  if (data.n === 0) return 0
  let total = 0
  for (let i = 0; i < data.n; i++) {
    fw.forward(params, data.x, i * data.features)
    total += softmaxCrossEntropy(fw.logits, data.y[i]!, scratch)
  }
  return total / data.n
}

/**
 * What every softmax classifier here shares: the dense gradient, prediction,
 * accuracy and loss, all over the subclass's own per-example workspace.
 */
export abstract class SoftmaxClassifier implements Model {
  abstract readonly name: string
  abstract readonly features: number
  abstract readonly classes: number
  abstract readonly dimension: number
  /** a workspace kept for the single-example calls below */
  protected abstract readonly scratch: ExampleGradient & Forward & { compute(params: Float32Array, x: Float32Array, offset: number, y: number): number }
  protected abstract readonly lossScratch: Float64Array

  abstract init(rng: Rng): Float32Array
  abstract workspace(): ExampleGradient

  lossAndGradient(params: Float32Array, x: Float32Array, offset: number, y: number, grad: Float64Array): number {
    checkParams(params, this.dimension, this.name)
    const loss = this.scratch.compute(params, x, offset, y)
    grad.fill(0)
    this.scratch.addTo(grad, 1)
    return loss
  }

  predict(params: Float32Array, x: Float32Array, offset = 0): number {
    checkParams(params, this.dimension, this.name)
    this.scratch.forward(params, x, offset)
    return argmax(this.scratch.logits)
  }

  accuracy(params: Float32Array, data: Dataset): number {
    checkParams(params, this.dimension, this.name)
    checkFeatures(data, this.features, this.classes, this.name)
    return datasetAccuracy(this.scratch, params, data)
  }

  loss(params: Float32Array, data: Dataset): number {
    checkParams(params, this.dimension, this.name)
    checkFeatures(data, this.features, this.classes, this.name)
    return datasetLoss(this.scratch, params, data, this.lossScratch)
  }
}
