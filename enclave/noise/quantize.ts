/**
 * The quantized domain of the central-DP aggregate: fixed-point quantization of
 * clipped updates, the L2 sensitivity after rounding, and discrete Gaussian
 * noise on the integer sum.
 *
 * Quantization: q = round_half_even(x · scale) per coordinate, as int64
 * (deterministic; x · scale is first rounded to a double, which is exact when
 * `scale` is a power of two — use one; otherwise that product's rounding, up to
 * half an ulp of x·scale, comes on top of the bound below). A value x is
 * represented by q / scale.
 *
 * Sensitivity (the bound this module uses): deterministic rounding moves each
 * coordinate by at most 1/(2·scale), so for one member's clipped update x with
 * ‖x‖₂ ≤ C, ‖q(x)/scale − x‖₂ ≤ √d/(2·scale) and, by the triangle inequality,
 * ‖q(x)/scale‖₂ ≤ C + √d/(2·scale). (Kairouz, Liu and Steinke 2021, "The
 * Distributed Discrete Gaussian", get a tighter bound with randomized rounding;
 * we use the worst-case deterministic one.) The sum of quantized updates thus has
 * add/remove-one L2 sensitivity Δ = C + √d/(2·scale) in real units, Δ·scale in
 * quantized units: `quantizedSensitivity(C, scale, d)` returns Δ.
 *
 * Calibration: for an integer-valued query with L2 sensitivity Δ_q, independent
 * N_Z(0, σ_q²) noise per coordinate has Rényi divergence at most α·Δ_q²/(2σ_q²)
 * at every order α, the bound of the continuous Gaussian (Canonne, Kamath and
 * Steinke 2020). With σ_q = σ·Δ·scale this is the unsampled Gaussian bound at
 * noise multiplier σ, the σ the ledger charges members for. So callers that
 * rounded with `quantize` pass `clipNorm: quantizedSensitivity(C, scale, d)`
 * to `addDiscreteGaussianNoise`, not C itself.
 */
import { discreteGaussianSampler, reduceRational, toRational, type Rational } from './discrete-gaussian.ts'
import { NoiseError } from './errors.ts'
import type { RandomSource } from './random.ts'

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const TWO_POW_63 = 2 ** 63

function checkPositive(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new NoiseError('BAD_PARAMS', `${name} must be a finite number > 0, got ${String(v)}`)
  return v
}

/** Round half to even of a finite double, as a double holding an integer. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x)
  const diff = x - f // exact: x and ⌊x⌋ share the binade or x is an integer
  if (diff < 0.5) return f
  if (diff > 0.5) return f + 1
  return f % 2 === 0 ? f : f + 1
}

/**
 * q[i] = round_half_even(values[i] · scale) as int64. Throws NOT_FINITE for NaN
 * or ±Infinity (with the index), OVERFLOW if a product leaves the int64 range,
 * BAD_PARAMS for a scale that is not a finite number > 0.
 */
export function quantize(values: Float64Array | Float32Array, scale: number): BigInt64Array {
  if (!(values instanceof Float64Array) && !(values instanceof Float32Array)) throw new NoiseError('BAD_INPUT', 'quantize takes a Float64Array or Float32Array')
  checkPositive(scale, 'scale')
  const out = new BigInt64Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    if (!Number.isFinite(v)) throw new NoiseError('NOT_FINITE', `value ${i} is ${v}`)
    const x = roundHalfEven(v * scale)
    if (!(x >= -TWO_POW_63 && x < TWO_POW_63)) throw new NoiseError('OVERFLOW', `value ${i} = ${v} times scale ${scale} does not fit in int64`)
    out[i] = BigInt(x)
  }
  return out
}

/** values[i] = q[i] / scale as float64 (exact when |q| < 2^53 and scale is a power of two). */
export function dequantize(q: BigInt64Array, scale: number): Float64Array {
  if (!(q instanceof BigInt64Array)) throw new NoiseError('BAD_INPUT', 'dequantize takes a BigInt64Array')
  checkPositive(scale, 'scale')
  const out = new Float64Array(q.length)
  for (let i = 0; i < q.length; i++) out[i] = Number(q[i]!) / scale
  return out
}

function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  view.setBigUint64(0, view.getBigUint64(0) + 1n) // x > 0 and finite
  return view.getFloat64(0)
}

