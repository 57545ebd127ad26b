/**
 * Calibrating the Gaussian mechanism M(x) = f(x) + N(0, σ²) (one release, L2
 * sensitivity Δ) to a target (ε, δ).
 *
 * - 'classic': Dwork and Roth, "The Algorithmic Foundations of Differential
 *   Privacy" (2014), Theorem A.1: σ = Δ·sqrt(2 ln(1.25/δ))/ε. The theorem is
 *   proved only for ε in (0, 1); outside it the formula is not a guarantee
 *   (for large ε it is not even (ε, δ)-DP), so it is refused there.
 * - 'analytic' (default): Balle and Wang, "Improving the Gaussian Mechanism
 *   for Differential Privacy: Analytical Calibration and Optimal Denoising"
 *   (ICML 2018), Algorithm 1: the smallest σ for which the exact privacy
 *   profile (their Theorem 8)
 *     δ(ε, σ) = Φ(Δ/(2σ) − εσ/Δ) − e^ε Φ(−Δ/(2σ) − εσ/Δ)
 *   is at most δ. Valid for every ε > 0. The one-dimensional root is found by
 *   doubling then bisection down to adjacent doubles, and the side returned
 *   is always the one with δ(ε, σ) ≤ target.
 *
 * Pure and deterministic; the differences of Φ terms are formed in log space
 * so e^ε never overflows.
 */
import { LedgerError } from '../errors.ts'
import { checkDelta, checkPositive } from './args.ts'
import { logNormalCdf, minusErfcxDerivative } from './normal.ts'

export type CalibrationMethod = 'analytic' | 'classic'

export const CALIBRATION_METHODS: readonly CalibrationMethod[] = Object.freeze(['analytic', 'classic'])

export interface CalibrationParams {
  /** target ε > 0 (classic: 0 < ε < 1) */
  epsilon: number
  /** target δ in (0, 1) */
  delta: number
  /** L2 sensitivity Δ > 0; 1 by default */
  sensitivity?: number
  /** 'analytic' by default */
  method?: CalibrationMethod
}

/** exp(logX) − exp(logY), clamped at 0, without forming either term when it would overflow. */
function expDiff(logX: number, logY: number): number {
  if (!(logY < logX)) return 0
  return -Math.exp(logX) * Math.expm1(logY - logX)
}

// 8-point Gauss-Legendre rule on [-1, 1] (Abramowitz and Stegun 25.4.30)
const GL_NODES = [0.1834346424956498, 0.525532409916329, 0.7966664774136267, 0.9602898564975363] as const
const GL_WEIGHTS = [0.362683783378362, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763] as const

/** ∫_a^{a+h} −erfcx′(t) dt = erfcx(a) − erfcx(a+h) by Gauss-Legendre (h small against the scale of erfcx′). */
function erfcxDrop(a: number, h: number): number {
  const mid = a + h / 2
  let sum = 0
  for (let k = 0; k < 4; k++) {
    const off = (h / 2) * GL_NODES[k]!
    sum += GL_WEIGHTS[k]! * (minusErfcxDerivative(mid - off) + minusErfcxDerivative(mid + off))
  }
  return (h / 2) * sum
}

/**
 * The Gaussian privacy profile Φ(−x1) − e^ε Φ(−x2), where x2 = x1 + gap and
 * x2² − x1² = 2ε (so e^ε φ(x2) = φ(x1)); `gap` is passed separately so it
 * keeps full precision when x1 ≈ x2.
 *
 * Directly, the two terms cancel when the gap is small against the scale on
 * which Φ varies there (small ε, large σ), losing digits. Writing
 * Φ(−x) = ½ e^(−x²/2) erfcx(x/√2) turns the profile into
 *   ½ e^(−x1²/2) (erfcx(t1) − erfcx(t2)),  t = x/√2,
 * and the difference is the integral of −erfcx′ over [t1, t2], a positive
 * smooth integrand, so no digits are lost.
 */
function privacyProfile(x1: number, gap: number, eps: number): number {
  const t1 = x1 * Math.SQRT1_2
  const h = gap * Math.SQRT1_2
  const scale = t1 >= 0 ? Math.max(1, t1) : 1 / (1 + 2 * -t1)
  if (h > 0.5 * scale) return expDiff(logNormalCdf(-x1), eps + logNormalCdf(-(x1 + gap)))
  return Math.exp(Math.log(erfcxDrop(t1, h)) - Math.LN2 - (x1 * x1) / 2)
}

/**
 * The exact δ at which the Gaussian mechanism with noise σ and sensitivity Δ
 * is (ε, δ)-DP (Balle and Wang 2018, Theorem 8):
 * Φ(Δ/(2σ) − εσ/Δ) − e^ε Φ(−Δ/(2σ) − εσ/Δ). ε >= 0, σ > 0, Δ > 0.
 */
export function gaussianDelta(epsilon: number, sigma: number, sensitivity = 1): number {
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) {
    throw new LedgerError('BAD_ARGUMENT', `epsilon must be a finite number >= 0, got ${String(epsilon)}`)
  }
  checkPositive(sigma, 'sigma')
  checkPositive(sensitivity, 'sensitivity')
  const mu = sensitivity / sigma
  return privacyProfile((epsilon * sigma) / sensitivity - mu / 2, mu, epsilon)
}

