// The client process of workload B (bench/workload-b.ts starts it against a running
// testnet that has load senders). It signs every transaction before the clock starts
// (budget re-affirmations, one ed25519 signature each, nonces counting up per
// sender), then submits them open-loop at a fixed rate over HTTP with
// POST /v1/txs/batch: sender i always to validator i mod n, one request in flight per
// validator, so each sender's nonces arrive in order. It watches one validator's
// GET /v1/events/blocks and reports, as one JSON line, the transactions committed
// during the measured window and the commit latency of those submitted in it (from
// handing the batch to the API to seeing the block event, on this machine's clock).
import { parseArgs } from 'node:util'
import { txId } from '../ledger/index.ts'
import { blockEvents, grantLoad, loadSenderId, readTestnetFile } from '../testnet/index.ts'
import { encode } from '../ledger/index.ts'

const { values } = parseArgs({ options: { dir: { type: 'string' }, senders: { type: 'string' }, rate: { type: 'string' }, warmup: { type: 'string', default: '5' }, seconds: { type: 'string', default: '15' }, watch: { type: 'string', default: '0' } } })
const dir = values.dir!
const senders = Number(values.senders)
const rate = Number(values.rate)
const warmupMs = Number(values.warmup) * 1000
const measureMs = Number(values.seconds) * 1000
const file = await readTestnetFile(dir)
const apis = file.validators.map((v) => v.api)

// ---- sign everything first ----------------------------------------------------
const perSender = Math.ceil((rate * (warmupMs + measureMs + 2_000)) / 1000 / senders)
const queues: Uint8Array[][] = []
for (let s = 0; s < senders; s++) {
  const load = await grantLoad(dir, 0, loadSenderId(s))
  queues.push(Array.from({ length: perSender }, () => load.next()))
}

// ---- watch commits -------------------------------------------------------------
const sentAt = new Map<string, number>()
const latencies: number[] = []
let committed = 0
let blocks = 0
let t0 = 0
const inWindow = (t: number) => t >= t0 + warmupMs && t < t0 + warmupMs + measureMs
const stream = blockEvents(apis[Number(values.watch)]!, (b, at) => {
  if (inWindow(at)) {
    committed += b.txs.length
    blocks++
  }
  for (const id of b.txs) {
    const sent = sentAt.get(id)
    if (sent === undefined) continue
    sentAt.delete(id)
    if (inWindow(sent)) latencies.push(at - sent)
  }
})
await stream.ready

// ---- submit at the rate ----------------------------------------------------------
/** a client hands what fell due to each validator this often (one batch per validator per tick, at most) */
const TICK_MS = 20
const refused = new Map<string, number>()
/** refusals that mean "not now": the mempool is at its limit for clients, or the sender's rate is */
const RETRY = new Set(['FULL', 'MEMPOOL_FULL', 'RATE_LIMITED'])
const outbox: Uint8Array[][] = apis.map(() => [])
const busy = apis.map(() => false)
let failures = 0

async function post(v: number): Promise<void> {
  if (busy[v] || outbox[v]!.length === 0) return
  busy[v] = true
  const batch = outbox[v]!.splice(0, 1000)
  const at = performance.now()
  // latency counts from the first offer: a transaction the node asks to retry keeps its time
  for (const tx of batch) {
    const id = txId(tx).toString()
    if (!sentAt.has(id)) sentAt.set(id, at)
  }
  let retry: Uint8Array[] = []
  try {
    const res = await fetch(new URL('/v1/txs/batch', apis[v]), { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: encode(batch), signal: AbortSignal.timeout(10_000) })
    const body = (await res.json()) as { results?: Array<{ id?: string; error?: { code: string } }>; error?: { code: string } }
    if (!res.ok) retry = batch
    ;(body.results ?? []).forEach((r, i) => {
      if (r.error === undefined) return
      refused.set(r.error.code, (refused.get(r.error.code) ?? 0) + 1)
      // a well-behaved client offers again what the node asked it to retry, in nonce order
      if (RETRY.has(r.error.code)) retry.push(batch[i]!)
    })
  } catch {
    failures++
    retry = batch
  } finally {
    busy[v] = false
  }
  if (retry.length > 0) {
    outbox[v]!.unshift(...retry)
    setTimeout(() => void post(v), 50) // back off a little
  } else void post(v)
}

t0 = performance.now()
let handed = 0
let turn = 0
const next = queues.map(() => 0)
const end = t0 + warmupMs + measureMs
while (performance.now() < end) {
  const due = Math.floor(((performance.now() - t0) / 1000) * rate)
  for (; handed < due; handed++) {
    const s = turn++ % senders
    const tx = queues[s]![next[s]!++]
    if (tx === undefined) break
    outbox[s % apis.length]!.push(tx)
  }
  for (let v = 0; v < apis.length; v++) void post(v)
  await new Promise((r) => setTimeout(r, TICK_MS))
}
// let the last submitted transactions commit before the report (they count only for latency)
await new Promise((r) => setTimeout(r, 2_000))
stream.close()

latencies.sort((a, b) => a - b)
const pct = (p: number) => (latencies.length === 0 ? null : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!)
process.stdout.write(JSON.stringify({ offered: rate, committed, blocks, seconds: measureMs / 1000, latencies: latencies.length, p50: pct(0.5), p99: pct(0.99), unseen: sentAt.size, refused: Object.fromEntries(refused), failures }) + '\n')
process.exit(0)
