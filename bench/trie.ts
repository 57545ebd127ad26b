/**
 * State trie throughput: batched writes (1,000 per batch, half overwrites of
 * existing keys, half new keys) into tries of 10k and 100k keys, single-key
 * set() for comparison, and proof generation / verification.
 * Prints the median of several runs. Run: node_modules/.bin/node bench/trie.ts
 */
import { randomBytes } from 'node:crypto'
import { availableParallelism, cpus } from 'node:os'
import { encode } from '../primitives/index.ts'
import { StateTrie, verifyProof, type TrieProof } from '../ledger/state/trie.ts'

const RUNS = 7
const BATCH = 1_000
const BATCHES_PER_RUN = 20
const PROOFS_PER_RUN = 5_000
const VALUE_BYTES = 100

const value = () => new Uint8Array(randomBytes(VALUE_BYTES))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

/** Runs `fn` RUNS times (after one warm-up); returns the median of ops / second. */
function measure(ops: number, fn: () => void): number {
  fn()
  const rates: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now()
    fn()
    rates.push(ops / ((performance.now() - t0) / 1000))
  }
  return median(rates)
}

const cpu = cpus()[0]?.model ?? 'unknown cpu'
console.log(`machine: ${availableParallelism()} cores, ${cpu}; node ${process.version}`)
console.log(`median of ${RUNS} runs; values ${VALUE_BYTES} bytes\n`)

for (const n of [10_000, 100_000]) {
  const keys = Array.from({ length: n }, (_, i) => `member/${i}`)
  const t0 = performance.now()
  const base = StateTrie.fromEntries(keys.map((k) => [k, value()] as const))
  const buildMs = performance.now() - t0

  let fresh = 0
  const batches = Array.from({ length: BATCHES_PER_RUN }, () =>
    Array.from({ length: BATCH }, (_, i): [string, Uint8Array] => [
      i % 2 === 0 ? (keys[Math.floor(Math.random() * n)] as string) : `new/${fresh++}`,
      value(),
    ]),
  )
  const batchRate = measure(BATCH * BATCHES_PER_RUN, () => {
    for (const b of batches) base.applyBatch(b)
  })
  const singles = batches.slice(0, 5).flat()
  const singleRate = measure(singles.length, () => {
    let t = base
    for (const [k, v] of singles) t = t.set(k, v)
  })

  const probe = Array.from({ length: PROOFS_PER_RUN }, (_, i) => (i % 2 === 0 ? (keys[(i * 7919) % n] as string) : `absent/${i}`))
  const proofs: TrieProof[] = probe.map((k) => base.prove(k))
  const root = base.root
  const proveRate = measure(PROOFS_PER_RUN, () => {
    for (const k of probe) base.prove(k)
  })
  const verifyRate = measure(PROOFS_PER_RUN, () => {
    for (let i = 0; i < probe.length; i++) verifyProof(root, probe[i] as string, proofs[i])
  })
  const getRate = measure(PROOFS_PER_RUN, () => {
    for (const k of probe) base.get(k)
  })
  const proofBytes = median(proofs.map((p) => encode(p).length))
  const avgDepth = proofs.reduce((s, p) => s + p.depth, 0) / proofs.length

  console.log(`${fmt(n)} keys (built in ${fmt(buildMs)} ms, ${fmt(n / (buildMs / 1000))} inserts/s via fromEntries)`)
  console.log(`  applyBatch, ${fmt(BATCH)} writes/batch   ${fmt(batchRate)} writes/s  (${(BATCH / batchRate * 1000).toFixed(1)} ms/batch)`)
  console.log(`  set(), one write at a time         ${fmt(singleRate)} writes/s`)
  console.log(`  get                                 ${fmt(getRate)} reads/s`)
  console.log(`  prove                               ${fmt(proveRate)} proofs/s`)
  console.log(`  verifyProof                         ${fmt(verifyRate)} proofs/s`)
  console.log(`  proof: median ${proofBytes} bytes DAG-CBOR, mean depth ${avgDepth.toFixed(1)}\n`)
}
