/**
 * The blocked driver of the WebAssembly SIMD distance kernel (wasm.ts): lays
 * out one coordinate block of the updates plus the per-pair partial sums in a
 * WebAssembly memory, converts each block to float64 (exact for float32
 * input), runs the kernel over every pair (i, j), i in [lo, hi), j > i, and
 * finally combines each pair's two partial sums. Used by distances.ts (one
 * thread, rows [0, n)) and by distanceWorker.ts (one row range per thread).
 *
 * Memory layout (bytes):
 *   [0, rows·S)          block buffer: data row r = update lo + r, S = B·8 bytes;
 *                        rows ≥ n − lo are zero padding for the last group of G
 *   [accBase, …)         partial sums, (i − lo, j − lo) at accBase + ((i − lo)·rows + (j − lo))·16
 * A block of odd length leaves one zero float64 after the data in each row;
 * (0 − 0)² = +0 added to a non-negative sum leaves it unchanged, so padding
 * does not alter any result.
 */
import type { Update } from './errors.ts'
import { instantiateDistanceKernel, webAssembly, type RowsKernel, type WasmMemory } from './wasm.ts'

/** Pairs per kernel group (independent accumulator chains). */
export const GROUP = 8
/** Target size of one block of all rows, in bytes: about a core's L2 (measured: 128 KiB–768 KiB and groups of 4–12 are within noise). */
const BLOCK_BUDGET = 512 * 1024
const WASM_PAGE = 65536

export interface BlockedLayout {
  readonly n: number
  readonly lo: number
  readonly hi: number
  /** data rows held (n − lo, plus GROUP − 1 padding rows) */
  readonly rows: number
  /** coordinates per block (even) */
  readonly block: number
  /** bytes per data row */
  readonly stride: number
  readonly accBase: number
  readonly bytes: number
}

export function blockedLayout(n: number, d: number, lo: number, hi: number): BlockedLayout {
  const rows = n - lo + GROUP - 1
  const fit = Math.floor(BLOCK_BUDGET / (8 * rows))
  const block = Math.max(32, Math.min(4096, 2 * Math.ceil(d / 2), fit - (fit % 2)))
  const stride = block * 8
  const accBase = rows * stride
  return { n, lo, hi, rows, block, stride, accBase, bytes: accBase + (hi - lo) * rows * 16 }
}

/** A private (or given shared) memory large enough for the layout, and a kernel over it. */
export function blockedKernel(layout: BlockedLayout, memory?: WasmMemory): { kernel: RowsKernel; memory: WasmMemory } {
  const pages = Math.ceil(layout.bytes / WASM_PAGE)
  const mem = memory ?? new (webAssembly().Memory)({ initial: pages })
  const shared = memory !== undefined && mem.buffer instanceof SharedArrayBuffer
  if (mem.buffer.byteLength < layout.bytes) mem.grow(pages - mem.buffer.byteLength / WASM_PAGE)
  return { kernel: instantiateDistanceKernel({ group: GROUP, strideBytes: layout.stride, shared }, mem), memory: mem }
}

/**
 * Accumulates every pair (i, j), lo ≤ i < hi, i < j < n, over all coordinates;
 * then writes D[i·n + j] = lane0 + lane1 into `out` (upper triangle only).
 */
export function blockedDistances(
  updates: readonly Update[], d: number, layout: BlockedLayout,
  kernel: RowsKernel, memory: WasmMemory, out: Float64Array,
): void {
  const { n, lo, hi, rows, block, stride, accBase } = layout
  const f64 = new Float64Array(memory.buffer, 0, layout.bytes / 8)
  const rowF64 = stride / 8
  for (let start = 0; start < d; start += block) {
    const end = Math.min(d, start + block)
    const len = end - start
    for (let r = 0; r < n - lo; r++) {
      f64.set((updates[lo + r] as Update).subarray(start, end), r * rowF64)
      if (len % 2 === 1) f64[r * rowF64 + len] = 0
    }
    const lenBytes = Math.ceil(len / 2) * 16
    for (let i = lo; i < hi; i++) {
      const groups = Math.ceil((n - 1 - i) / GROUP)
      if (groups === 0) continue
      const r = i - lo
      kernel(r * stride, (r + 1) * stride, groups, accBase + (r * rows + r + 1) * 16, lenBytes)
    }
  }
  for (let i = lo; i < hi; i++) {
    const r = i - lo
    for (let j = i + 1; j < n; j++) {
      const slot = (accBase >> 3) + 2 * (r * rows + (j - lo))
      out[i * n + j] = (f64[slot] as number) + (f64[slot + 1] as number)
    }
  }
}
