// Shared by the testnet tests: temporary folders, the fake-node launcher, and cleanup of every process a test started (by PID).
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { isOurProcess, nodeBinary, readPid, repoRoot, type Launcher } from '../../testnet/index.ts'

export const FAKE_NODE = fileURLToPath(new URL('./fixtures/fake-node.ts', import.meta.url))

export const fakeLauncher: Launcher = (home) => ({ command: nodeBinary(), args: [FAKE_NODE, 'node', 'start', '--home', home], cwd: repoRoot() })

export class Sandbox {
  readonly dirs: string[] = []
  readonly pids: number[] = []

  async dir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'fedledger-testnet-'))
    this.dirs.push(d)
    return d
  }

  /** A process that is not a validator: `node -e` sleeping, without --home. */
  async foreignProcess(): Promise<number> {
    const child = spawn(nodeBinary(), ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    this.pids.push(child.pid!)
    return child.pid!
  }

  /** SIGKILL every validator process under our folders (checked by PID and --home) and every foreign process; remove the folders. */
  async cleanup(): Promise<void> {
    for (const dir of this.dirs.splice(0)) {
      const homes = [dir, ...(await readdir(dir).catch(() => [] as string[])).map((e) => join(dir, e))]
      for (const base of homes) {
        for (const home of [base, ...(await readdir(base).catch(() => [] as string[])).map((e) => join(base, e))]) {
          const pid = await readPid(home)
          if (pid !== null && (await isOurProcess(pid, home))) process.kill(pid, 'SIGKILL')
        }
      }
      await rm(dir, { recursive: true, force: true })
    }
    for (const pid of this.pids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
