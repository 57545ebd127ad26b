// Consensus core throughput, in-process, on the simulator's zero-latency network (npm run bench:consensus-core).
//   node bench/consensus.ts [--sizes 4,7,10,16,31,64] [--batch 400] [--blocks 60] [--scheme ed25519|sim]
// Every replica runs in this one process on one core, so n replicas share it: this measures
// the core's own cost per block (signing, verifying, aggregating, bookkeeping), not a network.
import { parseArgs } from 'node:util'
import { ed25519Scheme, ed25519Signer } from '../consensus/index.ts'
import { keyPairFromSeed, sha256 } from '../primitives/index.ts'
import { simulate } from '../test/consensus/sim/simulator.ts'
import { machine } from './machine.ts'

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '4,7,10,16,31,64' }, batch: { type: 'string', default: '400' }, blocks: { type: 'string', default: '60' }, scheme: { type: 'string', default: 'ed25519' } } })
const sizes = values.sizes.split(',').map(Number)
const batch = Number(values.batch)
const blocks = Number(values.blocks)

function crypto(n: number) {
  const keys = Array.from({ length: n }, (_, i) => keyPairFromSeed(sha256(new TextEncoder().encode(`bench-validator-${i}`))))
  return { scheme: ed25519Scheme(keys.map((k) => k.publicKey)), signer: (i: number) => ed25519Signer(i, keys[i]!.secretKey) }
}

console.log(`# consensus core, in-process, zero-latency network — ${machine()}`)
console.log(`# scheme ${values.scheme}, batch ${batch} commands of 32 bytes, ~${blocks} blocks per run`)
console.log('|  n | blocks/s | commands/s | messages per block (happy path) | timeout messages per view change | blocks with a leader down |')
console.log('|---:|---------:|-----------:|--------------------------------:|---------------------------------:|--------------------------:|')
for (const n of sizes) {
  const commands = batch * blocks
  const cryptoCfg = values.scheme === 'ed25519' ? crypto(n) : undefined
  const base = { n, seed: 1, duration: 10_000_000, gst: 0, delay: [0, 0] as [number, number], commands, injectUntil: 0, maxBatch: batch, expectLiveness: true, crypto: cryptoCfg }
  const t = process.hrtime.bigint()
  const r = simulate(base)
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  const height = Math.min(...r.committedHeight)
  // the same load with one replica down from the start: every n views its leader's view times out
  const down = simulate({ ...base, commands: batch * 20, crashes: [{ replica: 1, at: 0 }], baseTimeoutMs: 50 })
  const downHeight = Math.min(...down.committedHeight.filter((_, i) => i !== 1))
  const timeoutMsgs = down.messagesByKind.timeout ?? 0
  const transmissions = Object.values(r.messagesByKind).reduce((a, b) => a + b, 0)
  if (r.violations.length || down.violations.length) console.log('violations:', r.violations, down.violations)
  console.log(`| ${String(n).padStart(2)} | ${(height / seconds).toFixed(1).padStart(8)} | ${Math.round(r.commandsCommitted / seconds).toString().padStart(10)} | ${(transmissions / height).toFixed(1).padStart(27)} | ${(timeoutMsgs / Math.max(1, down.timedOutViews)).toFixed(0).padStart(34)} | ${downHeight}`)
}
