/**
 * Exact samplers for the discrete Gaussian N_Z(0, σ²), after Canonne, Kamath and
 * Steinke, "The Discrete Gaussian for Differential Privacy" (NeurIPS 2020):
 *
 * - Algorithm 1, `bernoulliExpNeg(γ)`: Bernoulli(exp(−γ)) for rational γ ≥ 0.
 *   For γ ∈ [0, 1] draw A_k ~ Bernoulli(γ/k) for k = 1, 2, … until the first
 *   A_k = 0 and return 1 iff that k is odd (P(K > k) = γ^k / k!, so
 *   P(K odd) = Σ (−γ)^j / j! = exp(−γ)); for γ > 1, ⌊γ⌋ draws of
 *   Bernoulli(exp(−1)) then one of Bernoulli(exp(−(γ − ⌊γ⌋))), all of which must be 1.
 * - Algorithm 2, `sampleDiscreteLaplace(t)`: P(x) ∝ exp(−|x|/t) on Z, t a positive integer.
 * - Algorithm 3, `sampleDiscreteGaussian(σ²)`: t = ⌊σ⌋ + 1, Y ~ Lap_Z(t), accept
 *   with probability exp(−(|Y| − σ²/t)² / (2σ²)).
 *
 * Every decision is a comparison of a uniform integer from the RandomSource with
 * an exact BigInt rational, so no floating-point value enters the sampling and
 * the output distribution is exactly N_Z(0, σ²) given a uniform source — the
 * floating-point artefacts of textbook samplers that leak the noised value
 * (Mironov, CCS 2012) cannot occur. A `number` σ² is converted to the exact
 * dyadic rational it denotes (no decimal rounding happens here).
 */
import { NoiseError } from './errors.ts'
import type { RandomSource } from './random.ts'

/** An exact rational num/den with den > 0. */
export interface Rational {
  num: bigint
  den: bigint
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a
  if (b < 0n) b = -b
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

/** num/den in lowest terms with den > 0. */
export function reduceRational(num: bigint, den: bigint): Rational {
  if (den === 0n) throw new NoiseError('BAD_PARAMS', 'rational with a zero denominator')
  if (den < 0n) {
    num = -num
    den = -den
  }
  const g = gcd(num, den)
  return g > 1n ? { num: num / g, den: den / g } : { num, den }
}

/**
 * The exact value of a finite double (every one is a dyadic rational), or a
 * checked, reduced copy of a Rational. Throws BAD_PARAMS on NaN/±Infinity or a
 * malformed rational.
 */
export function toRational(x: number | Rational, name = 'value'): Rational {
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw new NoiseError('BAD_PARAMS', `${name} must be finite, got ${x}`)
    let den = 1n
    // doubling is exact for doubles below 2^1023, and a non-integer double is below 2^52
    while (!Number.isInteger(x)) {
      x *= 2
      den *= 2n
    }
    return reduceRational(BigInt(x), den)
  }
  if (typeof x !== 'object' || x === null || typeof x.num !== 'bigint' || typeof x.den !== 'bigint') {
    throw new NoiseError('BAD_PARAMS', `${name} must be a finite number or a {num, den} pair of bigints`)
  }
  return reduceRational(x.num, x.den)
}

/** ⌊√n⌋ for a bigint n ≥ 0 (Newton's method, exact). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new NoiseError('BAD_PARAMS', 'isqrt of a negative number')
  if (n < 2n) return n
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2)) // ≥ √n
  for (;;) {
    const y = (x + n / x) >> 1n
    if (y >= x) return x
    x = y
  }
}

/** Bernoulli(num/den) for 0 ≤ num ≤ den: one uniform draw in [0, den). */
function bernoulli(num: bigint, den: bigint, rng: RandomSource): boolean {
  return rng.uniformBigInt(den) < num
}

/** Algorithm 1 for γ = num/den ∈ [0, 1]. */
function bernoulliExpNegUnit(num: bigint, den: bigint, rng: RandomSource): boolean {
  let k = 1n
  while (bernoulli(num, den * k, rng)) k++
  return (k & 1n) === 1n
}

function bernoulliExpNegRaw(num: bigint, den: bigint, rng: RandomSource): boolean {
  const whole = num / den
  for (let i = 0n; i < whole; i++) {
    if (!bernoulliExpNegUnit(1n, 1n, rng)) return false
  }
  return bernoulliExpNegUnit(num % den, den, rng)
}

/** Exact Bernoulli(exp(−γ)) for a rational (or double) γ ≥ 0 (CKS 2020, Algorithm 1). */
export function bernoulliExpNeg(gamma: Rational | number, rng: RandomSource): boolean {
  const g = toRational(gamma, 'γ')
  if (g.num < 0n) throw new NoiseError('BAD_PARAMS', 'Bernoulli(exp(−γ)) needs γ ≥ 0')
  return bernoulliExpNegRaw(g.num, g.den, rng)
}

function discreteLaplaceRaw(t: bigint, rng: RandomSource): bigint {
  for (;;) {
    const u = rng.uniformBigInt(t)
    if (!bernoulliExpNegUnit(u, t, rng)) continue
    let v = 0n
    while (bernoulliExpNegUnit(1n, 1n, rng)) v++
    const x = u + t * v
    const negative = bernoulli(1n, 2n, rng)
    if (negative && x === 0n) continue // so that 0 is not counted twice
    return negative ? -x : x
  }
}

/** Exact discrete Laplace on Z with P(x) ∝ exp(−|x|/t), t a positive integer (CKS 2020, Algorithm 2 with s = 1). */
export function sampleDiscreteLaplace(t: bigint | number, rng: RandomSource): bigint {
  if (typeof t === 'number' && Number.isSafeInteger(t)) t = BigInt(t)
  if (typeof t !== 'bigint' || t < 1n) throw new NoiseError('BAD_PARAMS', `discrete Laplace scale must be a positive integer, got ${String(t)}`)
  return discreteLaplaceRaw(t, rng)
}

/** Draws from N_Z(0, σ²) with σ² fixed once: reuse it for many coordinates. */
export type DiscreteGaussianSampler = (rng: RandomSource) => bigint

/**
 * A sampler for N_Z(0, σ²), σ² > 0 given as an exact rational or a double.
 * Throws NoiseError BAD_PARAMS for σ² ≤ 0, NaN or ±Infinity.
 */
export function discreteGaussianSampler(sigma2: Rational | number): DiscreteGaussianSampler {
  const s2 = toRational(sigma2, 'σ²')
  if (s2.num <= 0n) throw new NoiseError('BAD_PARAMS', `σ² must be > 0, got ${s2.num}/${s2.den}`)
  const { num: n, den: d } = s2
  // t = ⌊σ⌋ + 1, and ⌊√(n/d)⌋ = ⌊√⌊n/d⌋⌋
  const t = isqrt(n / d) + 1n
  // γ(Y) = (|Y| − σ²/t)² / (2σ²) = (|Y|·d·t − n)² / (2·n·d·t²)
  const dt = d * t
  const gammaDen = 2n * n * d * t * t
  return (rng: RandomSource): bigint => {
    for (;;) {
      const y = discreteLaplaceRaw(t, rng)
      const a = (y < 0n ? -y : y) * dt - n
      if (bernoulliExpNegRaw(a * a, gammaDen, rng)) return y
    }
  }
}

/** One exact draw from N_Z(0, σ²) (CKS 2020, Algorithm 3). */
export function sampleDiscreteGaussian(sigma2: Rational | number, rng: RandomSource): bigint {
  return discreteGaussianSampler(sigma2)(rng)
}
