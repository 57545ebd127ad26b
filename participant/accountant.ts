/**
 * The participant's own Rényi-DP accountant: the same composition the ledger
 * charges (RDP of the Poisson-subsampled Gaussian with steps = ⌈E / q⌉ per
 * round, curves added over Opacus' default orders, the improved RDP → (ε, δ)
 * conversion), kept locally so a bank can check what it has spent and what a
 * round would cost before committing to it. `calibrateNoise` finds the
 * smallest noise multiplier σ (to a relative 1e-9) whose total ε stays within a
 * target, by bisection on this accountant.
 */
import { DEFAULT_RDP_ORDERS, epsilonFromRdp, rdpCurve, stepsPerRound, type TrainingConfig } from '../ledger/index.ts'
import { checkInteger, checkPositive, ParticipantError } from './errors.ts'

/** What a round costs: its sampling rate and σ, with either local epochs (steps = ⌈E / q⌉) or the steps. */
export type RoundPrivacy =
  | Pick<TrainingConfig, 'samplingRate' | 'noiseMultiplier' | 'localEpochs'>
  | { samplingRate: number; noiseMultiplier: number; steps: number }

function stepsOf(round: RoundPrivacy): number {
  if ('steps' in round) return checkInteger(round.steps, 'steps', 0)
  checkPositive(round.localEpochs, 'localEpochs')
  return stepsPerRound(round)
}

function checkRound(round: RoundPrivacy): void {
  if (typeof round !== 'object' || round === null) throw new ParticipantError('BAD_ARGUMENT', 'a round is { samplingRate, noiseMultiplier, localEpochs | steps }')
  if (typeof round.samplingRate !== 'number' || !(round.samplingRate > 0 && round.samplingRate <= 1)) {
    throw new ParticipantError('BAD_ARGUMENT', `samplingRate must be in (0, 1], got ${String(round.samplingRate)}`)
  }
  if (typeof round.noiseMultiplier !== 'number' || !(round.noiseMultiplier >= 0) || !Number.isFinite(round.noiseMultiplier)) {
    throw new ParticipantError('BAD_ARGUMENT', `noiseMultiplier must be a finite number ≥ 0, got ${String(round.noiseMultiplier)}`)
  }
}

/** The RDP curve of one round over `orders`. */
export function roundRdp(round: RoundPrivacy, orders: readonly number[] = DEFAULT_RDP_ORDERS): Float64Array {
  checkRound(round)
  return Float64Array.from(rdpCurve({ q: round.samplingRate, sigma: round.noiseMultiplier, steps: stepsOf(round), orders }))
}

function epsilonOfCurve(orders: readonly number[], rdp: ArrayLike<number>, delta: number): number {
  let zero = true
  for (let k = 0; k < rdp.length; k++) if (rdp[k] !== 0) zero = false
  if (zero) return 0 // as the ledger: nothing spent is ε = 0
  return epsilonFromRdp(orders, rdp, delta, 'improved').epsilon
}

export interface AccountantOptions {
  /** Rényi orders; the ledger's DEFAULT_RDP_ORDERS by default (use the same as the ledger to agree with it) */
  orders?: readonly number[]
}

export class PrivacyAccountant {
  readonly orders: readonly number[]
  private curve: Float64Array
  private count = 0

  constructor(options: AccountantOptions = {}) {
    this.orders = options.orders ?? DEFAULT_RDP_ORDERS
    this.curve = new Float64Array(this.orders.length)
  }

  /** Rounds spent so far. */
  get rounds(): number {
    return this.count
  }

  /** The RDP spent so far, one value per order. */
  get rdp(): readonly number[] {
    return Array.from(this.curve)
  }

  /** Adds one round's spend. */
  spend(round: RoundPrivacy): void {
    const r = roundRdp(round, this.orders)
    const next = new Float64Array(this.curve.length)
    for (let k = 0; k < next.length; k++) next[k] = this.curve[k]! + r[k]!
    this.curve = next
    this.count++
  }

  /** ε spent so far at δ. */
  epsilon(delta: number): number {
    return epsilonOfCurve(this.orders, this.curve, delta)
  }

  /** ε at δ if `round` were spent next (nothing is recorded). */
  epsilonAfter(round: RoundPrivacy, delta: number): number {
    const r = roundRdp(round, this.orders)
    const next = new Float64Array(this.curve.length)
    for (let k = 0; k < next.length; k++) next[k] = this.curve[k]! + r[k]!
    return epsilonOfCurve(this.orders, next, delta)
  }
}

export interface CalibrateNoiseParams {
  /** total ε over all `steps`, > 0 */
  targetEpsilon: number
  delta: number
  samplingRate: number
  /** total DP-SGD steps (e.g. rounds · ⌈E / q⌉) */
  steps: number
  orders?: readonly number[]
}

/**
 * The smallest σ (to a relative 1e-9) whose ε for `steps` steps at sampling
 * rate q is ≤ the target: ε(σ) decreases in σ, so bracket by doubling, then
 * bisect. The returned σ always meets the target (the upper side is kept).
 */
export function calibrateNoise(params: CalibrateNoiseParams): number {
  const target = checkPositive(params.targetEpsilon, 'targetEpsilon')
  const steps = checkInteger(params.steps, 'steps', 1)
  const q = params.samplingRate
  if (typeof q !== 'number' || !(q > 0 && q <= 1)) throw new ParticipantError('BAD_ARGUMENT', `samplingRate must be in (0, 1], got ${String(q)}`)
  const delta = params.delta
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) throw new ParticipantError('BAD_ARGUMENT', `delta must be in (0, 1), got ${String(delta)}`)
  const orders = params.orders ?? DEFAULT_RDP_ORDERS
  const eps = (sigma: number) => epsilonOfCurve(orders, rdpCurve({ q, sigma, steps, orders }), delta)
  let hi = 1
  while (eps(hi) > target) {
    hi *= 2
    if (hi > 1e6) throw new ParticipantError('BAD_ARGUMENT', `no noise multiplier up to 1e6 reaches ε = ${target} (q ${q}, ${steps} steps, δ ${delta})`)
  }
  let lo = hi / 2
  while (lo > 1e-6 && eps(lo) <= target) {
    hi = lo
    lo /= 2
  }
  while ((hi - lo) / hi > 1e-9) {
    const mid = (lo + hi) / 2
    if (eps(mid) <= target) hi = mid
    else lo = mid
  }
  return hi
}
