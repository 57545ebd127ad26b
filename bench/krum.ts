/**
 * Multi-Krum on float32 updates, side by side with NumPy + BLAS (bench/krum_numpy.py,
 * run through python3 when available): pairwiseSquaredDistances (WebAssembly SIMD,
 * one thread), the same on DistanceWorkers (worker threads), multiKrum end to end,
 * and the scalar JavaScript reference on the sizes where it finishes in seconds.
 * Sizes: n = 20, d = 10⁴; n = 100, d = 10⁶; n = 1,000, d = 10⁵. Medians of RUNS runs
 * (default 3) after one warm-up; the machine is shared, so numbers are noisy.
 * Run: npm run bench:krum   (RUNS=5 npm run bench:krum; SKIP_NUMPY=1 to skip python)
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { DistanceWorkers, multiKrum, pairwiseSquaredDistances } from '../enclave/index.ts'
import { machine, median } from './machine.ts'

const RUNS = Number(process.env.RUNS ?? 3)
const THREADS = Number(process.env.THREADS ?? 2)
const SIZES: Array<[number, number]> = [[20, 10_000], [100, 1_000_000], [1_000, 100_000]]
/** the scalar reference runs only below this many pair-coordinates (it does ~0.4·10⁹ per second) */
const JS_LIMIT = 2e9

/** n float32 updates of d standard-ish values (xorshift32, uniform in [−1, 1)); timing only. */
function updates(n: number, d: number, seed: number): Float32Array[] {
  let x = seed >>> 0 || 1
  return Array.from({ length: n }, () => {
    const u = new Float32Array(d)
    for (let k = 0; k < d; k++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
      u[k] = x / 2147483648 - 1
    }
    return u
  })
}

async function time(fn: () => unknown): Promise<number> {
  await fn() // warm-up
  const ts: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    await fn()
    ts.push((performance.now() - t0) / 1000)
  }
  return median(ts)
}

interface Row { n: number; d: number; wasm: number; workers: number; krum: number; js?: number }

async function main(): Promise<void> {
  console.log(`krum bench — ${machine()} — median of ${RUNS} runs, ${THREADS} worker threads`)
  const pool = new DistanceWorkers({ threads: THREADS })
  await pool.start()
  const rows: Row[] = []
  try {
    for (const [n, d] of SIZES) {
      const xs = updates(n, d, n * 7919 + d)
      const f = Math.floor((n - 3) / 4)
      const row: Row = {
        n, d,
        wasm: await time(() => pairwiseSquaredDistances(xs)),
        workers: await time(() => pool.pairwiseSquaredDistances(xs)),
        krum: await time(() => multiKrum(xs, { f, m: n - f })),
      }
      if ((n * (n - 1) / 2) * d <= JS_LIMIT) row.js = await time(() => pairwiseSquaredDistances(xs, 'js'))
      const rate = (t: number) => ((n * (n - 1) / 2) * d / t / 1e9).toFixed(2)
      console.log(`n=${n} d=${d}: distances wasm ${row.wasm.toFixed(3)} s (${rate(row.wasm)} G pair-coord/s), ` +
        `workers×${THREADS} ${row.workers.toFixed(3)} s, multiKrum ${row.krum.toFixed(3)} s` +
        (row.js === undefined ? '' : `, scalar js ${row.js.toFixed(3)} s`))
      rows.push(row)
    }
  } finally {
    await pool.stop()
  }
  if (process.env.SKIP_NUMPY) return
  const script = fileURLToPath(new URL('./krum_numpy.py', import.meta.url))
  const py = spawnSync('python3', [script, String(RUNS)], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (py.error !== undefined || py.status !== 0) {
    console.log(`numpy reference not run: ${py.error?.message ?? py.stderr.trim().split('\n').pop()}`)
    return
  }
  process.stdout.write(py.stdout.split('\n').filter((l) => !l.startsWith('JSON ')).join('\n'))
  const json = py.stdout.split('\n').find((l) => l.startsWith('JSON '))
  if (json === undefined) return
  const ref = JSON.parse(json.slice(5)) as { numpy: string; blas: string; results: Array<{ n: number; d: number; distances: number; multiKrum: number }> }
  console.log(`\nratio (ours / numpy ${ref.numpy}, ${ref.blas}; > 1 means slower than NumPy):`)
  for (const r of rows) {
    const p = ref.results.find((x) => x.n === r.n && x.d === r.d)
    if (p === undefined) continue
    const best = Math.min(r.wasm, r.workers)
    console.log(`n=${r.n} d=${r.d}: distances ${(best / p.distances).toFixed(1)}× (best of wasm / workers), multiKrum ${(r.krum / p.multiKrum).toFixed(1)}×`)
  }
}

await main()
