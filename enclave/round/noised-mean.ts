/**
 * Central DP on the selected updates: the noised mean the enclave publishes.
 *
 * Each selected update is quantized on its own, q_i = round_half_even(x_i · scale)
 * (exact products: scale is a power of two), and the integers are summed. That is
 * the query whose add/remove-one L2 sensitivity `quantizedSensitivity(C, scale, d)`
 * bounds (C + √d/(2·scale) per member); rounding the float sum instead would
 * allow up to √d/scale of rounding slack, which that bound does not cover.
 * N_Z(0, (σ·Δ·scale)²) noise goes on every coordinate of the integer sum, then it
 * is dequantized and divided by the number of selected updates.
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
  noiseMultiplier: number
  /** quantization scale, a power of two */
  scale: number
}

const EXACT_LIMIT = 2 ** 53

/** The noised mean of `updates` (each of L2 norm ≤ clipNorm, all of length d ≥ 1) as float32. */
export function noisedMean(updates: readonly Float32Array[], params: NoisedMeanParams, rng: RandomSource): Float32Array {
  const n = updates.length
  if (n === 0) throw new RoundError('BAD_ARGUMENT', 'no updates to average')
  const d = updates[0]!.length
  const { clipNorm, noiseMultiplier, scale } = params
  if (!(n * (clipNorm * scale + 0.5) < EXACT_LIMIT)) {
    throw new RoundError('OVERFLOW', `${n} updates of norm ≤ ${clipNorm} at scale ${scale} may sum past 2^53; use a smaller scale`)
  }
  const sum = new Float64Array(d)
  for (const u of updates) {
    if (u.length !== d) throw new RoundError('BAD_ARGUMENT', `updates of lengths ${u.length} and ${d}`)
    for (let k = 0; k < d; k++) sum[k] = sum[k]! + roundHalfEven(u[k]! * scale)
  }
  const q = new BigInt64Array(d)
  for (let k = 0; k < d; k++) q[k] = BigInt(sum[k]!)
  const sensitivity = quantizedSensitivity(clipNorm, scale, d)
  const noised = addDiscreteGaussianNoise(q, { scale, clipNorm: sensitivity, noiseMultiplier }, rng)
  const out = new Float32Array(d)
  for (let k = 0; k < d; k++) out[k] = Number(noised[k]!) / scale / n
  return out
}

/** Per-coordinate standard deviation of the noise on the mean, in real units: σ·Δ/n. */
export function noisedMeanStd(params: NoisedMeanParams, dimension: number, count: number): number {
  return (params.noiseMultiplier * quantizedSensitivity(params.clipNorm, params.scale, dimension)) / count
}