/** σ of the classic Gaussian mechanism; only for 0 < ε < 1 (Dwork and Roth 2014, Thm. A.1). */
export function classicGaussianSigma(epsilon: number, delta: number, sensitivity = 1): number {
  checkPositive(epsilon, 'epsilon')
  checkDelta(delta)
  checkPositive(sensitivity, 'sensitivity')
  if (!(epsilon < 1)) {
    throw new LedgerError(
      'BAD_ARGUMENT',
      `the classic Gaussian calibration sigma = sensitivity*sqrt(2 ln(1.25/delta))/epsilon is proved only for epsilon < 1 (Dwork and Roth 2014, Thm. A.1), got epsilon ${epsilon}; use the analytic calibration`,
    )
  }
  return checkSigma(sensitivity * (Math.sqrt(2 * Math.log(1.25 / delta)) / epsilon), 'classic', epsilon, delta, sensitivity)
}

/** σ must be a usable noise scale: finite and > 0 (extreme inputs can overflow or underflow it). */
function checkSigma(sigma: number, method: CalibrationMethod, epsilon: number, delta: number, sensitivity: number): number {
  if (Number.isFinite(sigma) && sigma > 0) return sigma
  throw new LedgerError(
    'BAD_ARGUMENT',
    `the ${method} calibration for epsilon ${epsilon}, delta ${delta}, sensitivity ${sensitivity} gives sigma = ${sigma}, outside the range of a double; rescale the sensitivity`,
  )
}

/**
 * For a monotone predicate with pred(lo) true and pred false somewhere above:
 * adjacent doubles [lo, hi] with pred(lo) true and pred(hi) false, found by
 * doubling then bisection. Deterministic: a fixed sequence of evaluations.
 */
function boundary(pred: (v: number) => boolean, lo: number): [number, number] {
  let hi = Math.max(1, 2 * lo)
  while (pred(hi)) {
    lo = hi
    hi *= 2
    if (hi === Infinity) throw new LedgerError('BAD_ARGUMENT', 'calibration did not converge (parameters out of range)')
  }
  for (;;) {
    const mid = lo + (hi - lo) / 2
    if (mid <= lo || mid >= hi) return [lo, hi]
    if (pred(mid)) lo = mid
    else hi = mid
  }
}

/**
 * σ of the analytic Gaussian mechanism (Balle and Wang 2018, Algorithm 1):
 * the smallest σ with δ(ε, σ) ≤ δ, to double precision. Any ε > 0.
 */
export function analyticGaussianSigma(epsilon: number, delta: number, sensitivity = 1): number {
  checkPositive(epsilon, 'epsilon')
  checkDelta(delta)
  checkPositive(sensitivity, 'sensitivity')
  const eps = epsilon
  // B±(v) = Φ(±sqrt(εv)) − e^ε Φ(−sqrt(ε(v+2))); B+ increases and B− decreases from B±(0) = δ0.
  const bPlus = (v: number) => {
    const a = Math.sqrt(eps * v)
    const b = Math.sqrt(eps * (v + 2))
    return privacyProfile(-a, a + b, eps)
  }
  const bMinus = (v: number) => {
    const a = Math.sqrt(eps * v)
    const b = Math.sqrt(eps * (v + 2))
    return privacyProfile(a, (2 * eps) / (a + b), eps)
  }
  const delta0 = bPlus(0)
  let alpha: number
  if (delta === delta0) {
    alpha = 1
  } else if (delta > delta0) {
    // v* = sup{v >= 0 : B+(v) <= δ}; α = sqrt(1 + v/2) − sqrt(v/2), written without cancellation
    const [v] = boundary((x) => bPlus(x) <= delta, 0)
    alpha = 1 / (Math.sqrt(1 + v / 2) + Math.sqrt(v / 2))
  } else {
    // u* = inf{u >= 0 : B−(u) <= δ}; α = sqrt(1 + u/2) + sqrt(u/2)
    const [, u] = boundary((x) => bMinus(x) > delta, 0)
    alpha = Math.sqrt(1 + u / 2) + Math.sqrt(u / 2)
  }
  // sensitivity/sqrt(2ε) first: alpha·sensitivity could underflow to 0 (or overflow) on its own
  return checkSigma(alpha * (sensitivity / Math.sqrt(2 * eps)), 'analytic', epsilon, delta, sensitivity)
}

/** σ for a target (ε, δ) and sensitivity by the chosen method ('analytic' by default). */
export function gaussianSigma(params: CalibrationParams): number {
  const method = params.method ?? 'analytic'
  const sensitivity = params.sensitivity ?? 1
  if (method === 'analytic') return analyticGaussianSigma(params.epsilon, params.delta, sensitivity)
  if (method === 'classic') return classicGaussianSigma(params.epsilon, params.delta, sensitivity)
  throw new LedgerError('BAD_ARGUMENT', `method must be 'analytic' or 'classic', got ${String(method)}`)
}
