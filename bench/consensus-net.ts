// `npm run bench:consensus -- [--validators 4] [--batch 1,100,400,800] [--seconds 15] [--warmup 5] [--runs 1]`
// `npm run bench:consensus -- --workload B [--validators 4] [--rate 2000,4000,6000,8000] [--senders 400] [--batch 2000]`
// `npm run bench:consensus -- --workload B --gate [--peak TX_PER_S] [--senders 400] [--seconds 15] [--warmup 5]`
// Workload B (bench/workload-b.ts): signed ledger transactions from HTTP clients. A row
// fails when accepted transactions never commit (`lost`). The gate (bench/overload-gate.ts)
// finds the peak committed rate, then offers 1×, 2× and 4× of it and fails (exit 1) when
// a row commits under 90 % of the peak or loses an accepted transaction.
// Workload A: starts N validator processes on 127.0.0.1 (noop app: the HotStuff paper's workload A,
// 32-byte unsigned no-op commands), each keeping its mempool topped up, and reports the
// committed commands/s (as validator 0 executes them) and the p50/p99 commit latency of
// every validator's own commands, per batch size. Ports and keys come from a fresh
// testnet folder per run, removed afterwards.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateTestnet, nodeBinary } from '../testnet/index.ts'
import { machine } from './machine.ts'
import { gateRunner, ROW_HEADER, row } from './overload-gate.ts'
import { runWorkloadB, type WorkloadBResult } from './workload-b.ts'

const { values } = parseArgs({ options: { gate: { type: 'boolean', default: false }, peak: { type: 'string' }, validators: { type: 'string', default: '4' }, batch: { type: 'string', default: '1,100,400,800' }, seconds: { type: 'string', default: '15' }, warmup: { type: 'string', default: '5' }, runs: { type: 'string', default: '1' }, workload: { type: 'string', default: 'A' }, rate: { type: 'string', default: '2000,4000,6000,8000' }, senders: { type: 'string', default: '400' } } })
const n = Number(values.validators)
const batches = values.batch.split(',').map(Number)
const here = new URL('.', import.meta.url).pathname

interface NodeResult { index: number; committed: number; blocks: number; seconds: number; latencies: number; p50: number | null; p99: number | null }

async function runOnce(batch: number): Promise<{ cmdsPerS: number; blocksPerS: number; p50: number; p99: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'fedledger-bench-'))
  try {
    const file = await generateTestnet({ dir, validators: n, app: 'noop', consensus: { maxBatch: batch, baseTimeoutMs: 1000 }, logLevel: 'warn' })
    const outstanding = Math.max(2 * batch, 8)
    const procs = file.validators.map((v) =>
      spawn(nodeBinary(), [join(here, 'consensus-node.ts'), '--home', join(dir, v.home), '--index', String(v.index), '--warmup', values.warmup, '--seconds', values.seconds, '--outstanding', String(outstanding)], { stdio: ['ignore', 'pipe', 'inherit'] }),
    )
    const results = await Promise.all(procs.map((p) => new Promise<NodeResult>((resolve, reject) => {
      let out = ''
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      p.on('exit', (code) => {
        const line = out.trim().split('\n').at(-1)
        if (code !== 0 || line === undefined || line === '') reject(new Error(`validator exited ${code}: ${out.slice(-500)}`))
        else resolve(JSON.parse(line) as NodeResult)
      })
    })))
    const r0 = results.find((r) => r.index === 0)!
    const p50s = results.map((r) => r.p50).filter((x): x is number => x !== null).sort((a, b) => a - b)
    const p99s = results.map((r) => r.p99).filter((x): x is number => x !== null).sort((a, b) => a - b)
    return { cmdsPerS: r0.committed / r0.seconds, blocksPerS: r0.blocks / r0.seconds, p50: p50s[Math.floor(p50s.length / 2)] ?? NaN, p99: p99s.at(-1) ?? NaN }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (values.workload === 'B') {
  const batch = values.batch === '1,100,400,800' ? 2000 : Number(values.batch)
  const b = (rate: number) => runWorkloadB({ validators: n, batch, senders: Number(values.senders), rate, warmup: Number(values.warmup), seconds: Number(values.seconds) })
  console.log(machine())
  console.log(`validators ${n}, workload B (budget.grant from ${values.senders} senders, one ed25519 signature each, POST /v1/txs/batch), block limit ${batch}, ${values.seconds} s measured after ${values.warmup} s warm-up, ${values.runs} run(s) each`)
  if (values.gate) process.exit((await gateRunner(b, { peak: values.peak === undefined ? undefined : Number(values.peak), runs: Number(values.runs) })) ? 0 : 1)
  console.log(ROW_HEADER)
  let lost = 0
  for (const rate of values.rate.split(',').map(Number)) {
    const runs: WorkloadBResult[] = []
    for (let k = 0; k < Number(values.runs); k++) runs.push(await b(rate))
    lost += runs.reduce((t, r) => t + r.lost, 0)
    console.log(row(rate, runs))
  }
  if (lost > 0) console.log(`FAIL: ${lost} accepted transaction(s) never committed`)
  process.exit(lost > 0 ? 1 : 0)
}

console.log(machine())
console.log(`validators ${n}, workload A (32-byte no-op commands), ${values.seconds} s measured after ${values.warmup} s warm-up, ${values.runs} run(s) each`)
console.log('batch | commands/s | blocks/s | p50 latency ms | p99 latency ms')
for (const batch of batches) {
  const runs = []
  for (let k = 0; k < Number(values.runs); k++) runs.push(await runOnce(batch))
  runs.sort((a, b) => a.cmdsPerS - b.cmdsPerS)
  const med = runs[Math.floor(runs.length / 2)]!
  console.log(`${String(batch).padStart(5)} | ${med.cmdsPerS.toFixed(0).padStart(10)} | ${med.blocksPerS.toFixed(1).padStart(8)} | ${med.p50.toFixed(1).padStart(14)} | ${med.p99.toFixed(1).padStart(14)}${runs.length > 1 ? `   (runs: ${runs.map((r) => r.cmdsPerS.toFixed(0)).join(', ')} cmds/s)` : ''}`)
}
