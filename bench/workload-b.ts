// Workload B of `npm run bench:consensus -- --workload B`: signed ledger transactions
// from clients. Brings up a testnet of N real validator processes (`fedledger node
// start`, ledger app) with load senders in its genesis, runs bench/load-client.ts
// against their HTTP APIs at a fixed offered rate, and reports what validator 0's
// block events show committed, with the clients' commit latency. The testnet folder
// is fresh per run and removed afterwards.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { down, nodeBinary, up } from '../testnet/index.ts'

export interface WorkloadBOptions {
  validators: number
  /** the block size limit (consensus maxBatch) */
  batch: number
  senders: number
  rate: number
  warmup: number
  seconds: number
}

export interface WorkloadBResult {
  offered: number
  committed: number
  blocks: number
  seconds: number
  latencies: number
  p50: number | null
  p99: number | null
  unseen: number
  refused: Record<string, number>
  failures: number
}

const here = new URL('.', import.meta.url).pathname

export async function runWorkloadB(o: WorkloadBOptions): Promise<WorkloadBResult> {
  const dir = await mkdtemp(join(tmpdir(), 'fedledger-bench-b-'))
  try {
    await up(dir, { validators: o.validators, loadSenders: o.senders, consensus: { maxBatch: o.batch, baseTimeoutMs: 1000 }, logLevel: 'warn', timeoutMs: 60_000 })
    try {
      const client = spawn(nodeBinary(), [join(here, 'load-client.ts'), '--dir', dir, '--senders', String(o.senders), '--rate', String(o.rate), '--warmup', String(o.warmup), '--seconds', String(o.seconds)], { stdio: ['ignore', 'pipe', 'inherit'] })
      return await new Promise<WorkloadBResult>((resolve, reject) => {
        let out = ''
        client.stdout.on('data', (d: Buffer) => (out += d.toString()))
        client.on('exit', (code) => {
          const line = out.trim().split('\n').at(-1)
          if (code !== 0 || line === undefined || line === '') reject(new Error(`load client exited ${code}: ${out.slice(-500)}`))
          else resolve(JSON.parse(line) as WorkloadBResult)
        })
      })
    } finally {
      await down(dir, { stopTimeoutMs: 5_000 })
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