/**
 * The add/remove-one L2 sensitivity, in real units, of a sum of d-dimensional
 * updates clipped to `clipNorm` and then rounded with `quantize(·, scale)`:
 * C + √d/(2·scale), returned as the smallest double that is ≥ the exact value
 * (checked in exact rational arithmetic, so float rounding never lowers it).
 */
export function quantizedSensitivity(clipNorm: number, scale: number, d: number): number {
  checkPositive(clipNorm, 'clipNorm')
  checkPositive(scale, 'scale')
  if (!Number.isSafeInteger(d) || d < 0) throw new NoiseError('BAD_PARAMS', `dimension must be a non-negative integer, got ${String(d)}`)
  let r = clipNorm + Math.sqrt(d) / (2 * scale)
  if (!Number.isFinite(r)) throw new NoiseError('OVERFLOW', 'sensitivity overflows float64')
  const c = toRational(clipNorm)
  const s = toRational(scale)
  // r ≥ C + √d/(2s)  ⟺  r − C ≥ 0 and ((r − C)·2s)² ≥ d
  for (;;) {
    const rr = toRational(r)
    const diffNum = (rr.num * c.den - c.num * rr.den) * 2n * s.num
    const diffDen = rr.den * c.den * s.den
    if (diffNum >= 0n && diffNum * diffNum >= BigInt(d) * diffDen * diffDen) return r
    r = nextUp(r)
  }
}

/** The DP parameters of the noise: all finite numbers > 0, in real units except `scale`. */
export interface NoiseParams {
  /** quantization scale: a value x is the integer x·scale */
  scale: number
  /** L2 sensitivity of the sum in real units: the clip bound C, inflated with `quantizedSensitivity` for rounded inputs */
  clipNorm: number
  /** σ, as recorded in the round's DP parameters */
  noiseMultiplier: number
}

/** The exact per-coordinate variance in quantized units, (σ·C·scale)², as a reduced rational. */
export function noiseVariance(params: NoiseParams): Rational {
  if (typeof params !== 'object' || params === null) throw new NoiseError('BAD_PARAMS', 'noise parameters must be an object')
  const s = toRational(checkPositive(params.scale, 'scale'))
  const c = toRational(checkPositive(params.clipNorm, 'clipNorm'))
  const z = toRational(checkPositive(params.noiseMultiplier, 'noiseMultiplier'))
  const num = s.num * c.num * z.num
  const den = s.den * c.den * z.den
  return reduceRational(num * num, den * den)
}

function toBigInt(v: unknown, i: number): bigint {
  if (typeof v === 'bigint') return v
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v)
  throw new NoiseError('BAD_INPUT', `coordinate ${i} of the quantized sum is not an integer: ${String(v)}`)
}

/**
 * Adds independent N_Z(0, (σ·C·scale)²) noise to every coordinate of an integer
 * (quantized) sum and returns a new BigInt64Array; the input is not modified.
 * σ = 0 is refused (BAD_PARAMS): the ledger only records rounds with σ > 0, and
 * an un-noised result must never look like a noised one. Throws BAD_INPUT for a
 * sum that is not integer-valued and OVERFLOW if a noised value leaves int64.
 */
export function addDiscreteGaussianNoise(
  quantizedSum: BigInt64Array | Int32Array | readonly (bigint | number)[],
  params: NoiseParams,
  rng: RandomSource,
): BigInt64Array {
  const sample = discreteGaussianSampler(noiseVariance(params))
  if (!(quantizedSum instanceof BigInt64Array) && !(quantizedSum instanceof Int32Array) && !Array.isArray(quantizedSum)) {
    throw new NoiseError('BAD_INPUT', 'the quantized sum must be a BigInt64Array, an Int32Array or an array of integers')
  }
  const n = quantizedSum.length
  const base = new Array<bigint>(n)
  for (let i = 0; i < n; i++) base[i] = toBigInt(quantizedSum[i], i)
  const out = new BigInt64Array(n)
  for (let i = 0; i < n; i++) {
    const v = base[i]! + sample(rng)
    if (v < INT64_MIN || v > INT64_MAX) throw new NoiseError('OVERFLOW', `noised coordinate ${i} does not fit in int64`)
    out[i] = v
  }
  return out
}
