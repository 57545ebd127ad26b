/**
 * enclave/aggregate: robust aggregation rules as pure, deterministic functions
 * over flat update vectors (Float32Array or Float64Array): Multi-Krum and Krum
 * (Blanchard et al., NeurIPS 2017), coordinate-wise trimmed mean (Yin et al.,
 * ICML 2018) and coordinate-wise median, plus the pairwise squared-distance
 * kernel Krum is built on (the piece a WASM-SIMD kernel may replace later).
 * Same input → bit-identical output: summation orders are fixed, ties go to the
 * lower index, and results are always fresh Float64Arrays (float64 accumulation;
 * callers narrow explicitly). Bad input raises an AggregationError with a code.
 * This module is not the enclave's round pipeline: it does no decryption, proof
 * or norm checks, no DP noise, no I/O, and keeps no state.
 */
export { AggregationError, AggregationErrorCode, isAggregationError, type Update } from './errors.ts'
export { pairwiseSquaredDistances } from './distances.ts'
export { DistanceWorkers } from './distanceWorkers.ts'
export { multiKrum, krum, type MultiKrumOptions, type KrumOptions, type MultiKrumResult } from './krum.ts'
export { trimmedMean, median, type TrimmedMeanOptions, type AggregateResult } from './trimmed.ts'
