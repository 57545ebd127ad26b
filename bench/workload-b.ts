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
import type { LoadReport } from './load-client.ts'

export interface WorkloadBOptions {
  validators: number
  /** the block size limit (consensus maxBatch) */
  batch: number
  senders: number
  rate: number
  warmup: number
  seconds: number
}

/** What the load client reports (bench/load-client.ts): `lost` > 0 means accepted transactions never committed. */
export type WorkloadBResult = LoadReport

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
          // exit 3: the report is there, and it says that accepted transactions were lost
          const line = out.trim().split('\n').at(-1)
          if ((code !== 0 && code !== 3) || line === undefined || line === '') reject(new Error(`load client exited ${code}: ${out.slice(-500)}`))
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
