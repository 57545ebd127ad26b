/**
 * The enclave's round pipeline at the scale: 1,000 participants, d = 10^5
 * float32 values each (goal: ≤ 30 s on this machine). Updates are random
 * (xorshift32, uniform in [−1, 1)), clipped to C with clipToNorm, sealed to a fresh
 * round key and signed by per-member ed25519 keys, all outside the timed region;
 * then aggregateRound runs with cryptoRandom(), RUNS times (default 3, median).
 * Prints the total and the check / Multi-Krum / noise split, and the peak RSS:
 * sampled every 50 ms by a worker thread (the pipeline is synchronous and blocks
 * the main thread) and process.resourceUsage().maxRSS.
 * THREADS=k (default 2) computes Multi-Krum's distances on k worker threads
 * (aggregateRoundOn, same outcome); THREADS=0 runs everything inline.
 * Run: npm run bench:round   (N=…, D=…, RUNS=…, F=…, M=… to change the scale)
 */
import { Worker } from 'node:worker_threads'
import { aggregateRound, aggregateRoundOn, clipToNorm, cryptoRandom, DistanceWorkers, generateRoundKey, sealUpdate } from '../enclave/index.ts'
import { type CommitRecord } from '../ledger/index.ts'
import { keyPairFromSeed, sha256 } from '../primitives/index.ts'
import { machine, median } from './machine.ts'

const N = Number(process.env.N ?? 1_000)
const D = Number(process.env.D ?? 100_000)
const RUNS = Number(process.env.RUNS ?? 3)
const THREADS = Number(process.env.THREADS ?? 2)
const F = Number(process.env.F ?? Math.floor((N - 3) / 4))
const M = Number(process.env.M ?? N - F)
const CHAIN = 'bench-chain'
const ROUND = 'r1'
const training = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }
const SCALE = 2 ** 16
const MiB = 2 ** 20

/** A worker that records the process's peak RSS every 50 ms into shared memory. */
function rssSampler(): { peak: () => number; reset: () => void; stop: () => Promise<number> } {
  const shared = new Float64Array(new SharedArrayBuffer(16)) // [peak bytes, stop flag]
  const code = `
    const { workerData } = require('node:worker_threads')
    const s = new Float64Array(workerData)
    const tick = () => { const r = process.memoryUsage.rss(); if (r > s[0]) s[0] = r; if (s[1] === 0) setTimeout(tick, 50) }
    tick()`
  const worker = new Worker(code, { eval: true, workerData: shared.buffer })
  return {
    peak: () => shared[0]!,
    reset: () => { shared[0] = process.memoryUsage.rss() },
    stop: async () => { shared[1] = 1; return worker.terminate() },
  }
}

function randomUpdate(seed: number): Float32Array {
  let x = seed >>> 0 || 1
  const v = new Float64Array(D)
  for (let k = 0; k < D; k++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0
    v[k] = x / 2147483648 - 1
  }
  return clipToNorm(v, training.clipNorm)
}

async function main(): Promise<void> {
  console.log(`enclave round bench — ${machine()}`)
  console.log(`n = ${N} participants, d = ${D} float32, f = ${F}, m = ${M}, C = ${training.clipNorm}, σ = ${training.noiseMultiplier}, scale = 2^${Math.log2(SCALE)}, ${RUNS} run(s)`)
  const roundKey = generateRoundKey()
  const t0 = performance.now()
  const commits: CommitRecord[] = []
  const envelopes = new Map<string, Uint8Array>()
  const memberKeys = new Map<string, Uint8Array>()
  for (let i = 0; i < N; i++) {
    const member = `bank-${String(i).padStart(4, '0')}`
    const keys = keyPairFromSeed(sha256(new TextEncoder().encode(`bench member ${member}`)))
    const s = sealUpdate({ chain: CHAIN, round: ROUND, member, memberSecretKey: keys.secretKey, roundPublicKey: roundKey.publicKey, update: randomUpdate(i * 7919 + 1) })
    commits.push({ round: ROUND, member, seq: i, ciphertext: s.ciphertext, plaintextHash: s.statement.plaintextHash, declaredNorm: s.statement.declaredNorm, statementSig: s.statementSig, height: 1 })
    envelopes.set(member, s.envelope)
    memberKeys.set(member, keys.publicKey)
  }
  console.log(`setup (not timed): ${N} updates generated, clipped and sealed in ${((performance.now() - t0) / 1000).toFixed(1)} s; rss ${(process.memoryUsage.rss() / MiB).toFixed(0)} MiB`)

  const round = { id: ROUND, aggregation: { f: F, m: M }, training, steps: 100 }
  const pool = THREADS > 0 ? new DistanceWorkers({ threads: THREADS }) : undefined
  await pool?.start()
  console.log(THREADS > 0 ? `Multi-Krum distances on ${THREADS} worker threads (aggregateRoundOn)` : 'everything on the main thread (aggregateRound)')
  const sampler = rssSampler()
  const rows: Array<{ total: number; check: number; krum: number; noise: number; included: number; peak: number }> = []
  try {
    for (let r = 0; r < RUNS; r++) {
      sampler.reset()
      const start = performance.now()
      const input = { chain: CHAIN, round, dimension: D, commits, envelopes, memberKeys, roundSecretKey: roundKey.secretKey, scale: SCALE }
      const o = pool === undefined ? aggregateRound(input, cryptoRandom()) : await aggregateRoundOn(input, cryptoRandom(), pool)
      const total = (performance.now() - start) / 1000
      await new Promise((resolve) => setTimeout(resolve, 120)) // let the sampler take a last reading
      if (o.kind !== 'aggregated') throw new Error(`round was ${o.kind}`)
      const t = o.timings
      rows.push({ total, check: t.checkMs / 1000, krum: t.krumMs / 1000, noise: t.noiseMs / 1000, included: o.included.length, peak: sampler.peak() })
      console.log(`run ${r + 1}: total ${total.toFixed(2)} s = check ${(t.checkMs / 1000).toFixed(2)} s + Multi-Krum ${(t.krumMs / 1000).toFixed(2)} s + noise ${(t.noiseMs / 1000).toFixed(2)} s (+ transcript); ` +
        `${o.included.length} included, ${o.excluded.length} excluded; peak rss ${(sampler.peak() / MiB).toFixed(0)} MiB`)
    }
  } finally {
    await sampler.stop()
    await pool?.stop()
  }
  const med = (k: 'total' | 'check' | 'krum' | 'noise') => median(rows.map((x) => x[k])).toFixed(2)
  console.log(`median of ${rows.length}: total ${med('total')} s (check ${med('check')} s, Multi-Krum ${med('krum')} s, noise ${med('noise')} s); goal ≤ 30 s`)
  console.log(`peak rss: sampled ${(Math.max(...rows.map((x) => x.peak)) / MiB).toFixed(0)} MiB, maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (whole process, setup included)`)
}

await main()
