/**
 * Arithmetic on numbers held as their natural logarithm, so that sums of
 * terms spanning hundreds of orders of magnitude neither overflow nor
 * underflow. Zero is -Infinity.
 */

/** log(exp(x) + exp(y)). */
export function logAdd(x: number, y: number): number {
  const lo = Math.min(x, y)
  const hi = Math.max(x, y)
  if (lo === -Infinity) return hi
  return Math.log1p(Math.exp(lo - hi)) + hi
}

/**
 * log(exp(x) - exp(y)) for x >= y. Returns NaN when y > x (a negative
 * result); callers treat that as a numerical failure.
 */
export function logSub(x: number, y: number): number {
  if (y > x) return NaN
  if (y === -Infinity) return x
  if (x === y) return -Infinity
  const d = x - y
  // exp(d) - 1 overflows past d ≈ 709.78; there exp(y) is negligible next to exp(x)
  return d > 700 ? x : Math.log(Math.expm1(d)) + y
}

const SCALE_UP = 2 ** 900
const SCALE_DOWN = 2 ** -900
const LOG_SCALE = 900 * Math.LN2

/**
 * The generalized binomial coefficients binom(alpha, i) for i = 0, 1, 2, ...,
 * as (sign, log|binom|), for any real alpha (not only integers).
 *
 * Uses the recurrence binom(alpha, i) = binom(alpha, i-1) · (alpha-i+1)/i in
 * floating point, which keeps ~1 ulp per step (exact while the integers fit
 * in 53 bits); the running product is rescaled by exact powers of two so it
 * never overflows, even for orders in the thousands.
 */
export class BinomialSequence {
  readonly alpha: number
  private i = 0
  private mantissa = 1
  private scaleSteps = 0

  constructor(alpha: number) {
    this.alpha = alpha
  }

  /** i, the index of the current coefficient binom(alpha, i). */
  get index(): number {
    return this.i
  }

  /** Sign (+1, -1, or 0) of the current coefficient. */
  get sign(): number {
    return Math.sign(this.mantissa)
  }

  /** log|binom(alpha, index)|. */
  get log(): number {
    return Math.log(Math.abs(this.mantissa)) + this.scaleSteps * LOG_SCALE
  }

  /** Moves to binom(alpha, index + 1). */
  next(): void {
    this.i += 1
    this.mantissa = (this.mantissa * (this.alpha - this.i + 1)) / this.i
    const m = Math.abs(this.mantissa)
    if (m > SCALE_UP) {
      this.mantissa *= SCALE_DOWN
      this.scaleSteps += 1
    } else if (m !== 0 && m < SCALE_DOWN) {
      this.mantissa *= SCALE_UP
      this.scaleSteps -= 1
    }
  }
}
