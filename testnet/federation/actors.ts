/**
 * The federation's actor processes: the enclave host (`fedledger enclave host`,
 * which runs the enclave service as its own child) and one participant peer per
 * bank (`fedledger participant run`). Each gets a folder DIR/federation/<name>/
 * holding its PID and log, and is started and stopped by PID exactly as the
 * validators are (testnet/process.ts: `--home <folder>` marks the process as ours).
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { cliEntry, nodeBinary, repoRoot, spawnValidator, stopValidator, logTail, runningPid, type Launcher } from '../process.ts'

export interface Actor {
  name: string
  home: string
  pid: number
}

export const actorHome = (dir: string, name: string): string => join(dir, 'federation', name)

function launcher(args: string[]): Launcher {
  return (home) => ({ command: nodeBinary(), args: [cliEntry(), ...args, '--home', home], cwd: repoRoot() })
}

async function spawnActor(dir: string, name: string, args: string[]): Promise<Actor> {
  const home = actorHome(dir, name)
  await mkdir(home, { recursive: true })
  await stopValidator(home, 5_000) // a leftover of an earlier run, if its PID is still ours
  const pid = await spawnValidator(home, launcher(args))
  return { name, home, pid }
}

export function spawnEnclaveHost(dir: string): Promise<Actor> {
  return spawnActor(dir, 'enclave-host', ['enclave', 'host', '--testnet', dir])
}

export function spawnParticipant(dir: string, member: string): Promise<Actor> {
  return spawnActor(dir, member, ['participant', 'run', '--testnet', dir, '--member', member])
}

/** SIGTERM, then SIGKILL after `timeoutMs`; by PID, only if the PID is still ours. */
export async function stopActor(actor: Actor, timeoutMs = 10_000): Promise<void> {
  await stopValidator(actor.home, timeoutMs)
}

/** True while the actor's process runs. */
export async function actorRunning(actor: Actor): Promise<boolean> {
  return (await runningPid(actor.home)) !== null
}

export async function actorLogTail(actor: Actor, lines = 15): Promise<string> {
  return logTail(actor.home, lines)
}
