/**
 * What a participant peer calls each round: a `Trainer` turns the round's base
 * model and training config into the update to seal and commit. Two kinds:
 *
 * - `DpSgdTrainer`: local DP-SGD on the bank's dataset with exactly the
 *   round's C, σ, q and ⌈E / q⌉ steps (what the ledger charges), then the
 *   delta clipped to C. It yields to the event loop every `yieldEvery` steps
 *   and stops with ABORTED when its AbortSignal fires.
 * - `FileUpdateTrainer`: a bank that trains elsewhere hands over the bytes of
 *   a little-endian float32 file; its length and finiteness are checked and it
 *   is clipped to C. (The caller reads the file; nothing here does I/O.) The
 *   ledger charges the round's DP-SGD spend whatever produced the update.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { clipToNorm, decodeUpdate, isUpdateError } from '../enclave/index.ts'
import { stepsPerRound, type TrainingConfig } from '../ledger/index.ts'
import type { Dataset } from './dataset.ts'
import { checkDataset } from './dataset.ts'
import { deltaUpdate, DpSgdRun } from './dp-sgd.ts'
import { checkInteger, checkPositive, ParticipantError } from './errors.ts'
import type { Model } from './models/model.ts'
import type { GaussianSource, Rng } from './random.ts'

/** The round's training parameters (the ledger's TrainingConfig). */
export type RoundTraining = TrainingConfig

export interface TrainResult {
  /** the update to submit: L2 norm ≤ config.clipNorm */
  update: Float32Array
  /** the update's norm before the final clip */
  norm: number
  /** DP-SGD steps run (0 for an update produced elsewhere, unless declared) */
  steps: number
  /** local examples behind the update */
  examples: number
}

export interface TrainOptions {
  signal?: AbortSignal
}

export interface Trainer {
  /** the model dimension this trainer produces updates for */
  readonly dimension: number
  train(base: Float32Array, config: RoundTraining, rng: Rng, options?: TrainOptions): Promise<TrainResult>
}

function checkBase(base: Float32Array, dimension: number): void {
  if (!(base instanceof Float32Array) || base.length !== dimension) {
    throw new ParticipantError('WRONG_LENGTH', `the base model must be a Float32Array of ${dimension} values, got ${base instanceof Float32Array ? base.length : 'another type'}`)
  }
}

function checkClip(config: RoundTraining): void {
  if (typeof config !== 'object' || config === null) throw new ParticipantError('BAD_ARGUMENT', 'a training config is required')
  checkPositive(config.clipNorm, 'clipNorm')
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ParticipantError('ABORTED', 'training aborted', { cause: signal.reason })
}

export interface DpSgdTrainerOptions {
  /** local learning rate */
  learningRate: number
  /** DP noise; cryptoGaussian() by default (pass a seeded source only in tests and benchmarks) */
  noise?: GaussianSource
  /** steps between yields to the event loop (default 25) */
  yieldEvery?: number
}

export class DpSgdTrainer implements Trainer {
  readonly dimension: number
  private readonly model: Model
  private readonly data: Dataset
  private readonly options: DpSgdTrainerOptions

  constructor(model: Model, dataset: Dataset, options: DpSgdTrainerOptions) {
    checkDataset(dataset)
    if (dataset.features !== model.features) throw new ParticipantError('BAD_DATASET', `${model.name} takes ${model.features} features; the dataset has ${dataset.features}`)
    if (dataset.n < 1) throw new ParticipantError('BAD_DATASET', 'a trainer needs at least one example')
    checkPositive(options?.learningRate, 'learningRate')
    if (options.yieldEvery !== undefined) checkInteger(options.yieldEvery, 'yieldEvery', 1)
    this.model = model
    this.data = dataset
    this.options = options
    this.dimension = model.dimension
  }

  async train(base: Float32Array, config: RoundTraining, rng: Rng, options: TrainOptions = {}): Promise<TrainResult> {
    checkBase(base, this.dimension)
    checkClip(config)
    aborted(options.signal)
    const steps = stepsPerRound(config)
    const run = new DpSgdRun(this.model, base, this.data, {
      clipNorm: config.clipNorm,
      noiseMultiplier: config.noiseMultiplier,
      samplingRate: config.samplingRate,
      steps,
      learningRate: this.options.learningRate,
      rng,
      ...(this.options.noise ? { noise: this.options.noise } : {}),
    })
    const every = this.options.yieldEvery ?? 25
    while (!run.done) {
      run.step()
      if (run.stepsDone % every === 0) {
        await yieldToLoop()
        aborted(options.signal)
      }
    }
    const { params } = run.result()
    const { update, norm } = deltaUpdate(params, base, config.clipNorm)
    return { update, norm, steps, examples: this.data.n }
  }
}

export interface FileUpdateTrainerOptions {
  /** the model dimension: the file must hold exactly this many float32 values */
  dimension: number
  /** examples the bank declares behind the update (default 0: unknown) */
  examples?: number
  /** DP-SGD steps the bank declares (default 0: unknown) */
  steps?: number
}

export class FileUpdateTrainer implements Trainer {
  readonly dimension: number
  private readonly values: Float32Array
  private readonly examples: number
  private readonly steps: number

  /** `bytes`: the update file's content, little-endian float32. Throws WRONG_LENGTH or NOT_FINITE. */
  constructor(bytes: Uint8Array, options: FileUpdateTrainerOptions) {
    if (!(bytes instanceof Uint8Array)) throw new ParticipantError('BAD_ARGUMENT', 'the update file content must be bytes (Uint8Array)')
    this.dimension = checkInteger(options?.dimension, 'dimension', 1)
    this.examples = checkInteger(options.examples ?? 0, 'examples', 0)
    this.steps = checkInteger(options.steps ?? 0, 'steps', 0)
    try {
      this.values = decodeUpdate(bytes, this.dimension)
    } catch (e) {
      if (isUpdateError(e) && (e.code === 'WRONG_LENGTH' || e.code === 'NOT_FINITE')) {
        throw new ParticipantError(e.code, `update file: ${e.message}`, { cause: e })
      }
      throw e
    }
  }

  async train(base: Float32Array, config: RoundTraining, _rng: Rng, options: TrainOptions = {}): Promise<TrainResult> {
    checkBase(base, this.dimension)
    checkClip(config)
    aborted(options.signal)
    let n2 = 0
    for (let k = 0; k < this.values.length; k++) n2 += this.values[k]! * this.values[k]!
    return { update: clipToNorm(this.values, config.clipNorm), norm: Math.sqrt(n2), steps: this.steps, examples: this.examples }
  }
}
