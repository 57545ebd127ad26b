// `npm run sim -- [--from 1] [--to 100000] [--workers 2] [--epochs]`: runs seeded scenarios on worker threads and prints a summary.
// --epochs runs the scenarios with validator-set changes (epochScenario) instead.
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { epochScenario, scenario } from './scenarios.ts'
import { simulate } from './simulator.ts'

interface Chunk { from: number; to: number; epochs: boolean }
interface Report { ran: number; failures: Array<{ seed: number; describe: string; violations: string[] }>; messages: number; byN: Record<number, number> }

function runChunk({ from, to, epochs }: Chunk): Report {
  const report: Report = { ran: 0, failures: [], messages: 0, byN: {} }
  for (let seed = from; seed <= to; seed++) {
    const s = epochs ? epochScenario(seed) : scenario(seed)
    const r = simulate(s)
    report.ran++
    report.messages += r.messages
    report.byN[s.n] = (report.byN[s.n] ?? 0) + 1
    if (r.violations.length > 0) report.failures.push({ seed, describe: s.describe, violations: r.violations.slice(0, 3) })
  }
  return report
}

if (!isMainThread) {
  parentPort!.postMessage(runChunk(workerData as Chunk))
} else {
  const { values } = parseArgs({ options: { from: { type: 'string', default: '1' }, to: { type: 'string', default: '100000' }, workers: { type: 'string', default: String(availableParallelism()) }, epochs: { type: 'boolean', default: false } } })
  const from = Number(values.from)
  const to = Number(values.to)
  const workers = Math.max(1, Number(values.workers))
  const started = Date.now()
  const total: Report = { ran: 0, failures: [], messages: 0, byN: {} }
  // chunks of 500 seeds handed to a pool of workers
  const chunks: Chunk[] = []
  for (let a = from; a <= to; a += 500) chunks.push({ from: a, to: Math.min(to, a + 499), epochs: values.epochs })
  let next = 0
  const runWorker = async (): Promise<void> => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!
      const report = await new Promise<Report>((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: chunk })
        w.once('message', resolve)
        w.once('error', reject)
      })
      total.ran += report.ran
      total.messages += report.messages
      total.failures.push(...report.failures)
      for (const [n, c] of Object.entries(report.byN)) total.byN[Number(n)] = (total.byN[Number(n)] ?? 0) + c
      process.stderr.write(`\r${total.ran} / ${to - from + 1} scenarios, ${total.failures.length} failing`)
    }
  }
  await Promise.all(Array.from({ length: workers }, runWorker))
  process.stderr.write('\n')
  const minutes = ((Date.now() - started) / 60_000).toFixed(1)
  console.log(`${values.epochs ? 'epoch scenarios' : 'seeds'} ${from}..${to}: ${total.ran} scenarios (${Object.entries(total.byN).map(([n, c]) => `n=${n}: ${c}`).join(', ')}), ${total.messages} messages, ${minutes} min on ${workers} workers`)
  console.log(`safety and liveness violations: ${total.failures.length}`)
  for (const f of total.failures.slice(0, 50)) console.log(`  ${f.describe}\n    ${f.violations.join('\n    ')}`)
  process.exitCode = total.failures.length > 0 ? 1 : 0
}
