/**
 * The local process runner behind `fedledger testnet up|status|down|kill|restart`.
 * Validators run as detached processes (they outlive the command that started
 * them), each recorded by <home>/node.pid and logging to <home>/node.log; every
 * signal goes through process.ts, which first checks the PID is still that
 * validator's process. `up` leaves nothing running when it fails.
 */
import { grantLoad, submitTx } from './load.ts'
import { resolve } from 'node:path'
import { ApiClient, isApiClientError, type NodeStatusView } from '../node/api/index.ts'
import { sleep, TestnetError, type NotReadyValidator } from './errors.ts'
import { generateTestnet, type GenerateOptions } from './generate.ts'
import { homeOf, readTestnetFile, validatorAt, type TestnetFile, type TestnetValidator } from './layout.ts'
import { isOurProcess, logTail, nodeLauncher, readPid, removePid, runningPid, signalOurs, spawnValidator, stopValidator, waitGone, type Launcher, type StopOutcome } from './process.ts'

export const DEFAULT_VALIDATORS = 4
export const DEFAULT_UP_TIMEOUT_MS = 60_000
export const DEFAULT_STOP_TIMEOUT_MS = 10_000
const POLL_MS = 200

export interface RunnerOptions {
  /** how a validator is started (default: `fedledger node start --home <home>`) */
  launcher?: Launcher
  signal?: AbortSignal
  /** how long a validator gets after SIGTERM before SIGKILL (default 10 s) */
  stopTimeoutMs?: number
}

export interface UpOptions extends RunnerOptions, Omit<GenerateOptions, 'dir' | 'validators'> {
  /** validators to generate when the folder holds no testnet yet (default 4) */
  validators?: number
  /** wait until every validator has committed `minHeight` (default true) */
  wait?: boolean
  timeoutMs?: number
  /** default 1 */
  minHeight?: number
}

export interface ValidatorEndpoint {
  index: number
  id: string
  peerId: string
  p2p: string
  api: string
  home: string
  pid: number
}

export interface UpResult {
  dir: string
  chainId: string
  /** true when this call generated the testnet */
  generated: boolean
  validators: ValidatorEndpoint[]
}

/** Generates the testnet if needed, starts every validator and (by default) waits for a committed block. */
export async function up(dir: string, opts: UpOptions = {}): Promise<UpResult> {
  dir = resolve(dir)
  const launcher = opts.launcher ?? nodeLauncher
  let file: TestnetFile | undefined
  try {
    file = await readTestnetFile(dir)
  } catch (e) {
    if (!(e instanceof TestnetError && e.code === 'NOT_FOUND')) throw e
  }
  let generated = false
  if (file === undefined || opts.force) {
    file = await generateTestnet({ ...opts, dir, validators: opts.validators ?? DEFAULT_VALIDATORS })
    generated = true
  } else if (opts.validators !== undefined && opts.validators !== file.validators.length) {
    throw new TestnetError('EXISTS', `${dir} holds a testnet of ${file.validators.length} validators; pass --force to replace it with ${opts.validators}`)
  }
  const running = []
  for (const v of file.validators) if ((await runningPid(homeOf(dir, v))) !== null) running.push(v.id)
  if (running.length > 0) throw new TestnetError('ALREADY_RUNNING', `${running.join(', ')} already running in ${dir}; run 'fedledger testnet down' first`)

  const started: Array<{ v: TestnetValidator; pid: number }> = []
  try {
    for (const v of file.validators) started.push({ v, pid: await spawnValidator(homeOf(dir, v), launcher) })
    if (opts.wait ?? true) {
      // a new ledger chain has nothing to order: send one real transaction so a block commits
      const kick = new AbortController()
      if (generated && file.app === 'ledger') void kickFirstBlock(dir, file, kick.signal)
      const notReady = await waitReady(dir, started, opts.minHeight ?? 1, opts.timeoutMs ?? DEFAULT_UP_TIMEOUT_MS, opts.signal).finally(() => kick.abort())
      if (notReady.length > 0) {
        const list = notReady.map((n) => `${n.id} (${n.reason})`).join(', ')
        throw new TestnetError('NOT_READY', `${notReady.length} of ${started.length} validators did not come up: ${list}; stopped them all`, { notReady })
      }
    }
  } catch (e) {
    // leave nothing running: stop what this call started, by PID
    await Promise.all(started.map(({ v }) => stopValidator(homeOf(dir, v), 2_000).catch(() => undefined)))
    throw e
  }
  return {
    dir,
    chainId: file.chainId,
    generated,
    validators: started.map(({ v, pid }) => ({ index: v.index, id: v.id, peerId: v.peerId, p2p: v.p2p, api: v.api, home: homeOf(dir, v), pid })),
  }
}

/** Submits the first transaction (a governance budget re-grant, testnet/load.ts), retrying until a validator takes it. */
async function kickFirstBlock(dir: string, file: TestnetFile, signal: AbortSignal): Promise<void> {
  try {
    const load = await grantLoad(dir)
    const tx = load.next()
    while (!signal.aborted) {
      for (const v of file.validators) {
        try {
          await submitTx(v.api, tx, signal)
          return
        } catch (e) {
          // not up yet (or not a real node): try the next one, then again
          if (process.env.FEDLEDGER_DEBUG) console.error('kick', (e as Error).message)
        }
      }
      await sleep(300, signal).catch(() => undefined)
    }
  } catch {
    // no member keys or not a ledger testnet: nothing to send
  }
}

