// The client process of workload B (bench/workload-b.ts starts it against a running
// testnet that has load senders). It signs every transaction before the clock starts
// (budget re-affirmations, one ed25519 signature each, nonces counting up per
// sender), then submits them open-loop at a fixed rate over HTTP with
// POST /v1/txs/batch: sender i always to validator i mod n, one request in flight per
// validator, so each sender's nonces arrive in order. It behaves as the API asks a
// client to: a refusal that carries retryAfterMs ("not now": the node is full, the
// sender is ahead of its window) is offered again after that long, ahead of anything
// newer, so each sender's nonces stay in order; any other refusal is final.
//
// It watches one validator's GET /v1/events/blocks and reports, as one JSON line:
// the transactions committed during the measured window, the commit latency of those
// submitted in it (from handing the batch to the API to seeing the block event, on
// this machine's clock), and what became of every transaction it offered. After the
// offering stops it waits up to --drain seconds for everything the nodes accepted to
// commit: an accepted transaction that never commits is `lost`, a failure (the
// process then exits 3 after its report); `unsent` are those the nodes kept
// deferring until the end (backpressure, not a failure).
import { parseArgs } from 'node:util'
import { txId } from '../ledger/index.ts'
import { encode } from '../primitives/index.ts'
import { blockEvents, grantLoad, loadSenderId, readTestnetFile } from '../testnet/index.ts'

export interface LoadReport {
  offered: number
  /** committed during the measured window */
  committed: number
  blocks: number
  seconds: number
  latencies: number
  p50: number | null
  p99: number | null
  /** transactions a node accepted (answered with an id) */
  accepted: number
  /** accepted, and not committed by the end of the drain: a failure */
  lost: number
  /** final refusals by code */
  refused: Record<string, number>
  /** "not now" answers by code (each offered again later) */
  deferred: Record<string, number>
  /** handed to the client but never accepted before it stopped (the nodes kept deferring them) */
  unsent: number
  /** requests that failed (network, timeout, non-JSON answer) */
  failures: number
  /** timeout messages the validators broadcast over the whole run (warm-up and drain included), summed over them: one stalled view counts about n */
  viewTimeouts: number
}

const { values } = parseArgs({ options: { dir: { type: 'string' }, senders: { type: 'string' }, rate: { type: 'string' }, warmup: { type: 'string', default: '5' }, seconds: { type: 'string', default: '15' }, drain: { type: 'string', default: '30' }, watch: { type: 'string', default: '0' } } })
const dir = values.dir!
const senders = Number(values.senders)
const rate = Number(values.rate)
const warmupMs = Number(values.warmup) * 1000
const measureMs = Number(values.seconds) * 1000
const drainMs = Number(values.drain) * 1000
const file = await readTestnetFile(dir)
const apis = file.validators.map((v) => v.api)

// ---- sign everything first ----------------------------------------------------
const perSender = Math.ceil((rate * (warmupMs + measureMs)) / 1000 / senders) + 1
/** a signed transaction and its id (computed once: the client must cost the machine little beside the validators) */
interface Item {
  tx: Uint8Array
  id: string
}
const queues: Item[][] = []
for (let s = 0; s < senders; s++) {
  const load = await grantLoad(dir, 0, loadSenderId(s))
  queues.push(Array.from({ length: perSender }, () => {
    const tx = load.next()
    return { tx, id: txId(tx).toString() }
  }))
}

// ---- watch commits -------------------------------------------------------------
/** id → when it was first offered */
const sentAt = new Map<string, number>()
const accepted = new Set<string>()
const committedIds = new Set<string>()
/** accepted and not seen committed yet */
const awaiting = new Set<string>()
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
    committedIds.add(id)
    awaiting.delete(id)
    const sent = sentAt.get(id)
    if (sent !== undefined && inWindow(sent)) latencies.push(at - sent)
  }
})
await stream.ready

// ---- submit at the rate ----------------------------------------------------------
/** a client hands what fell due to each validator this often (one batch per validator per tick, at most) */
const TICK_MS = 20
const refused = new Map<string, number>()
const deferred = new Map<string, number>()
const count = (m: Map<string, number>, code: string) => m.set(code, (m.get(code) ?? 0) + 1)
/**
 * What waits for each validator: `retry` (deferred, offered again first) then `fresh`
 * from `head` on. Both are in each sender's nonce order, and every deferred item is
 * older than every fresh one, so taking retry then fresh keeps each sender in order.
 */
