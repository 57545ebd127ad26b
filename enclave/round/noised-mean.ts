/**
 * Central DP on the selected updates: the noised mean the enclave publishes.
 *
 * Each selected update is quantized on its own, q_i = round_half_even(x_i · scale)
 * (exact products: scale is a power of two), and the integers are summed. That is
 * the query whose add/remove-one L2 sensitivity `quantizedSensitivity(C, scale, d)`
 * bounds (C + √d/(2·scale) per member); rounding the float sum instead would
 * allow up to √d/scale of rounding slack, which that bound does not cover.
 * N_Z(0, (σ·Δ·scale)²) noise goes on every coordinate of the integer sum, then it
 * is dequantized and divided by the number of selected updates. σ = 0 means no
 * central noise (the round relies on its members' local DP-SGD alone): the noise
 * vector is then all zeros.
 *
 * The steps are exposed separately (`quantizedSum`, `sampleNoise`, `noisedMeanWith`)
 * so that the enclave service can seal the integer noise vector of a release and
 * later publish a re-aggregation with the very same noise; `noisedMean` is their
 * composition and draws exactly the randomness it always did.
 *
 * The integer sum is kept in float64, which is exact while every partial sum
 * stays below 2^53: |q| ≤ C·scale + 1/2 per coordinate (|x_k| ≤ ‖x‖ ≤ C), so
 * n·(C·scale + 1/2) < 2^53 is checked up front. Summation is in the given order,
 * and exact, so the result does not depend on it.
 */
import { addDiscreteGaussianNoise, quantizedSensitivity, roundHalfEven, type RandomSource } from '../noise/index.ts'
import { RoundError } from './errors.ts'

export interface NoisedMeanParams {
  clipNorm: number
  /** σ of the central noise; 0 = no noise */
  noiseMultiplier: number
  /** quantization scale, a power of two */
  scale: number
}

const EXACT_LIMIT = 2 ** 53
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Σ_i round_half_even(u_i · scale), exact, as float64 integers. Throws RoundError for no updates, unequal lengths or a possible overflow. */
export function quantizedSum(updates: readonly Float32Array[], params: Pick<NoisedMeanParams, 'clipNorm' | 'scale'>): Float64Array {
  const n = updates.length
  if (n === 0) throw new RoundError('BAD_ARGUMENT', 'no updates to average')
  const d = updates[0]!.length
  const { clipNorm, scale } = params
  if (!(n * (clipNorm * scale + 0.5) < EXACT_LIMIT)) {
    throw new RoundError('OVERFLOW', `${n} updates of norm ≤ ${clipNorm} at scale ${scale} may sum past 2^53; use a smaller scale`)
  }
  const sum = new Float64Array(d)
  for (const u of updates) {
    if (u.length !== d) throw new RoundError('BAD_ARGUMENT', `updates of lengths ${u.length} and ${d}`)
    for (let k = 0; k < d; k++) sum[k] = sum[k]! + roundHalfEven(u[k]! * scale)
  }
  return sum
}

/**
 * The integer noise vector for a quantized sum of dimension d: independent
 * N_Z(0, (σ·Δ·scale)²) per coordinate, Δ = quantizedSensitivity(C, scale, d);
 * all zeros (and no randomness drawn) when σ = 0.
 */
export function sampleNoise(dimension: number, params: NoisedMeanParams, rng: RandomSource): BigInt64Array {
  const { clipNorm, noiseMultiplier, scale } = params
  if (!(typeof noiseMultiplier === 'number' && Number.isFinite(noiseMultiplier) && noiseMultiplier >= 0)) {
    throw new RoundError('BAD_ARGUMENT', `the central noise multiplier must be a finite number ≥ 0, got ${String(noiseMultiplier)}`)
  }
  if (noiseMultiplier === 0) return new BigInt64Array(dimension)
  const sensitivity = quantizedSensitivity(clipNorm, scale, dimension)
  return addDiscreteGaussianNoise(new BigInt64Array(dimension), { scale, clipNorm: sensitivity, noiseMultiplier }, rng)
}

/** (quantized sum + noise) / scale / count, per coordinate, as float32. */
export function noisedMeanWith(sum: Float64Array, noise: BigInt64Array, count: number, scale: number): Float32Array {
  const d = sum.length
  if (noise.length !== d) throw new RoundError('BAD_ARGUMENT', `a noise vector of length ${noise.length} for a sum of length ${d}`)
  if (!Number.isSafeInteger(count) || count < 1) throw new RoundError('BAD_ARGUMENT', `count must be an integer ≥ 1, got ${count}`)
  const out = new Float32Array(d)
  for (let k = 0; k < d; k++) {
    const v = BigInt(sum[k]!) + noise[k]!
    if (v < INT64_MIN || v > INT64_MAX) throw new RoundError('OVERFLOW', `noised coordinate ${k} does not fit in int64`)
    out[k] = Number(v) / scale / count
  }
  return out
}

/** The noised mean and the integer noise vector that went into it. */
export function noisedMeanParts(updates: readonly Float32Array[], params: NoisedMeanParams, rng: RandomSource): { mean: Float32Array; noise: BigInt64Array } {
  const sum = quantizedSum(updates, params)
  const noise = sampleNoise(sum.length, params, rng)
  return { mean: noisedMeanWith(sum, noise, updates.length, params.scale), noise }
}

/** The noised mean of `updates` (each of L2 norm ≤ clipNorm, all of length d ≥ 1) as float32. */
export function noisedMean(updates: readonly Float32Array[], params: NoisedMeanParams, rng: RandomSource): Float32Array {
  return noisedMeanParts(updates, params, rng).mean
}

/** Per-coordinate standard deviation of the noise on the mean, in real units: σ·Δ/n. */
export function noisedMeanStd(params: NoisedMeanParams, dimension: number, count: number): number {
  return (params.noiseMultiplier * quantizedSensitivity(params.clipNorm, params.scale, dimension)) / count
}
