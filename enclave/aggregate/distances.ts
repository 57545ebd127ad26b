/**
 * Pairwise squared Euclidean distances between updates: the O(n²·d) kernel of
 * Krum / Multi-Krum, kept behind one function so a WASM-SIMD kernel can replace it.
 *
 * Numerics (the contract a replacement must keep, or change on purpose):
 * - D[i][j] = Σ_k (u_i[k] − u_j[k])², every subtraction, product and addition in
 *   float64, the sum taken sequentially in ascending coordinate order starting
 *   from the first term. Direct differences, not the Gram identity
 *   ‖a‖² + ‖b‖² − 2a·b, whose cancellation loses most significant bits when two
 *   updates are close (exactly the case Krum cares about). All terms are
 *   non-negative, so the relative error is at most about d·2⁻⁵³.
 * - The loop is blocked over coordinates (each block of every update stays in
 *   cache while all pairs use it) but each pair keeps a single running
 *   accumulator across blocks, so the result is bit-identical to the plain
 *   per-pair sequential loop, whatever the block size.
 * - Only i < j is computed and mirrored: D is exactly symmetric with a zero
 *   diagonal. A sum too large for float64 becomes +Infinity (a valid, maximal
 *   distance for ranking), never NaN.
 * A SIMD kernel with several partial sums gives different last bits; that is
 * fine for determinism across enclaves only if they all run the same kernel.
 */
import { checkUpdates, type Update } from './errors.ts'

/** Coordinates per block: n · BLOCK float64 values (≈ 800 KiB at n = 100) stay cache-resident. */
const BLOCK = 1024

/**
 * The n×n matrix of squared distances, row-major: D[i·n + j] = ‖u_i − u_j‖².
 * Throws AggregationError on bad input (see checkUpdates).
 */
export function pairwiseSquaredDistances(updates: readonly Update[]): Float64Array<ArrayBuffer> {
  const d = checkUpdates(updates)
  return squaredDistanceMatrix(updates, d)
}

/** As pairwiseSquaredDistances, for updates already checked to share length d. */
export function squaredDistanceMatrix(updates: readonly Update[], d: number): Float64Array<ArrayBuffer> {
  const n = updates.length
  const out = new Float64Array(n * n)
  for (let start = 0; start < d; start += BLOCK) {
    const end = Math.min(d, start + BLOCK)
    for (let i = 0; i < n; i++) {
      const a = updates[i] as Update
      for (let j = i + 1; j < n; j++) {
        const b = updates[j] as Update
        let s = out[i * n + j] as number
        for (let k = start; k < end; k++) {
          const t = (a[k] as number) - (b[k] as number)
          s += t * t
        }
        out[i * n + j] = s
      }
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) out[j * n + i] = out[i * n + j] as number
  }
  return out
}
