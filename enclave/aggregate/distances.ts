/**
 * Pairwise squared Euclidean distances between updates: the O(n²·d) kernel of
 * Krum / Multi-Krum. Two implementations with bit-identical results: a
 * WebAssembly SIMD kernel (wasm.ts, driven by blocked.ts; the default) and a
 * scalar JavaScript reference; distanceWorkers.ts splits the pairs across threads.
 *
 * Canonical order (the contract every implementation keeps, on any thread count):
 * - D[i][j] = S₀ + S₁, where S₀ = Σ (u_i[k] − u_j[k])² over the EVEN coordinates
 *   k = 0, 2, 4, … and S₁ the same over the ODD coordinates k = 1, 3, 5, …, each
 *   a single running sum started at +0 and taken in ascending k. Every
 *   subtraction, product and addition is one float64 IEEE-754 operation
 *   (round to nearest, no fused multiply-add); float32 inputs are widened to
 *   float64 exactly first. These are the two lanes of one f64x2 accumulator.
 * - Direct differences, not the Gram identity ‖a‖² + ‖b‖² − 2a·b, whose
 *   cancellation loses most significant bits when two updates are close
 *   (exactly the case Krum cares about). All terms are non-negative, so the
 *   relative error is at most about d·2⁻⁵³.
 * - Blocking over coordinates (so a block of every update stays in cache while
 *   all pairs use it) keeps each pair's two running sums across blocks, so the
 *   result does not depend on the block size or on how pairs are grouped.
 * - Only i < j is computed and mirrored: D is exactly symmetric with a zero
 *   diagonal. A sum too large for float64 becomes +Infinity (a valid, maximal
 *   distance for ranking), never NaN.
 * (Before the SIMD kernel the order was one sequential sum over all k; the
 * last bits of D changed with this definition.)
 */
import { checkUpdates, type Update } from './errors.ts'
import { blockedDistances, blockedKernel, blockedLayout } from './blocked.ts'

/** Which implementation computes the matrix; all give bit-identical results. */
export type DistanceKernel = 'wasm' | 'js'

/**
 * The n×n matrix of squared distances, row-major: D[i·n + j] = ‖u_i − u_j‖².
 * Throws AggregationError on bad input (see checkUpdates).
 */
export function pairwiseSquaredDistances(updates: readonly Update[], kernel: DistanceKernel = 'wasm'): Float64Array<ArrayBuffer> {
  const d = checkUpdates(updates)
  return squaredDistanceMatrix(updates, d, kernel)
}

/** As pairwiseSquaredDistances, for updates already checked to share length d. */
export function squaredDistanceMatrix(updates: readonly Update[], d: number, kernel: DistanceKernel = 'wasm'): Float64Array<ArrayBuffer> {
  const n = updates.length
  const out = new Float64Array(n * n)
  if (n < 2) return out
  if (kernel === 'js') referenceUpperTriangle(updates, d, out)
  else {
    const layout = blockedLayout(n, d, 0, n)
    const { kernel: rows, memory } = blockedKernel(layout)
    blockedDistances(updates, d, layout, rows, memory, out)
  }
  mirror(out, n)
  return out
}

/** Copies the upper triangle of the n×n matrix onto the lower one. */
export function mirror(out: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) out[j * n + i] = out[i * n + j] as number
  }
}

/** Coordinates per block of the scalar reference (cache blocking; does not change results). */
const BLOCK = 1024

/** The scalar reference of the canonical order: upper triangle of D into `out`. */
function referenceUpperTriangle(updates: readonly Update[], d: number, out: Float64Array): void {
  const n = updates.length
  const odd = new Float64Array(n * n) // S₁ per pair; S₀ accumulates in `out`
  for (let start = 0; start < d; start += BLOCK) {
    const end = Math.min(d, start + BLOCK) // BLOCK is even: parity of k is global
    for (let i = 0; i < n; i++) {
      const a = updates[i] as Update
      for (let j = i + 1; j < n; j++) {
        const b = updates[j] as Update
        let s0 = out[i * n + j] as number
        let s1 = odd[i * n + j] as number
        let k = start
        for (; k + 1 < end; k += 2) {
          const t0 = (a[k] as number) - (b[k] as number)
          s0 += t0 * t0
          const t1 = (a[k + 1] as number) - (b[k + 1] as number)
          s1 += t1 * t1
        }
        if (k < end) {
          const t0 = (a[k] as number) - (b[k] as number)
          s0 += t0 * t0
        }
        out[i * n + j] = s0
        odd[i * n + j] = s1
      }
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) out[i * n + j] = (out[i * n + j] as number) + (odd[i * n + j] as number)
  }
}