const outbox = apis.map(() => ({ retry: [] as Item[], fresh: [] as Item[], head: 0 }))
const waiting = (v: number) => outbox[v]!.retry.length + outbox[v]!.fresh.length - outbox[v]!.head
/** up to `max` items for validator v: deferred ones first */
function takeBatch(v: number, max: number): Item[] {
  const o = outbox[v]!
  const batch = o.retry.splice(0, max)
  const more = Math.min(max - batch.length, o.fresh.length - o.head)
  for (let i = 0; i < more; i++) batch.push(o.fresh[o.head++]!)
  if (o.head > 100_000) (o.fresh = o.fresh.slice(o.head)), (o.head = 0)
  return batch
}
const busy = apis.map(() => false)
/** no request to validator v before this time (it asked us to wait) */
const notBefore = apis.map(() => 0)
let failures = 0
let stopped = false
/** the shortest wait before offering deferred transactions again */
const MIN_RETRY_MS = 50

type Answer = { results?: Array<{ id?: string; error?: { code: string; retryAfterMs?: number } }>; error?: { code: string; retryAfterMs?: number } }

async function post(v: number): Promise<void> {
  if (stopped || busy[v] || waiting(v) === 0 || performance.now() < notBefore[v]!) return
  busy[v] = true
  const batch = takeBatch(v, 1000)
  const at = performance.now()
  // latency counts from the first offer: a transaction offered again keeps its time
  for (const { id } of batch) if (!sentAt.has(id)) sentAt.set(id, at)
  let again: Item[] = []
  let waitMs = 0
  try {
    const res = await fetch(new URL('/v1/txs/batch', apis[v]), { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: encode(batch.map((i) => i.tx)), signal: AbortSignal.timeout(10_000) })
    const body = (await res.json()) as Answer
    if (body.results === undefined) {
      // the whole batch was refused: "not now" (FULL, 503 + Retry-After) or a failure
      if (body.error?.retryAfterMs !== undefined) {
        count(deferred, body.error.code)
        waitMs = body.error.retryAfterMs
        again = batch
      } else {
        // refused whole and for good (a malformed request): a bug here, not load; counted, not offered again
        failures++
        count(refused, body.error?.code ?? `HTTP ${res.status}`)
      }
    } else {
      body.results.forEach((r, i) => {
        if (r.error === undefined) {
          accepted.add(batch[i]!.id)
          if (!committedIds.has(batch[i]!.id)) awaiting.add(batch[i]!.id)
        }
        else if (r.error.retryAfterMs !== undefined) {
          // not now: offered again, in order, ahead of what came later
          count(deferred, r.error.code)
          waitMs = Math.max(waitMs, r.error.retryAfterMs)
          again.push(batch[i]!)
        } else count(refused, r.error.code)
      })
    }
  } catch {
    failures++
    again = batch
    waitMs = 100
  } finally {
    busy[v] = false
  }
  if (again.length > 0) {
    outbox[v]!.retry = again.concat(outbox[v]!.retry)
    waitMs = Math.max(MIN_RETRY_MS, waitMs)
    notBefore[v] = performance.now() + waitMs
    setTimeout(() => void post(v), waitMs)
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
    const item = queues[s]![next[s]!++]
    if (item === undefined) break
    outbox[s % apis.length]!.fresh.push(item)
  }
  for (let v = 0; v < apis.length; v++) void post(v)
  await new Promise((r) => setTimeout(r, TICK_MS))
}
// stop offering; wait for everything accepted to commit (or the drain to run out)
stopped = true
// requests still in flight may yet be accepted: their answers come first
while (busy.some((b) => b)) await new Promise((r) => setTimeout(r, 20))
const drainEnd = performance.now() + drainMs
let streamEnded = false
void stream.ended.then(() => (streamEnded = true))
while (performance.now() < drainEnd && awaiting.size > 0 && !streamEnded) await new Promise((r) => setTimeout(r, 100))
if (streamEnded) {
  // the validator closed the block stream (e.g. this client fell behind it): commits went unseen, the counts are wrong
  process.stderr.write('load client: the block event stream ended before the run did; no report\n')
  process.exit(4)
}
stream.close()
// how many views the validators gave up on (a view timeout wastes a block interval): the sum over all of them
const timeouts = await Promise.all(apis.map(async (api) => {
  try {
    const text = await (await fetch(new URL('/metrics', api), { signal: AbortSignal.timeout(5_000) })).text()
    return Number(/^fedledger_view_timeouts_total (\d+)/m.exec(text)?.[1] ?? NaN)
  } catch {
    return NaN
  }
}))

latencies.sort((a, b) => a - b)
const pct = (p: number) => (latencies.length === 0 ? null : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!)
const report: LoadReport = {
  offered: rate,
  committed,
  blocks,
  seconds: measureMs / 1000,
  latencies: latencies.length,
  p50: pct(0.5),
  p99: pct(0.99),
  accepted: accepted.size,
  lost: awaiting.size,
  refused: Object.fromEntries(refused),
  deferred: Object.fromEntries(deferred),
  unsent: apis.reduce((n, _, v) => n + waiting(v), 0),
  viewTimeouts: timeouts.reduce((a, b) => a + b, 0),
  failures,
}
process.stdout.write(JSON.stringify(report) + '\n')
process.exit(report.lost > 0 ? 3 : 0)
