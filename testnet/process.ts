/**
 * Validator processes on this machine: how one is launched (detached, output
 * to <home>/node.log, PID to <home>/node.pid), and how a PID is checked to
 * still be *our* validator before any signal is sent: its command line must
 * carry `--home <home>` (read from /proc/<pid>/cmdline, or `ps` where there is
 * no /proc), so a PID reused by an unrelated process is never signalled. A
 * zombie has an empty command line and counts as gone.
 */
import { execFile, spawn } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import { open, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { HOME_FILES } from '../node/index.ts'
import { sleep, TestnetError } from './errors.ts'

/** How to start one validator: a command, its arguments (which must include `--home <home>`), a working directory. */
export interface Launch {
  command: string
  args: string[]
  cwd: string
  env?: NodeJS.ProcessEnv
}
export type Launcher = (home: string) => Launch

/** The repository root (where package.json and node_modules/ are), from this file's location. */
export function repoRoot(): string {
  return fileURLToPath(new URL('..', import.meta.url))
}

/** The running Node if it is 24 or newer (libp2p 3 needs it), else the pinned node_modules/.bin/node. */
export function nodeBinary(): string {
  const major = Number(process.versions.node.split('.')[0])
  return major >= 24 ? process.execPath : join(repoRoot(), 'node_modules', '.bin', 'node')
}

/** The real validator: `node cli/bin.ts node start --home <home>`, run from the repository root. */
/** The `fedledger` command line's entry script, which every process a testnet starts runs. */
export const cliEntry = (): string => join(repoRoot(), 'cli', 'bin.ts')

export const nodeLauncher: Launcher = (home) => ({ command: nodeBinary(), args: [cliEntry(), 'node', 'start', '--home', home], cwd: repoRoot() })

const pidPath = (home: string) => join(home, HOME_FILES.pid)
export const logPath = (home: string) => join(home, HOME_FILES.log)

/** Spawns a validator detached from this process and records its PID; returns the PID. */
export async function spawnValidator(home: string, launcher: Launcher): Promise<number> {
  const launch = launcher(home)
  const fd = openSync(logPath(home), 'a', 0o644)
  let pid: number | undefined
  try {
    // one JSON line in pino's shape, so that node.log stays JSON lines (jq, log shippers) across restarts
    writeSync(fd, `${JSON.stringify({ level: 30, time: Date.now(), msg: 'fedledger testnet: starting the process', command: [launch.command, ...launch.args] })}\n`)
    const child = spawn(launch.command, launch.args, { cwd: launch.cwd, env: launch.env ?? process.env, detached: true, stdio: ['ignore', fd, fd] })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    child.on('error', () => {}) // nothing is sent through the handle after this point
    child.unref()
    pid = child.pid
  } catch (e) {
    throw new TestnetError('SPAWN_FAILED', `cannot start ${launch.command}: ${(e as Error).message}`, { cause: e })
  } finally {
    closeSync(fd)
  }
  if (pid === undefined) throw new TestnetError('SPAWN_FAILED', `no PID for ${launch.command}`)
  await writeFile(pidPath(home), `${pid}\n`)
  return pid
}

/** The PID recorded in <home>/node.pid, or null when there is none (or it is not a number). */
export async function readPid(home: string): Promise<number | null> {
  let raw: string
  try {
    raw = await readFile(pidPath(home), 'utf8')
  } catch {
    return null
  }
  const pid = Number(raw.trim())
  return Number.isSafeInteger(pid) && pid > 1 ? pid : null
}

export async function removePid(home: string): Promise<void> {
  await rm(pidPath(home), { force: true })
}

const execFileAsync = promisify(execFile)

/** True when `pid` is alive, not a zombie, and its command line carries `--home <home>`. */
export async function isOurProcess(pid: number, home: string): Promise<boolean> {
  try {
    process.kill(pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false
    // EPERM: alive but someone else's; the command-line check below decides
  }
  if (process.platform === 'linux') {
    let cmdline: string
    try {
      cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8')
    } catch {
      return false
    }
    const args = cmdline.split('\0')
    return args.some((a, i) => a === '--home' && args[i + 1] === home)
  }
  try {
    const { stdout } = await execFileAsync('ps', ['-o', 'command=', '-p', String(pid)])
    return stdout.includes(`--home ${home}`)
  } catch {
    return false
  }
}

/** The recorded PID if it is still our validator, else null. */
export async function runningPid(home: string): Promise<number | null> {
  const pid = await readPid(home)
  return pid !== null && (await isOurProcess(pid, home)) ? pid : null
}

/** Polls until our process `pid` is gone; true if it went within `timeoutMs`. */
export async function waitGone(pid: number, home: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!(await isOurProcess(pid, home))) return true
    if (Date.now() >= deadline) return false
    await sleep(50, signal)
  }
}

/** Sends `sig` to our process `pid`; false (and nothing sent) when the PID is not ours any more. */
export async function signalOurs(pid: number, home: string, sig: NodeJS.Signals): Promise<boolean> {
  if (!(await isOurProcess(pid, home))) return false
  try {
    process.kill(pid, sig)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw new TestnetError('INVALID_ARGUMENT', `cannot send ${sig} to ${pid}: ${(e as Error).message}`, { cause: e })
  }
}

export type StopOutcome = 'not-running' | 'stopped' | 'killed'

/** SIGTERM, up to `timeoutMs` for a clean exit, then SIGKILL; removes the PID file. Safe when already gone. */
export async function stopValidator(home: string, timeoutMs: number, signal?: AbortSignal): Promise<{ pid: number | null; outcome: StopOutcome }> {
  const pid = await readPid(home)
  let outcome: StopOutcome = 'not-running'
  if (pid !== null && (await signalOurs(pid, home, 'SIGTERM'))) {
    outcome = 'stopped'
    await signalOurs(pid, home, 'SIGCONT') // a frozen (SIGSTOPped) validator must run to handle SIGTERM
    if (!(await waitGone(pid, home, timeoutMs, signal))) {
      outcome = 'killed'
      await signalOurs(pid, home, 'SIGKILL')
      if (!(await waitGone(pid, home, 5_000, signal))) throw new TestnetError('INVALID_ARGUMENT', `process ${pid} (${home}) survived SIGKILL`)
    }
  }
  await removePid(home)
  return { pid, outcome }
}

/** The last `lines` lines of <home>/node.log ('' when there is none). */
export async function logTail(home: string, lines = 20, maxBytes = 16 * 1024): Promise<string> {
  let file
  try {
    file = await open(logPath(home), 'r')
  } catch {
    return ''
  }
  try {
    const { size } = await file.stat()
    const length = Math.min(size, maxBytes)
    const buf = Buffer.alloc(length)
    await file.read(buf, 0, length, size - length)
    return buf.toString('utf8').replace(/\n+$/, '').split('\n').slice(-lines).join('\n')
  } finally {
    await file.close()
  }
}
