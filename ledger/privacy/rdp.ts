/**
 * Rényi differential privacy of the Poisson-subsampled Gaussian mechanism
 * (each record enters a step independently with probability q; the step adds
 * N(0, σ²) noise to a sum of sensitivity 1).
 *
 * RDP at order α is log(A_α)/(α-1) with A_α = E_{z~μ0}[(μ(z)/μ0(z))^α],
 * μ0 = N(0, σ²), μ = (1-q)μ0 + q·N(1, σ²). A_α is evaluated as in Mironov,
 * Talwar and Zhang, "Rényi Differential Privacy of the Sampled Gaussian
 * Mechanism" (2019), Section 3.3:
 *  - integer α: the finite binomial sum
 *      A_α = Σ_{i=0..α} binom(α,i) q^i (1-q)^(α-i) exp((i²-i)/(2σ²));
 *  - fractional α: the two convergent series over the halves (-∞, z0] and
 *    [z0, ∞) of the real line, z0 = σ² log(1/q - 1) + 1/2, whose terms carry
 *    erfc factors; generalized binomial coefficients change sign past α+1, so
 *    terms are added or subtracted in log space by their sign, and the series
 *    stops once both new terms are below e^-30 (the rule of TF Privacy's and
 *    Opacus' `_compute_log_a_frac`).
 * Everything is summed in log space, in a fixed order, with no randomness.
 *
 * Special cases follow Opacus: q = 0 gives 0; σ = 0 gives +∞; q = 1 gives the
 * plain Gaussian α/(2σ²); α = +∞ gives +∞ (for 0 < q).
 *
 * Deliberate differences from the Python code. At the rounding level:
 * log(1-q) is taken as log1p(-q) and log(1/q - 1) as log1p(-q) - log q
 * (accurate for tiny q), and a value that rounds below zero is returned as 0
 * (a Rényi divergence is never negative). For robustness: a fractional-order
 * series that has not converged after MAX_SERIES_TERMS terms, or whose
 * alternating partial sum would turn negative, gives +∞ at that order
 * (conservative: that order is then never the one chosen for ε) where the
 * Python libraries loop on or raise.
 *
 * Determinism: only +, -, *, / and V8's fdlibm-derived Math.log, log1p, exp
 * and expm1 are used, in a fixed order, so every validator running the same
 * Node.js release computes bit-identical curves.
 */
import { checkNoiseMultiplier, checkOrders, checkRdp, checkSamplingRate, checkSteps } from './args.ts'
import { BinomialSequence, logAdd, logSub } from './logspace.ts'
import { logErfc } from './normal.ts'

/**
 * Opacus' RDPAccountant.DEFAULT_ALPHAS, bit for bit:
 * `[1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))`,
 * i.e. 1.1, 1.2, ..., 10.9, then 12, 13, ..., 63.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, k) => 1 + (k + 1) / 10),
  ...Array.from({ length: 52 }, (_, k) => 12 + k),
])

/** Bound on the terms of the fractional-order series (see the module comment). */
export const MAX_SERIES_TERMS = 100_000

/** Parameters of one Poisson-subsampled Gaussian round repeated `steps` times. */
export interface SampledGaussianParams {
  /** sampling rate, in [0, 1] */
  q: number
  /** noise multiplier: noise standard deviation / L2 sensitivity, >= 0 */
  sigma: number
  /** number of steps (compositions), a non-negative integer */
  steps: number
  /** Rényi orders (> 1, +Infinity allowed); defaults to DEFAULT_ORDERS */
  orders?: ArrayLike<number>
}

/** log A_α for integer α >= 2, 0 < q < 1. */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const twoVar = 2 * (sigma * sigma)
  const binom = new BinomialSequence(alpha)
  let logA = -Infinity
  for (let i = 0; i <= alpha; i++, binom.next()) {
    const term = binom.log + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoVar
    logA = logAdd(logA, term)
  }
  return logA
}

