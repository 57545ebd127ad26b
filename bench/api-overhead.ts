// The HTTP API's own cost per request, without consensus: an ApiServer over the test
// ledger fixture whose submit admits nothing but an id, hit from this process over
// keep-alive connections with the two requests workload B's clients make (POST
// /v1/txs/batch of 100 transactions, POST /v1/txs) and a read (GET /v1/status).
//   node bench/api-overhead.ts [--seconds 5] [--connections 8] [--runs 3]
// Prints requests/s and p50/p99 latency per request kind (the median of the runs).
import { parseArgs } from 'node:util'
import { Agent, request } from 'node:http'
import { encode } from '../primitives/index.ts'
import { buildChain, startApi } from '../test/node/api/fixture.ts'
import { machine, median } from './machine.ts'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '8' }, runs: { type: 'string', default: '3' } } })
const SECONDS = Number(values.seconds)
const CONNECTIONS = Number(values.connections)
const RUNS = Number(values.runs)

const tx = (i: number) => encode({ type: 'bench', i, pad: new Uint8Array(160) })
const batch = encode(Array.from({ length: 100 }, (_, i) => tx(i)))
const single = tx(1)

const built = await buildChain()
let n = 0
const api = await startApi(built, { submit: async () => ({ id: `bafy-bench-${n++}` }) })
const { host, port } = api.server.address()
const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })

function call(method: string, path: string, body?: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const req = request({ host, port, method, path, agent, headers: body === undefined ? {} : { 'content-type': 'application/cbor', 'content-length': String(body.length) } }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode! < 300 ? resolve(performance.now() - started) : reject(new Error(`${method} ${path}: ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function load(method: string, path: string, body?: Uint8Array): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies: number[] = []
  const until = performance.now() + SECONDS * 1000
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < until) latencies.push(await call(method, path, body))
  }))
  latencies.sort((a, b) => a - b)
  return { rps: latencies.length / SECONDS, p50: latencies[Math.floor(latencies.length / 2)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! }
}

console.log(machine())
console.log(`${CONNECTIONS} keep-alive connections, ${SECONDS} s per run, median of ${RUNS} runs`)
for (const [label, method, path, body] of [
  ['POST /v1/txs/batch (100 txs)', 'POST', '/v1/txs/batch', batch],
  ['POST /v1/txs', 'POST', '/v1/txs', single],
  ['GET /v1/status', 'GET', '/v1/status', undefined],
] as const) {
  await load(method, path, body) // warm-up
  const runs = []
  for (let r = 0; r < RUNS; r++) runs.push(await load(method, path, body))
  const rps = runs.map((x) => x.rps)
  console.log(`${label.padEnd(30)} ${median(rps).toFixed(0).padStart(7)} req/s (${rps.map((x) => x.toFixed(0)).join(', ')})  p50 ${median(runs.map((x) => x.p50)).toFixed(2)} ms  p99 ${median(runs.map((x) => x.p99)).toFixed(2)} ms`)
}
agent.destroy()
await api.server.stop()
