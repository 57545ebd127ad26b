/**
 * DP-SGD (Abadi et al., CCS 2016) exactly as the ledger accounts it: `steps`
 * steps, each over a Poisson sample of the local examples (each one in
 * independently with probability q), every per-example gradient clipped to
 * L2 norm ≤ C, summed, N(0, σ²C²) added per coordinate, divided by the
 * expected batch size q·N (not the drawn one, which would leak the batch
 * size), times the learning rate. `localUpdate` then returns the round's
 * update: w_local − w_base clipped to C with the enclave's `clipToNorm`.
 *
 * `rng` drives the sampling only and `noise` the Gaussian noise (node:crypto
 * by default), so a test can replay the batches. noiseMultiplier 0 is the
 * non-private baseline; clipNorm Infinity (with σ = 0) turns clipping off.
 */
import { clipToNorm } from '../enclave/index.ts'
import type { Dataset } from './dataset.ts'
import { checkInteger, checkPositive, ParticipantError } from './errors.ts'
import type { ExampleGradient, Model } from './models/model.ts'
import { cryptoGaussian, type GaussianSource, type Rng } from './random.ts'

export interface DpSgdOptions {
  /** per-example L2 clip bound C > 0; Infinity disables clipping (then noiseMultiplier must be 0) */
  clipNorm: number
  /** σ ≥ 0: noise std per coordinate is σ·C on the summed clipped gradients */
  noiseMultiplier: number
  /** Poisson sampling rate q in (0, 1] */
  samplingRate: number
  /** number of steps, an integer ≥ 0 */
  steps: number
  /** learning rate > 0 */
  learningRate: number
  /** drives the Poisson sampling */
  rng: Rng
  /** Gaussian noise; cryptoGaussian() when absent */
  noise?: GaussianSource
}

export interface DpSgdResult {
  params: Float32Array
  steps: number
  /** mean drawn batch size (expected q·N) */
  meanBatch: number
}

/**
 * Writes a Poisson sample of [0, n) at rate q into `out` (ascending) and
 * returns its size. Gaps between chosen indices are geometric, drawn as
 * ⌊log(1 − U) / log(1 − q)⌋, which is the same distribution as n Bernoulli(q)
 * trials at O(q·n) cost.
 */
export function poissonSample(n: number, q: number, rng: Rng, out: Int32Array): number {
  if (out.length < n) throw new ParticipantError('BAD_ARGUMENT', `the sample buffer holds ${out.length} indices, n is ${n}`)
  if (q >= 1) {
    for (let i = 0; i < n; i++) out[i] = i
    return n
  }
  const logKeep = Math.log1p(-q)
  let count = 0
  let i = -1
  for (;;) {
    const gap = Math.floor(Math.log(1 - rng.next()) / logKeep)
    i += gap + 1
    if (!(i < n)) return count // also ends on a huge gap (q tiny)
    out[count++] = i
  }
}

function checkOptions(o: DpSgdOptions): void {
  if (typeof o !== 'object' || o === null) throw new ParticipantError('BAD_ARGUMENT', 'DP-SGD options are required')
  if (!(o.clipNorm === Infinity || (Number.isFinite(o.clipNorm) && o.clipNorm > 0))) throw new ParticipantError('BAD_ARGUMENT', `clipNorm must be > 0 or Infinity, got ${String(o.clipNorm)}`)
  if (typeof o.noiseMultiplier !== 'number' || !Number.isFinite(o.noiseMultiplier) || o.noiseMultiplier < 0) {
    throw new ParticipantError('BAD_ARGUMENT', `noiseMultiplier must be a finite number ≥ 0, got ${String(o.noiseMultiplier)}`)
  }
  if (o.clipNorm === Infinity && o.noiseMultiplier > 0) throw new ParticipantError('BAD_ARGUMENT', 'noise needs a finite clipNorm (the noise std is σ·C)')
  if (typeof o.samplingRate !== 'number' || !(o.samplingRate > 0 && o.samplingRate <= 1)) throw new ParticipantError('BAD_ARGUMENT', `samplingRate must be in (0, 1], got ${String(o.samplingRate)}`)
  checkInteger(o.steps, 'steps', 0)
  checkPositive(o.learningRate, 'learningRate')
  if (typeof o.rng?.next !== 'function') throw new ParticipantError('BAD_ARGUMENT', 'rng must be an Rng')
}

/**
 * A DP-SGD run that can be stepped, so an async caller can yield between
 * steps (see DpSgdTrainer); `dpSgd` runs it to the end.
 */
export class DpSgdRun {
  readonly params: Float32Array
  stepsDone = 0
  private readonly model: Model
  private readonly data: Dataset
  private readonly options: DpSgdOptions
  private readonly noise: GaussianSource
  private readonly ws: ExampleGradient
  private readonly sum: Float64Array
  private readonly batch: Int32Array
  private drawn = 0

