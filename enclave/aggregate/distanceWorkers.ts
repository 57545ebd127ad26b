/**
 * DistanceWorkers: pairwise squared distances split across worker threads.
 * The updates are copied once into a SharedArrayBuffer (float32 if every update
 * is float32, else float64: both exact), the rows i are cut into one
 * contiguous range per thread holding about the same number of pairs (i, j > i),
 * and each worker runs the WebAssembly SIMD kernel for its rows
 * (distanceWorker.ts). Each pair is computed whole by one thread in the
 * canonical order of distances.ts, so the result is bit-identical to
 * pairwiseSquaredDistances for any thread count.
 *
 * Lifecycle: start() spawns the threads, stop() terminates them. Jobs run one
 * at a time, in call order. An aborted call rejects at once with the signal's
 * reason; the threads finish the running job before the next starts.
 */
import { Worker } from 'node:worker_threads'
import { checkUpdates, type Update } from './errors.ts'
import { mirror } from './distances.ts'
import type { DistanceJob, DistanceReply } from './distanceWorker.ts'

export interface DistanceWorkersOptions {
  /** worker threads (default 2) */
  readonly threads?: number
}

export interface DistanceCallOptions {
  readonly signal?: AbortSignal
}

export class DistanceWorkers {
  readonly threads: number
  private workers: Worker[] = []
  private queue: Promise<unknown> = Promise.resolve()
  private nextId = 1

  constructor(options: DistanceWorkersOptions = {}) {
    const threads = options.threads ?? 2
    if (!Number.isSafeInteger(threads) || threads < 1 || threads > 256) throw new RangeError(`threads must be 1..256, got ${threads}`)
    this.threads = threads
  }

  async start(): Promise<void> {
    if (this.workers.length > 0) return
    const url = new URL('./distanceWorker.ts', import.meta.url)
    const workers = Array.from({ length: this.threads }, () => new Worker(url))
    this.workers = workers
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once('online', () => resolve())
      w.once('error', reject)
    })))
  }

  async stop(): Promise<void> {
    const workers = this.workers
    this.workers = []
    await Promise.all(workers.map((w) => w.terminate()))
  }

  /** As pairwiseSquaredDistances (distances.ts), computed on the worker threads. */
  async pairwiseSquaredDistances(updates: readonly Update[], options: DistanceCallOptions = {}): Promise<Float64Array<ArrayBuffer>> {
    const d = checkUpdates(updates)
    if (this.workers.length === 0) throw new Error('DistanceWorkers is not started')
    const signal = options.signal
    signal?.throwIfAborted()
    const job = this.queue.then(() => this.compute(updates, d, signal))
    this.queue = job.catch(() => undefined)
    if (signal === undefined) return job
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      job.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  private async compute(updates: readonly Update[], d: number, signal: AbortSignal | undefined): Promise<Float64Array<ArrayBuffer>> {
    signal?.throwIfAborted()
    const n = updates.length
    const result = new Float64Array(n * n)
    if (n < 2) return result
    const f32 = updates.every((u) => u instanceof Float32Array)
    const data = new SharedArrayBuffer(n * d * (f32 ? 4 : 8))
    const rows = f32 ? new Float32Array(data) : new Float64Array(data)
    updates.forEach((u, i) => rows.set(u, i * d))
    const out = new SharedArrayBuffer(n * n * 8)
    const ranges = splitRows(n, this.workers.length)
    await Promise.all(ranges.map(([lo, hi], t) => this.send(this.workers[t] as Worker, { id: this.nextId++, data, f32, n, d, lo, hi, out })))
    result.set(new Float64Array(out))
    mirror(result, n)
    return result
  }

  private send(worker: Worker, job: DistanceJob): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: DistanceReply) => {
        if (reply.id !== job.id) return
        cleanup()
        if (reply.error !== undefined) reject(new Error(`distance worker failed: ${reply.error}`))
        else resolve()
      }
      const onExit = (code: number) => { cleanup(); reject(new Error(`distance worker exited with code ${code}`)) }
      const onError = (e: Error) => { cleanup(); reject(new Error('distance worker crashed', { cause: e })) }
      const cleanup = () => { worker.off('message', onMessage); worker.off('exit', onExit); worker.off('error', onError) }
      worker.on('message', onMessage)
      worker.on('exit', onExit)
      worker.on('error', onError)
      worker.postMessage(job)
    })
  }
}

/**
 * Cuts rows 0..n−1 into `parts` contiguous ranges [lo, hi) with about equal
 * numbers of pairs: row i holds n − 1 − i pairs. Empty ranges are dropped.
 */
export function splitRows(n: number, parts: number): Array<[number, number]> {
  const total = (n * (n - 1)) / 2
  const ranges: Array<[number, number]> = []
  let lo = 0
  let done = 0
  for (let p = 1; p <= parts && lo < n; p++) {
    let hi = lo
    if (p === parts) hi = n
    else {
      const target = (total * p) / parts
      while (hi < n && done < target) done += n - 1 - hi++
    }
    if (hi > lo) ranges.push([lo, hi])
    lo = hi
  }
  return ranges
}
