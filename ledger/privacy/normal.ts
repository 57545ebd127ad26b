/**
 * The complementary error function and the standard normal CDF, in double
 * precision, including their logarithms far into the tails (JavaScript's Math
 * has neither).
 *
 * Method: W. J. Cody, "Rational Chebyshev approximations for the error
 * function", Math. Comp. 23 (1969) 631-637, with the coefficients of his
 * CALERF routine (netlib SPECFUN). Three intervals of |x|: [0, 0.46875] uses a
 * rational approximation of erf; (0.46875, 4] and (4, ∞) approximate
 * erfc(x)·exp(x²) (the latter in 1/x²), so the tails never lose relative
 * precision. `logErfc` adds -x² in log space instead of multiplying by
 * exp(-x²), so it stays finite where erfc underflows (x > 26.5). exp(-x²) is
 * formed as exp(-s²)·exp(-(x-s)(x+s)) with s = x rounded down to 1/16, which
 * avoids the error amplification of exp at large arguments (Cody's device).
 *
 * Pure functions of their argument; no tables are built at run time.
 */

// erf on |x| <= 0.46875: x * P(x²) / Q(x²)
const A = [3.16112374387056560e0, 1.13864154151050156e2, 3.77485237685302021e2, 3.20937758913846947e3, 1.85777706184603153e-1] as const
const B = [2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3, 2.84423683343917062e3] as const
// erfc(x)·exp(x²) on 0.46875 < x <= 4
const C = [
  5.64188496988670089e-1, 8.88314979438837594e0, 6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
  1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3, 2.15311535474403846e-8,
] as const
const D = [
  1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2, 1.62138957456669019e3, 3.29079923573345963e3,
  4.36261909014324716e3, 3.43936767414372164e3, 1.23033935480374942e3,
] as const
// erfc(x)·exp(x²)·x = 1/sqrt(pi) - z·P(z)/Q(z), z = 1/x², on x > 4
const P = [3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2] as const
const Q = [2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3] as const

const THRESH = 0.46875
const INV_SQRT_PI = 0.56418958354775628695 // 1/sqrt(pi)
const SQRT1_2 = Math.SQRT1_2
const LN2 = Math.LN2

/** erf(x) for |x| <= 0.46875. */
function erfSmall(x: number): number {
  const z = x * x
  let num = A[4] * z
  let den = z
  for (let i = 0; i < 3; i++) {
    num = (num + A[i]!) * z
    den = (den + B[i]!) * z
  }
  return (x * (num + A[3])) / (den + B[3])
}

/** erfc(y)·exp(y²) for y > 0.46875 (the scaled complementary error function). */
function erfcScaledLarge(y: number): number {
  if (y <= 4) {
    let num = C[8] * y
    let den = y
    for (let i = 0; i < 7; i++) {
      num = (num + C[i]!) * y
      den = (den + D[i]!) * y
    }
    return (num + C[7]) / (den + D[7])
  }
  return (INV_SQRT_PI - tailCorrection(y)) / y
}

/** -y² split as -s² - d with s = trunc(16y)/16 exact in double; returns [s², d]. */
function splitSquare(y: number): [number, number] {
  if (y === Infinity) return [Infinity, 0]
  const s = Math.trunc(y * 16) / 16
  return [s * s, (y - s) * (y + s)]
}

/** z·P(z)/Q(z) with z = 1/y², y > 4: erfc(y)·exp(y²)·y = 1/sqrt(pi) − this. */
function tailCorrection(y: number): number {
  const z = 1 / (y * y)
  let num = P[5] * z
  let den = z
  for (let i = 0; i < 4; i++) {
    num = (num + P[i]!) * z
    den = (den + Q[i]!) * z
  }
  return (z * (num + P[4])) / (den + Q[4])
}

/** erfc(y) for y > 0.46875 (may underflow to 0 beyond y ≈ 26.5). */
function erfcLarge(y: number): number {
  const [s2, d] = splitSquare(y)
  return Math.exp(-s2) * Math.exp(-d) * erfcScaledLarge(y)
}

/** log erfc(y) for y > 0.46875, finite for every finite y. */
function logErfcLarge(y: number): number {
  const [s2, d] = splitSquare(y)
  return -s2 - d + Math.log(erfcScaledLarge(y))
}

/** The complementary error function erfc(x) = 1 - erf(x). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN
  const y = Math.abs(x)
  if (y <= THRESH) return 1 - erfSmall(x)
  const r = erfcLarge(y)
  return x < 0 ? 2 - r : r
}

/** The error function erf(x). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN
  const y = Math.abs(x)
  if (y <= THRESH) return erfSmall(x)
  const r = 1 - erfcLarge(y)
  return x < 0 ? -r : r
}

/** log(erfc(x)), accurate in the upper tail where erfc itself underflows. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN
  const y = Math.abs(x)
  if (y <= THRESH) return Math.log1p(-erfSmall(x))
  if (x > 0) return logErfcLarge(y)
  // erfc(x) = 2 - erfc(|x|) lies in (1, 2) for x < 0
  return LN2 + Math.log1p(-0.5 * erfcLarge(y))
}

/** The standard normal CDF Φ(x) = erfc(-x/√2)/2. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT1_2)
}

/** log Φ(x): accurate in the lower tail where Φ underflows, and near 0 for large x. */
export function logNormalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN
  const t = -x * SQRT1_2
  const y = Math.abs(t)
  if (y <= THRESH) return Math.log1p(-erfSmall(t)) - LN2
  if (t > 0) return logErfcLarge(y) - LN2
  // Φ(x) = 1 - erfc(|t|)/2: keep the tiny complement out of a sum with ln 2
  return Math.log1p(-0.5 * erfcLarge(y))
}

/** The scaled complementary error function erfcx(x) = exp(x²)·erfc(x) (overflows for x < -26.6). */
export function erfcx(x: number): number {
  if (Number.isNaN(x)) return NaN
  const y = Math.abs(x)
  if (y <= THRESH) return Math.exp(x * x) * (1 - erfSmall(x))
  if (x > 0) return erfcScaledLarge(y)
  const [s2, d] = splitSquare(y)
  return 2 * Math.exp(s2) * Math.exp(d) - erfcScaledLarge(y)
}

/**
 * −erfcx′(x) = 2/sqrt(pi) − 2x·erfcx(x), positive for every x. For x > 4 it
 * is formed from the asymptotic form itself, without the cancellation the
 * difference would suffer; used to integrate differences of erfcx.
 */
export function minusErfcxDerivative(x: number): number {
  if (x > 4) return 2 * tailCorrection(x)
  return 2 * INV_SQRT_PI - 2 * x * erfcx(x)
}
