/**
 * enclave/aggregate: robust aggregation rules as pure, deterministic functions
 * over flat update vectors (Float32Array or Float64Array): Multi-Krum and Krum
 * (Blanchard et al., NeurIPS 2017), plus the pairwise squared-distance kernel
 * Krum is built on (a WebAssembly SIMD kernel, and worker threads for large rounds).
 * Coordinate-wise trimmed mean and median were here, unused by the ledger, and were
 * removed: a round's rule is Multi-Krum, whose DP sensitivity the enclave accounts for.
 * Same input → bit-identical output: summation orders are fixed, ties go to the
 * lower index, and results are always fresh Float64Arrays (float64 accumulation;
 * callers narrow explicitly). Bad input raises an AggregationError with a code.
 * This module is not the enclave's round pipeline: it does no decryption, proof
 * or norm checks, no DP noise, no I/O, and keeps no state.
 */
export { AggregationError, AggregationErrorCode, isAggregationError, type Update } from './errors.ts'
export { pairwiseSquaredDistances } from './distances.ts'
export { DistanceWorkers } from './distanceWorkers.ts'
export { multiKrum, krum, type AggregateResult, type MultiKrumOptions, type KrumOptions, type MultiKrumResult } from './krum.ts'