async function waitReady(dir: string, started: Array<{ v: TestnetValidator; pid: number }>, minHeight: number, timeoutMs: number, signal?: AbortSignal): Promise<NotReadyValidator[]> {
  const deadline = Date.now() + timeoutMs
  const pending = new Map(started.map((s) => [s.v.index, { ...s, last: 'no answer yet' }]))
  const failed: Array<{ v: TestnetValidator; reason: string }> = []
  while (pending.size > 0 && failed.length === 0 && Date.now() < deadline) {
    await Promise.all(
      [...pending.values()].map(async (p) => {
        if (!(await isOurProcess(p.pid, homeOf(dir, p.v)))) {
          failed.push({ v: p.v, reason: 'exited' })
          pending.delete(p.v.index)
          return
        }
        try {
          const s = await new ApiClient({ apis: [p.v.api] }).status({ signal, timeoutMs: 1_000 })
          if (s.committed.height >= minHeight) pending.delete(p.v.index)
          else p.last = `height ${s.committed.height} after ${timeoutMs / 1000} s`
        } catch (e) {
          if (isApiClientError(e) && e.code === 'ABORTED') throw e
          p.last = `API not answering: ${(e as Error).message}`
        }
      }),
    )
    if (pending.size > 0 && failed.length === 0) await sleep(POLL_MS, signal)
  }
  // one that exited ends the wait at once: report it alone, not the others still starting
  const all = failed.length > 0 ? failed : [...pending.values()].map((p) => ({ v: p.v, reason: p.last }))
  return Promise.all(all.map(async ({ v, reason }) => ({ index: v.index, id: v.id, reason, logTail: await logTail(homeOf(dir, v)) })))
}

export interface StatusRow {
  index: number
  id: string
  pid: number | null
  /** the PID file names a live process of this validator */
  alive: boolean
  api: string
  status: NodeStatusView | null
  /** why there is no status */
  error: string | null
}

/** One row per validator: its process, and what its API reports (if it answers). */
export async function status(dir: string, opts: { signal?: AbortSignal } = {}): Promise<StatusRow[]> {
  dir = resolve(dir)
  const file = await readTestnetFile(dir)
  return Promise.all(
    file.validators.map(async (v) => {
      const pid = await readPid(homeOf(dir, v))
      const alive = pid !== null && (await isOurProcess(pid, homeOf(dir, v)))
      try {
        return { index: v.index, id: v.id, pid, alive, api: v.api, status: await new ApiClient({ apis: [v.api] }).status({ signal: opts.signal, timeoutMs: 1_000 }), error: null }
      } catch (e) {
        if (isApiClientError(e) && e.code === 'ABORTED') throw e
        return { index: v.index, id: v.id, pid, alive, api: v.api, status: null, error: (e as Error).message }
      }
    }),
  )
}

export interface DownRow {
  index: number
  id: string
  pid: number | null
  outcome: StopOutcome
}

/** Stops every validator (SIGTERM, then SIGKILL after stopTimeoutMs) and removes the PID files. Idempotent. */
export async function down(dir: string, opts: RunnerOptions = {}): Promise<DownRow[]> {
  dir = resolve(dir)
  const file = await readTestnetFile(dir)
  return Promise.all(
    file.validators.map(async (v) => {
      const { pid, outcome } = await stopValidator(homeOf(dir, v), opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, opts.signal)
      return { index: v.index, id: v.id, pid, outcome }
    }),
  )
}

const TERMINATING = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP'])

/**
 * Sends `sig` to validator `index` (a crash fault with SIGKILL, a freeze with
 * SIGSTOP / SIGCONT). For a terminating signal, waits for the exit and removes
 * the PID file; `exited` says whether it went within stopTimeoutMs.
 */
export async function kill(dir: string, index: number, sig: NodeJS.Signals = 'SIGKILL', opts: RunnerOptions = {}): Promise<{ id: string; pid: number; exited: boolean }> {
  dir = resolve(dir)
  const v = validatorAt(await readTestnetFile(dir), index)
  const home = homeOf(dir, v)
  const pid = await readPid(home)
  if (pid === null || !(await signalOurs(pid, home, sig))) {
    if (pid !== null) await removePid(home)
    throw new TestnetError('NOT_RUNNING', `${v.id} is not running`)
  }
  if (!TERMINATING.has(sig)) return { id: v.id, pid, exited: false }
  const exited = await waitGone(pid, home, opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, opts.signal)
  if (exited) await removePid(home)
  return { id: v.id, pid, exited }
}

export interface RestartOptions extends RunnerOptions {
  /** wait until the restarted validator's API answers (default true) */
  wait?: boolean
  timeoutMs?: number
}

/** Stops validator `index` if it runs, starts it again, and waits until its API answers. */
export async function restart(dir: string, index: number, opts: RestartOptions = {}): Promise<ValidatorEndpoint & { stopped: StopOutcome }> {
  dir = resolve(dir)
  const v = validatorAt(await readTestnetFile(dir), index)
  const home = homeOf(dir, v)
  const { outcome } = await stopValidator(home, opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, opts.signal)
  const pid = await spawnValidator(home, opts.launcher ?? nodeLauncher)
  if (opts.wait ?? true) {
    const notReady = await waitReady(dir, [{ v, pid }], 0, opts.timeoutMs ?? DEFAULT_UP_TIMEOUT_MS, opts.signal).catch(async (e: unknown) => {
      await stopValidator(home, 2_000).catch(() => undefined)
      throw e
    })
    if (notReady.length > 0) {
      await stopValidator(home, 2_000).catch(() => undefined)
      throw new TestnetError('NOT_READY', `${v.id} did not come back (${notReady[0]!.reason}); stopped it`, { notReady })
    }
  }
  return { index: v.index, id: v.id, peerId: v.peerId, p2p: v.p2p, api: v.api, home, pid, stopped: outcome }
}
