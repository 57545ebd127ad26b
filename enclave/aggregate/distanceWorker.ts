/**
 * Worker-thread entry of DistanceWorkers (distanceWorkers.ts): receives a job
 * (the updates as one SharedArrayBuffer of float32 or float64 rows, and a row
 * range [lo, hi)), runs the blocked WebAssembly SIMD kernel for the pairs
 * (i, j), lo ≤ i < hi, j > i, in a private memory, writes D[i·n + j] into the
 * shared output matrix and replies { id }. One job at a time; no state kept
 * between jobs.
 */
import { parentPort } from 'node:worker_threads'
import { blockedDistances, blockedKernel, blockedLayout } from './blocked.ts'
import type { Update } from './errors.ts'

export interface DistanceJob {
  readonly id: number
  readonly data: SharedArrayBuffer
  readonly f32: boolean
  readonly n: number
  readonly d: number
  readonly lo: number
  readonly hi: number
  readonly out: SharedArrayBuffer
}

export type DistanceReply = { readonly id: number; readonly error?: string }

function run(job: DistanceJob): void {
  const { data, f32, n, d, lo, hi } = job
  const bytes = f32 ? 4 : 8
  const updates: Update[] = Array.from({ length: n }, (_, r) => (f32 ? new Float32Array(data, r * d * bytes, d) : new Float64Array(data, r * d * bytes, d)))
  const layout = blockedLayout(n, d, lo, hi)
  const { kernel, memory } = blockedKernel(layout)
  blockedDistances(updates, d, layout, kernel, memory, new Float64Array(job.out))
}

const port = parentPort
if (port !== null) {
  port.on('message', (job: DistanceJob) => {
    try {
      run(job)
      port.postMessage({ id: job.id } satisfies DistanceReply)
    } catch (e) {
      port.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) } satisfies DistanceReply)
    }
  })
}
