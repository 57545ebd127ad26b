/**
 * enclave/noise: central differential-privacy noise for the round aggregate.
 *
 * It is: an exact sampler of the discrete Gaussian N_Z(0, σ²) (Canonne, Kamath
 * and Steinke 2020; BigInt rational arithmetic only, so no floating-point
 * artefacts can leak the noised value, Mironov 2012), its building blocks
 * (Bernoulli(exp(−γ)), discrete Laplace), deterministic fixed-point quantization
 * of updates (round half to even, int64), the L2 sensitivity after rounding
 * (`quantizedSensitivity`), and `addDiscreteGaussianNoise`, which noises an
 * integer sum with standard deviation σ·C·scale per coordinate. Randomness comes
 * through the `RandomSource` port: `cryptoRandom()` (node:crypto) for real
 * rounds, `seededRandom(seed)` for tests only.
 *
 * It is not: a continuous Gaussian sampler (deliberately absent), the privacy
 * accountant (ledger/privacy), the clipping or aggregation of updates
 * (enclave/updates, enclave/aggregate), or the enclave service. No network or
 * disk I/O.
 */
export { NoiseError, NoiseErrorCode, isNoiseError } from './errors.ts'
export { DEFAULT_BYTE_CHUNK, cryptoRandom, randomFromBytes, seededRandom, type ByteSource, type RandomSource } from './random.ts'
export {
  bernoulliExpNeg,
  discreteGaussianSampler,
  isqrt,
  reduceRational,
  sampleDiscreteGaussian,
  sampleDiscreteLaplace,
  toRational,
  type DiscreteGaussianSampler,
  type Rational,
} from './discrete-gaussian.ts'
export { addDiscreteGaussianNoise, dequantize, noiseVariance, quantize, quantizedSensitivity, roundHalfEven, type NoiseParams } from './quantize.ts'
