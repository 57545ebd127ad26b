// One validator process of `npm run bench:consensus` (bench/consensus-net.ts starts N of them).
// It runs a ValidatorNode from a testnet home and keeps its own mempool topped up with
// 32-byte no-op commands (workload A: generated inside the process, no client hop), then
// reports, as one JSON line, the commands committed during the measured window and the
// commit latency of its own commands (from entering the mempool to being executed here).
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { readGenesis, readKey, readNodeConfig } from '../node/config.ts'
import { ValidatorNode } from '../node/node.ts'

const { values } = parseArgs({ options: { home: { type: 'string' }, index: { type: 'string' }, warmup: { type: 'string', default: '5' }, seconds: { type: 'string', default: '15' }, outstanding: { type: 'string', default: '800' } } })
const home = values.home!
const index = Number(values.index)
const warmupMs = Number(values.warmup) * 1000
const measureMs = Number(values.seconds) * 1000
const outstanding = Number(values.outstanding)
const [config, genesis, key] = await Promise.all([readNodeConfig(home), readGenesis(home), readKey(home)])

const injected = new Map<string, number>()
const latencies: number[] = []
let measuring = false
let committed = 0
let blocks = 0
let counter = 0
const keyOf = (c: Uint8Array) => Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('hex')

const node = new ValidatorNode({
  home, config, genesis, key, logger: pino({ level: 'warn' }),
  onCommitted(bs) {
    const now = performance.now()
    for (const b of bs) {
      if (measuring) { blocks++; committed += b.payload.length }
      for (const c of b.payload) {
        const k = keyOf(c)
        const at = injected.get(k)
        if (at === undefined) continue
        injected.delete(k)
        if (measuring) latencies.push(now - at)
      }
    }
  },
})
await node.start()

/** keeps `outstanding` of this node's commands pending */
function topUp(): void {
  const want = outstanding - injected.size
  if (want <= 0) return
  const cmds: Uint8Array[] = []
  const now = performance.now()
  for (let i = 0; i < want; i++) {
    const c = new Uint8Array(32)
    const v = new DataView(c.buffer)
    v.setUint32(0, index)
    v.setFloat64(4, counter++)
    v.setFloat64(12, now)
    injected.set(keyOf(c), now)
    cmds.push(c)
  }
  node.submitLocal(cmds)
}
const timer = setInterval(topUp, 2)
await new Promise((r) => setTimeout(r, warmupMs))
measuring = true
const t0 = performance.now()
await new Promise((r) => setTimeout(r, measureMs))
measuring = false
const elapsed = (performance.now() - t0) / 1000
clearInterval(timer)
latencies.sort((a, b) => a - b)
const pct = (p: number) => (latencies.length === 0 ? null : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!)
process.stdout.write(JSON.stringify({ index, committed, blocks, seconds: elapsed, latencies: latencies.length, p50: pct(0.5), p99: pct(0.99) }) + '\n')
await node.stop()
process.exit(0)