/** log A_α for fractional α > 1, 0 < q < 1; NaN if the series fails (see module comment). */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const twoVar = 2 * (sigma * sigma)
  const sqrt2Sigma = Math.SQRT2 * sigma
  const z0 = sigma * sigma * (log1mQ - logQ) + 0.5
  const binom = new BinomialSequence(alpha)
  let logA0 = -Infinity // integral over (-∞, z0]
  let logA1 = -Infinity // integral over [z0, ∞)
  for (let i = 0; i < MAX_SERIES_TERMS; i++, binom.next()) {
    const j = alpha - i
    const logCoef = binom.log
    const logT0 = logCoef + i * logQ + j * log1mQ
    const logT1 = logCoef + j * logQ + i * log1mQ
    const logE0 = logErfc((i - z0) / sqrt2Sigma) - Math.LN2
    const logE1 = logErfc((z0 - j) / sqrt2Sigma) - Math.LN2
    const logS0 = logT0 + (i * i - i) / twoVar + logE0
    const logS1 = logT1 + (j * j - j) / twoVar + logE1
    if (binom.sign > 0) {
      logA0 = logAdd(logA0, logS0)
      logA1 = logAdd(logA1, logS1)
    } else {
      logA0 = logSub(logA0, logS0)
      logA1 = logSub(logA1, logS1)
      if (Number.isNaN(logA0) || Number.isNaN(logA1)) return NaN
    }
    if (Math.max(logS0, logS1) < -30) return logAdd(logA0, logA1)
  }
  return NaN
}

/** RDP of one step at one order; inputs already validated. */
function rdpAtOrder(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0
  if (sigma === 0) return Infinity
  if (q === 1) return alpha / (2 * (sigma * sigma))
  if (alpha === Infinity) return Infinity
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha)
  if (Number.isNaN(logA)) return Infinity
  return Math.max(0, logA / (alpha - 1))
}

/**
 * RDP of the Poisson-subsampled Gaussian mechanism at one order, for one
 * step. Throws LedgerError('BAD_ARGUMENT') on invalid input.
 */
export function sampledGaussianRdp(q: number, sigma: number, order: number): number {
  checkSamplingRate(q)
  checkNoiseMultiplier(sigma)
  checkOrders([order], 'order')
  return rdpAtOrder(q, sigma, order)
}

/**
 * The RDP curve of `steps` compositions of one Poisson-subsampled Gaussian
 * round: element k is the RDP at `orders[k]`. Curves over the same orders
 * compose by addition (see `composeRdp`). steps = 0 gives all zeros.
 * Throws LedgerError('BAD_ARGUMENT') on invalid input.
 */
export function rdpCurve(params: SampledGaussianParams): Float64Array {
  const q = checkSamplingRate(params.q)
  const sigma = checkNoiseMultiplier(params.sigma)
  const steps = checkSteps(params.steps)
  const orders = checkOrders(params.orders ?? DEFAULT_ORDERS)
  const out = new Float64Array(orders.length)
  if (steps === 0) return out
  for (let k = 0; k < orders.length; k++) out[k] = rdpAtOrder(q, sigma, orders[k]!) * steps
  return out
}

/**
 * Composition: the RDP curve of running the mechanisms behind the given
 * curves (all over the same orders) one after the other is their
 * element-wise sum, added left to right. Returns a new array; throws
 * LedgerError('BAD_ARGUMENT') on curves of different lengths or with a
 * negative or NaN value.
 */
export function composeRdp(first: ArrayLike<number>, ...rest: ArrayLike<number>[]): Float64Array {
  const out = Float64Array.from(checkRdp(first, (first as { length?: number } | null)?.length ?? 0, 'rdp[0]'))
  rest.forEach((curve, n) => {
    checkRdp(curve, out.length, `rdp[${n + 1}]`)
    for (let k = 0; k < out.length; k++) out[k] = out[k]! + curve[k]!
  })
  return out
}