  constructor(model: Model, params: Float32Array, data: Dataset, options: DpSgdOptions) {
    checkOptions(options)
    if (!(params instanceof Float32Array) || params.length !== model.dimension) {
      throw new ParticipantError('WRONG_LENGTH', `${model.name} has ${model.dimension} parameters; got ${params instanceof Float32Array ? params.length : 'not a Float32Array'}`)
    }
    if (data.features !== model.features) throw new ParticipantError('BAD_DATASET', `${model.name} takes ${model.features} features; the dataset has ${data.features}`)
    if (data.n < 1) throw new ParticipantError('BAD_DATASET', 'DP-SGD needs at least one example')
    this.model = model
    this.data = data
    this.options = options
    this.params = params.slice()
    this.noise = options.noise ?? cryptoGaussian()
    this.ws = model.workspace()
    this.sum = new Float64Array(model.dimension)
    this.batch = new Int32Array(data.n)
  }

  get done(): boolean {
    return this.stepsDone >= this.options.steps
  }

  /** One DP-SGD step; returns the drawn batch size. */
  step(): number {
    const { clipNorm: C, noiseMultiplier: sigma, samplingRate: q, learningRate } = this.options
    const { x, y, features } = this.data
    const n = this.data.n
    const sum = this.sum
    const ws = this.ws
    sum.fill(0)
    const size = poissonSample(n, q, this.options.rng, this.batch)
    for (let b = 0; b < size; b++) {
      const i = this.batch[b]!
      const loss = ws.compute(this.params, x, i * features, y[i]!)
      if (!Number.isFinite(loss)) throw new ParticipantError('NOT_FINITE', `the loss of example ${i} is ${loss} at step ${this.stepsDone} (diverged: lower the learning rate)`)
      let scale = 1
      if (C !== Infinity) {
        const norm = Math.sqrt(ws.normSquared())
        if (norm > C) scale = C / norm
      }
      ws.addTo(sum, scale)
    }
    if (sigma > 0) {
      const std = sigma * C
      for (let k = 0; k < sum.length; k++) sum[k] = sum[k]! + std * this.noise.normal()
    }
    const factor = learningRate / (q * n)
    const p = this.params
    for (let k = 0; k < p.length; k++) p[k] = p[k]! - factor * sum[k]!
    this.stepsDone++
    this.drawn += size
    return size
  }

  result(): DpSgdResult {
    for (let k = 0; k < this.params.length; k++) {
      if (!Number.isFinite(this.params[k]!)) throw new ParticipantError('NOT_FINITE', `parameter ${k} is ${this.params[k]} after ${this.stepsDone} steps (diverged: lower the learning rate)`)
    }
    return { params: this.params, steps: this.stepsDone, meanBatch: this.stepsDone === 0 ? 0 : this.drawn / this.stepsDone }
  }
}

/** Runs DP-SGD from `params` (not modified) on `data`; see the module comment. */
export function dpSgd(model: Model, params: Float32Array, data: Dataset, options: DpSgdOptions): DpSgdResult {
  const run = new DpSgdRun(model, params, data, options)
  while (!run.done) run.step()
  return run.result()
}

export interface LocalUpdate {
  /** w_local − w_base, clipped to L2 ≤ clipNorm (unclipped when clipNorm is Infinity) */
  update: Float32Array
  /** the norm before clipping */
  norm: number
  steps: number
  meanBatch: number
}

/** The update of w_local relative to w_base, clipped to `clipNorm` (or not, for Infinity). */
export function deltaUpdate(local: Float32Array, base: Float32Array, clipNorm: number): { update: Float32Array; norm: number } {
  if (local.length !== base.length) throw new ParticipantError('WRONG_LENGTH', `local model has ${local.length} values, base ${base.length}`)
  const delta = new Float64Array(base.length)
  let n2 = 0
  for (let k = 0; k < delta.length; k++) {
    const d = local[k]! - base[k]!
    delta[k] = d
    n2 += d * d
  }
  const norm = Math.sqrt(n2)
  if (!Number.isFinite(norm)) throw new ParticipantError('NOT_FINITE', 'the update is not finite')
  return { update: clipNorm === Infinity ? Float32Array.from(delta) : clipToNorm(delta, clipNorm), norm }
}

/** DP-SGD from `base`, then the clipped delta: what a participant submits for a round. */
export function localUpdate(model: Model, base: Float32Array, data: Dataset, options: DpSgdOptions): LocalUpdate {
  const r = dpSgd(model, base, data, options)
  return { ...deltaUpdate(r.params, base, options.clipNorm), steps: r.steps, meanBatch: r.meanBatch }
}
