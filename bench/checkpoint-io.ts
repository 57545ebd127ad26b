/**
 * Checkpoint I/O through the content-addressed store, default (checkpoint)
 * profile unixfs-v1-2025, into a level store on local disk:
 *
 *   import      UnixFS add of float32 model weights (chunk, hash, verify, write)
 *   cat         reading the file back (read, verify, reassemble)
 *   CAR export  the file's DAG as a CAR v1 stream (read, verify, encode)
 *   CAR import  that CAR into a fresh store (decode, verify, write)
 *
 * Payloads: 4 MB and 40 MB of float32 weights (1M and 10M parameters). Each
 * measurement uses a fresh level database; prints the median MB/s (10^6 bytes)
 * of several runs after one warm-up. Run: node_modules/.bin/node bench/checkpoint-io.ts
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { addFile, CasBlockstore, catFile, CHECKPOINT_CID_OPTIONS, exportCar, exportCarBytes, importCar, LevelKeyValueStore } from '../ledger/index.ts'
import { type CID } from '../primitives/index.ts'

const RUNS = 5
const PARAMETERS = [1_000_000, 10_000_000]

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000)

/** Deterministic pseudo-weights: small normal-ish floats (xorshift32, sum of uniforms). */
function weights(n: number, seed = 0x9e3779b9): Uint8Array {
  const w = new Float32Array(n)
  let x = seed >>> 0
  const next = () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 0x1_0000_0000
  }
  for (let i = 0; i < n; i++) w[i] = (next() + next() + next() - 1.5) * 0.05
  return new Uint8Array(w.buffer)
}

async function withStore<T>(fn: (store: CasBlockstore) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fedledger-bench-cas-'))
  const kv = new LevelKeyValueStore(dir)
  await kv.open()
  try {
    return await fn(new CasBlockstore({ kv }))
  } finally {
    await kv.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Times `fn` (RUNS + 1 warm-up) on a store prepared by `setup`; median MB/s of `bytes`. */
async function measure<S>(bytes: number, setup: (store: CasBlockstore) => Promise<S>, fn: (store: CasBlockstore, s: S) => Promise<unknown>): Promise<number> {
  const rates: number[] = []
  for (let r = 0; r <= RUNS; r++) {
    await withStore(async (store) => {
      const prepared = await setup(store)
      const t0 = performance.now()
      await fn(store, prepared)
      const ms = performance.now() - t0
      if (r > 0) rates.push(mbps(bytes, ms))
    })
  }
  return median(rates)
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0
  for await (const chunk of source) n += chunk.length
  return n
}

const cpu = cpus()[0]?.model ?? 'unknown cpu'
console.log(`machine: ${availableParallelism()} cores, ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}`)
console.log(`profile: CHECKPOINT_CID_OPTIONS (CIDv${CHECKPOINT_CID_OPTIONS.cidVersion}, raw leaves, ${CHECKPOINT_CID_OPTIONS.chunkSize} B chunks, ${CHECKPOINT_CID_OPTIONS.maxLinksPerNode} links, ${CHECKPOINT_CID_OPTIONS.layout})`)
console.log(`store: level in ${tmpdir()}; median of ${RUNS} runs after 1 warm-up; MB = 10^6 bytes\n`)
console.log(['payload'.padEnd(22), 'import'.padStart(10), 'cat'.padStart(10), 'CAR export'.padStart(12), 'CAR import'.padStart(12)].join(''))

for (const n of PARAMETERS) {
  const data = weights(n)
  const bytes = data.length
  const opts = { params: CHECKPOINT_CID_OPTIONS }
  const add = (store: CasBlockstore) => addFile(store, data, opts)

  const importRate = await measure(bytes, async () => undefined, (store) => add(store))
  const catRate = await measure(bytes, add, async (store, cid: CID) => {
    if ((await drain(catFile(store, cid))) !== bytes) throw new Error('cat returned the wrong length')
  })
  const carExportRate = await measure(bytes, add, (store, cid: CID) => drain(exportCar(store, cid)))
  const carImportRate = await measure(
    bytes,
    async () => withStore(async (source) => exportCarBytes(source, await add(source))),
    (store, car: Uint8Array) => importCar(store, car),
  )

  const label = `${(bytes / 1e6).toFixed(0)} MB (${(n / 1e6).toFixed(0)}M float32)`
  const cell = (r: number, w: number) => `${r.toFixed(0)} MB/s`.padStart(w)
  console.log([label.padEnd(22), cell(importRate, 10), cell(catRate, 10), cell(carExportRate, 12), cell(carImportRate, 12)].join(''))
}
