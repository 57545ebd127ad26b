/**
 * The live view `npm start` shows: a local testnet of validator processes
 * (testnet up), a steady stream of signed governance transactions sent to them
 * over HTTP (testnet/load.ts), and once a second a line with the committed
 * height, the transactions committed per second, the leader and each
 * validator's view. Ctrl-C (or --duration) stops the load and the validators.
 */
import { ApiClient } from '../node/api/index.ts'
import { grantLoad, submitTx } from './load.ts'
import { down, up } from './runner.ts'

export interface LiveOptions {
  dir: string
  validators: number
  /** transactions sent per second (default 25: one sender, under the mempool's per-sender rate limit of 32/s) */
  rate?: number
  /** stop after this many seconds (default: until aborted) */
  durationS?: number
  signal?: AbortSignal
  log: (line: string) => void
}

export interface LiveReport {
  height: number
  committedTxs: number
  seconds: number
}

export async function runLive(opts: LiveOptions): Promise<LiveReport> {
  const log = opts.log
  log(`starting ${opts.validators} validators in ${opts.dir} …`)
  const started = await up(opts.dir, { validators: opts.validators, force: true, timeoutMs: 90_000, signal: opts.signal })
  for (const v of started.validators) log(`  ${v.id}  pid ${v.pid}  api ${v.api}  p2p ${v.p2p}`)
  const names = new Map(started.validators.map((v) => [v.peerId, v.id]))
  const apis = started.validators.map((v) => v.api)
  const load = await grantLoad(opts.dir, 1) // nonce 0 went into the first block
  const rate = opts.rate ?? 25
  const t0 = Date.now()
  let sent = 0
  const retry: Uint8Array[] = []
  let committedTxs = 0
  let height = 0
  let lastHeight = -1
  const stopAt = opts.durationS === undefined ? Number.POSITIVE_INFINITY : t0 + opts.durationS * 1000
  try {
    log(`sending ${rate} signed governance transactions per second (budget re-grants by gov-1, approved by gov-2); Ctrl-C stops the testnet`)
    let next = Date.now()
    while (Date.now() < stopAt && opts.signal?.aborted !== true) {
      // one second of load, spread over the validators; a refused transaction is sent again
      // (its nonce must not be skipped, or every later one would wait behind the gap)
      const resend = retry.splice(0)
      const batch = [...resend, ...Array.from({ length: Math.max(0, rate - resend.length) }, () => load.next())]
      const results = await Promise.all(batch.map((tx, i) => submitTx(apis[(sent + i) % apis.length]!, tx).then(() => true, (e: Error) => /DUPLICATE|STALE_NONCE/.test(e.message))))
      batch.forEach((tx, i) => results[i] || retry.push(tx))
      sent += batch.length
      const statuses = await Promise.all(apis.map((a) => new ApiClient({ apis: [a] }).status({ timeoutMs: 1_000 }).catch(() => undefined)))
      const first = statuses.find((s) => s !== undefined)
      height = Math.max(0, ...statuses.map((s) => s?.committed.height ?? 0))
      if (first !== undefined && lastHeight >= 0) committedTxs += await txsBetween(apis[statuses.indexOf(first)]!, lastHeight, first.committed.height)
      if (first !== undefined) lastHeight = first.committed.height
      const seconds = (Date.now() - t0) / 1000
      const leader = first?.leader === null || first?.leader === undefined ? '-' : (names.get(first.leader.id) ?? first.leader.id)
      const views = statuses.map((s) => (s === undefined ? 'down' : `v${s.view}`)).join(' ')
      log(`t=${seconds.toFixed(0).padStart(4)}s  height ${String(height).padStart(6)}  ${(committedTxs / Math.max(1, seconds)).toFixed(1).padStart(7)} tx/s committed  leader ${leader}  views ${views}`)
      next += 1000
      const wait = next - Date.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    }
  } finally {
    log('stopping the testnet …')
    await down(opts.dir)
  }
  return { height, committedTxs, seconds: (Date.now() - t0) / 1000 }
}

/** Transactions in the blocks (from, to] as one validator reports them. */
async function txsBetween(api: string, from: number, to: number): Promise<number> {
  let n = 0
  for (let h = from + 1; h <= to; h++) {
    const res = await fetch(new URL(`/v1/blocks/${h}`, api)).catch(() => undefined)
    if (res?.ok !== true) continue
    const b = (await res.json()) as { summary?: { ok: number } }
    n += b.summary?.ok ?? 0
  }
  return n
}
