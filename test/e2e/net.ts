/**
 * End-to-end helpers: a real 4-validator testnet (testnet/ up/down, real node
 * processes, libp2p on 127.0.0.1) in a fresh temporary folder, bounded polling,
 * the HTTP queries the e2e tests compare across validators (status, committed
 * transactions, block ids, metrics), and the validators' JSON log lines. Cleanup
 * stops every validator by PID (checked to be ours) and removes the folder; should
 * the test process exit without cleaning up, an exit hook SIGKILLs them.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiClient, type NodeStatusView } from '../../node/api/index.ts'
import { down, isOurProcess, readPid, readTestnetFile, up, type TestnetFile, type UpOptions } from '../../testnet/index.ts'
import { waitFor as waitUntil } from '../helpers/wait.ts'

export interface Net {
  dir: string
  file: TestnetFile
  apis: string[]
  peerIds: string[]
  homes: string[]
  /** the process exit hook that kills what is left (removed by stopNet) */
  onExit: () => void
}

/** SIGKILLs each validator whose PID file names a live process started for that home (synchronous, for an exit hook). */
function killLeftovers(homes: readonly string[]): void {
  for (const home of homes) {
    try {
      const pid = Number(readFileSync(join(home, 'node.pid'), 'utf8').trim())
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
      const at = cmdline.indexOf('--home')
      if (at >= 0 && cmdline[at + 1] === home) process.kill(pid, 'SIGKILL')
    } catch {
      // no PID file, process gone, or not ours
    }
  }
}

export async function startNet(opts: Pick<UpOptions, 'consensus' | 'timeoutMs' | 'byzantine'> = {}): Promise<Net> {
  const dir = await mkdtemp(join(tmpdir(), 'fedledger-e2e-'))
  try {
    const result = await up(dir, { validators: 4, timeoutMs: opts.timeoutMs ?? 90_000, consensus: opts.consensus, byzantine: opts.byzantine, stopTimeoutMs: 3_000 })
    const file = await readTestnetFile(dir)
    const homes = result.validators.map((v) => v.home)
    const onExit = (): void => killLeftovers(homes)
    process.on('exit', onExit)
    return { dir, file, apis: file.validators.map((v) => v.api), peerIds: file.validators.map((v) => v.peerId), homes, onExit }
  } catch (e) {
    // up stops what it started; the folder goes
    await rm(dir, { recursive: true, force: true })
    throw e
  }
}

/** Stops every validator (SIGTERM, SIGKILL after 5 s), then SIGKILLs any survivor still ours by PID, and removes the folder. */
export async function stopNet(net: Net | undefined): Promise<void> {
  if (net === undefined) return
  await down(net.dir, { stopTimeoutMs: 5_000 }).catch(() => undefined)
  process.off('exit', net.onExit)
  for (const home of net.homes) {
    const pid = await readPid(home)
    if (pid !== null && (await isOurProcess(pid, home))) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  if (process.env.FEDLEDGER_E2E_KEEP === undefined) await rm(net.dir, { recursive: true, force: true })
}

export { sleep } from '../helpers/wait.ts'

/** test/helpers/wait.ts's waitFor, polling every 250 ms by default: each check here is an HTTP request to a validator. */
export function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs: number, everyMs = 250): Promise<Exclude<T, false | null | undefined>> {
  return waitUntil(what, check, timeoutMs, everyMs)
}

/** GET a JSON document; `null` on 404. Throws on other failures. */
export async function getJson<T>(api: string, path: string, timeoutMs = 3_000): Promise<T | null> {
  const res = await fetch(new URL(path, api), { signal: AbortSignal.timeout(timeoutMs) })
  const text = await res.text()
  if (res.status === 404) return null
  if (!res.ok) throw new Error(`GET ${api}${path}: HTTP ${res.status} ${text.slice(0, 200)}`)
  return JSON.parse(text) as T
}

export async function statusOf(api: string): Promise<NodeStatusView | null> {
  return new ApiClient({ apis: [api] }).status({ timeoutMs: 2_000 }).catch(() => null)
}

export async function heights(net: Net, indices: readonly number[]): Promise<number[]> {
  return Promise.all(
    indices.map(async (i) => {
      const s = await statusOf(net.apis[i]!)
      if (s === null) throw new Error(`validator-${i} does not answer /v1/status`)
      return s.committed.height
    }),
  )
}

export interface TxView {
  id: string
  height: number
  block: string
  receipt: { code: string; message: string }
}

export interface BlockView {
  id: string
  height: number
  parent: string | null
  txs: string[]
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

/**
 * Waits until every transaction in `ids` is committed on every validator in
 * `indices`, and checks each landed at the same height in the same block with
 * an OK receipt everywhere. Returns id → where it committed.
 */
export async function waitCommitted(net: Net, indices: readonly number[], ids: readonly string[], timeoutMs: number): Promise<Map<string, { height: number; block: string }>> {
  const seen = indices.map(() => new Map<string, TxView>())
  await waitFor(
    `${ids.length} transactions committed on validators ${indices.join(', ')}`,
    async () => {
      let missing = 0
      await Promise.all(
        indices.map(async (v, k) => {
          const todo = ids.filter((id) => !seen[k]!.has(id))
          const found = await mapLimit(todo, 8, (id) => getJson<TxView>(net.apis[v]!, `/v1/txs/${id}`).catch(() => null))
          todo.forEach((id, j) => (found[j] ? seen[k]!.set(id, found[j]) : missing++))
        }),
      )
      if (missing > 0) throw new Error(`${missing} (validator, transaction) pairs still missing`)
      return true
    },
    timeoutMs,
    500,
  )
  const where = new Map<string, { height: number; block: string }>()
  for (const id of ids) {
    const views = seen.map((m) => m.get(id)!)
    const first = views[0]!
    for (const v of views) {
      if (v.height !== first.height || v.block !== first.block) throw new Error(`tx ${id} committed at ${first.height}/${first.block} on one validator and ${v.height}/${v.block} on another`)
      if (v.receipt.code !== 'OK') throw new Error(`tx ${id} was refused: ${v.receipt.code} ${v.receipt.message}`)
    }
    where.set(id, { height: first.height, block: first.block })
  }
  return where
}

/** Block ids at heights from..to on one validator (throws if one is missing). */
export async function chainOf(api: string, from: number, to: number): Promise<string[]> {
  const hs = Array.from({ length: Math.max(0, to - from + 1) }, (_, k) => from + k)
  return mapLimit(hs, 8, async (h) => {
    const b = await getJson<BlockView>(api, `/v1/blocks/${h}`)
    if (b === null) throw new Error(`${api} has no block at height ${h}`)
    return b.id
  })
}

/** The value of a Prometheus sample on a validator's /metrics (summed over matching label sets; 0 when absent). */
export async function metric(api: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(new URL('/metrics', api), { signal: AbortSignal.timeout(3_000) })
  const text = await res.text()
  let sum = 0
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line)
    if (m === null || !m[1]!.endsWith(name)) continue
    const set = m[2] ?? ''
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(m[3])
  }
  return sum
}

export type LogLine = Record<string, unknown> & { msg?: string }

/** The JSON lines of a validator's node.log (the runner's own text lines are skipped). */
export async function logLines(home: string): Promise<LogLine[]> {
  const text = await readFile(join(home, 'node.log'), 'utf8').catch(() => '')
  const out: LogLine[] = []
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      out.push(JSON.parse(line) as LogLine)
    } catch {
      // a line cut by SIGKILL
    }
  }
  return out
}

/**
 * What each validator says of itself (height, view, leader, peers, mempool) and its
 * last warnings: printed when an e2e test fails, so that a CI log shows why.
 */
export async function netSummary(net: Net): Promise<string> {
  const lines: string[] = []
  for (const [i, api] of net.apis.entries()) {
    const s = await statusOf(api)
    const leader = s?.leader?.id === undefined ? '?' : `validator-${net.peerIds.indexOf(s.leader.id)}`
    lines.push(s === null ? `validator-${i}: no answer` : `validator-${i}: height ${s.committed.height}, view ${s.view}, leader ${leader}, ${s.peers} peers, ${s.mempoolSize} pending`)
    const warnings = (await logLines(net.homes[i]!)).filter((l) => typeof l.level === 'number' && l.level >= 40).slice(-8)
    for (const w of warnings) lines.push(`  ${JSON.stringify(w).slice(0, 400)}`)
  }
  return lines.join('\n')
}

/**
 * What every validator's log says went wrong among honest validators: an error
 * or fatal line (e.g. a broken invariant stopping the consensus driver), a
 * consensus message from a validator rejected, or a validator banned. The last
 * two mean a correct validator sent something judged invalid (or forged).
 */
export async function validatorFaults(net: Net): Promise<string[]> {
  const faults: string[] = []
  for (const [i, home] of net.homes.entries()) {
    for (const l of await logLines(home)) {
      if (typeof l.level === 'number' && l.level >= 50) faults.push(`validator-${i} logged level ${l.level}: ${String(l.msg)} ${JSON.stringify(l).slice(0, 300)}`)
      if (l.msg === 'rejected consensus message' && net.peerIds.includes(String(l.from))) {
        faults.push(`validator-${i} rejected ${String(l.kind)} from validator-${net.peerIds.indexOf(String(l.from))}: ${String(l.reason)} ${String(l.detail)}`)
      }
      if (l.msg === 'peer banned' && net.peerIds.includes(String(l.peer))) {
        faults.push(`validator-${i} banned validator-${net.peerIds.indexOf(String(l.peer))}: ${String(l.reason)}`)
      }
    }
  }
  return faults
}
