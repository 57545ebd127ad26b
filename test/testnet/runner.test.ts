/** testnet/runner with a fake validator process: up waits for commits, status reads, kill/restart/down act by PID and only on our processes. */
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiClient } from '../../node/api/index.ts'
import { cliEntry, down, generateTestnet, isOurProcess, kill, nodeLauncher, readPid, restart, status, TestnetError, up } from '../../testnet/index.ts'
import { alive, fakeLauncher, Sandbox } from './helpers.ts'

const sandbox = new Sandbox()
afterEach(() => sandbox.cleanup())

const launcher = fakeLauncher
const exists = (p: string) => access(p).then(() => true, () => false)
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as TestnetError)

describe('testnet runner', () => {
  it('starts real validators with the command line entry that exists (the fake launcher of the other tests would not notice a moved one)', async () => {
    await access(cliEntry())
    const launch = nodeLauncher('/some/home')
    expect(launch.args.slice(0, 3)).toEqual([cliEntry(), 'node', 'start'])
  })

  it('up generates, starts and waits for a committed block; status, kill, restart and down act on those processes', async () => {
    const dir = await sandbox.dir()
    const result = await up(dir, { validators: 3, launcher, timeoutMs: 20_000 })
    expect(result.generated).toBe(true)
    expect(result.validators).toHaveLength(3)
    for (const v of result.validators) {
      expect(await isOurProcess(v.pid, v.home)).toBe(true)
      expect(await readPid(v.home)).toBe(v.pid)
      // up returned only once each had committed
      expect((await new ApiClient({ apis: [v.api] }).status()).committed.height).toBeGreaterThanOrEqual(1)
      const log = await readFile(join(v.home, 'node.log'), 'utf8')
      expect(log).toMatch(new RegExp(`fake-node ${v.id}: api on`))
      // the runner's own line is JSON, like the node's (pino) lines
      expect(JSON.parse(log.split('\n')[0]!)).toMatchObject({ level: 30, msg: 'fedledger testnet: starting the process', command: expect.arrayContaining([expect.stringContaining('fake')]) })
    }

    const rows = await status(dir)
    expect(rows.map((r) => [r.id, r.pid, r.alive])).toEqual(result.validators.map((v) => [v.id, v.pid, true]))
    expect(rows.every((r) => r.status !== null && r.status.committed.height >= 1 && r.status.leader?.id === 'validator-0')).toBe(true)

    const victim = result.validators[1]!
    const killed = await kill(dir, 1)
    expect(killed).toEqual({ id: 'validator-1', pid: victim.pid, exited: true })
    expect(alive(victim.pid) && (await isOurProcess(victim.pid, victim.home))).toBe(false)
    expect(await exists(join(victim.home, 'node.pid'))).toBe(false)
    const afterKill = await status(dir)
    expect(afterKill[1]).toMatchObject({ alive: false, pid: null, status: null })
    expect(afterKill[0]!.alive && afterKill[2]!.alive).toBe(true)
    expect((await failure(kill(dir, 1)))?.code).toBe('NOT_RUNNING')

    const back = await restart(dir, 1, { launcher, timeoutMs: 10_000 })
    expect(back.stopped).toBe('not-running')
    expect(back.pid).not.toBe(victim.pid)
    expect(await isOurProcess(back.pid, victim.home)).toBe(true)
    const again = await restart(dir, 1, { launcher, timeoutMs: 10_000 })
    expect(again.stopped).toBe('stopped')
    expect(await isOurProcess(back.pid, victim.home)).toBe(false)
    expect((await status(dir))[1]).toMatchObject({ alive: true, pid: again.pid })

    // a second up while running is refused
    expect((await failure(up(dir, { launcher })))?.code).toBe('ALREADY_RUNNING')
    expect((await failure(generateTestnet({ dir, validators: 3, force: true })))?.code).toBe('ALREADY_RUNNING')

    const pids = [result.validators[0]!.pid, again.pid, result.validators[2]!.pid]
    const stopped = await down(dir)
    expect(stopped.map((r) => [r.pid, r.outcome])).toEqual(pids.map((pid) => [pid, 'stopped']))
    for (const v of result.validators) {
      expect(await exists(join(v.home, 'node.pid'))).toBe(false)
      expect(await readFile(join(v.home, 'node.log'), 'utf8')).toMatch(/SIGTERM, stopping/)
    }
    for (const [i, pid] of pids.entries()) expect(await isOurProcess(pid, result.validators[i]!.home)).toBe(false)
    // idempotent
    expect((await down(dir)).map((r) => r.outcome)).toEqual(['not-running', 'not-running', 'not-running'])

    // up again reuses the generated testnet
    const second = await up(dir, { launcher, timeoutMs: 20_000 })
    expect(second.generated).toBe(false)
    expect(second.validators.map((v) => v.peerId)).toEqual(result.validators.map((v) => v.peerId))
    expect((await failure(up(dir, { force: true, launcher })))?.code).toBe('ALREADY_RUNNING')
    await down(dir)
    expect((await failure(up(dir, { validators: 5, launcher })))?.code).toBe('EXISTS')
  })

  it('when a validator crashes, up reports its log tail and leaves nothing running', async () => {
    const dir = await sandbox.dir()
    const file = await generateTestnet({ dir, validators: 3 })
    await writeFile(join(dir, 'v2', 'fake-mode'), 'crash')
    const err = await failure(up(dir, { launcher, timeoutMs: 20_000 }))
    expect(err?.code).toBe('NOT_READY')
    expect(err!.notReady.map((n) => [n.id, n.reason])).toContainEqual(['validator-2', 'exited'])
    expect(err!.notReady.find((n) => n.id === 'validator-2')!.logTail).toMatch(/fatal: simulated crash/)
    for (const v of file.validators) expect(await readPid(join(dir, v.home))).toBeNull()
    expect((await status(dir)).every((r) => !r.alive && r.status === null)).toBe(true)
  })

  it('when a validator never commits, up times out, names it and stops every process it started', async () => {
    const dir = await sandbox.dir()
    await generateTestnet({ dir, validators: 2 })
    await writeFile(join(dir, 'v0', 'fake-mode'), 'stall')
    const started = Date.now()
    // long enough for the fake node to start and answer (height 0) on a loaded machine; with
    // 1.5 s a slow start left "API not answering" as the last reason
    const err = await failure(up(dir, { launcher, timeoutMs: 6_000 }))
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(err?.code).toBe('NOT_READY')
    expect(err!.notReady.map((n) => n.id)).toEqual(['validator-0'])
    expect(err!.notReady[0]!.reason).toMatch(/height 0/)
    expect(err!.notReady[0]!.logTail).toMatch(/fake-node validator-0: api on/)
    const logs = await readFile(join(dir, 'v1', 'node.log'), 'utf8')
    expect(logs).toMatch(/SIGTERM, stopping/)
    expect((await status(dir)).every((r) => !r.alive)).toBe(true)
  })

  it('never signals a PID that is not the validator, and cleans stale PID files', async () => {
    const dir = await sandbox.dir()
    await generateTestnet({ dir, validators: 2 })
    const foreign = await sandbox.foreignProcess()
    await writeFile(join(dir, 'v0', 'node.pid'), `${foreign}\n`)
    await writeFile(join(dir, 'v1', 'node.pid'), '4194303\n') // above any PID this system hands out
    expect(await isOurProcess(foreign, join(dir, 'v0'))).toBe(false)
    expect((await status(dir))[0]).toMatchObject({ pid: foreign, alive: false })
    expect((await down(dir)).map((r) => r.outcome)).toEqual(['not-running', 'not-running'])
    expect(alive(foreign)).toBe(true)
    await writeFile(join(dir, 'v0', 'node.pid'), `${foreign}\n`)
    expect((await failure(kill(dir, 0)))?.code).toBe('NOT_RUNNING')
    expect((await failure(restart(dir, 0, { launcher: () => ({ command: '/nonexistent/fedledger-node', args: [], cwd: dir }) })))?.code).toBe('SPAWN_FAILED')
    expect(alive(foreign)).toBe(true)
    expect(alive(foreign)).toBe(true)
    expect(await readPid(join(dir, 'v0'))).toBeNull()
    expect(await readPid(join(dir, 'v1'))).toBeNull()
  })

  it('down escalates to SIGKILL when a validator ignores SIGTERM', async () => {
    const dir = await sandbox.dir()
    await generateTestnet({ dir, validators: 1 })
    await writeFile(join(dir, 'v0', 'fake-mode'), 'ignore-term')
    const { validators } = await up(dir, { launcher, timeoutMs: 20_000 })
    const rows = await down(dir, { stopTimeoutMs: 500 })
    expect(rows[0]).toMatchObject({ pid: validators[0]!.pid, outcome: 'killed' })
    expect(await isOurProcess(validators[0]!.pid, validators[0]!.home)).toBe(false)
    expect(await readFile(join(dir, 'v0', 'node.log'), 'utf8')).toMatch(/ignoring SIGTERM/)
  })

  it('kill with SIGSTOP freezes a validator and SIGCONT resumes it', async () => {
    const dir = await sandbox.dir()
    await up(dir, { validators: 1, launcher, timeoutMs: 20_000 })
    const api = (await status(dir))[0]!.api
    expect(await kill(dir, 0, 'SIGSTOP')).toMatchObject({ exited: false })
    expect((await failure(new ApiClient({ apis: [api] }).status({ timeoutMs: 300 })))?.code).toBe('UNREACHABLE')
    await kill(dir, 0, 'SIGCONT')
    expect((await new ApiClient({ apis: [api] }).status()).committed.height).toBeGreaterThanOrEqual(1)
    expect((await failure(kill(dir, 5)))?.code).toBe('INVALID_ARGUMENT')
    // a frozen validator still stops cleanly on down (SIGTERM, then SIGCONT so it can act on it)
    await kill(dir, 0, 'SIGSTOP')
    expect((await down(dir))[0]!.outcome).toBe('stopped')
    expect(await readFile(join(dir, 'v0', 'node.log'), 'utf8')).toMatch(/SIGTERM, stopping/)
  })
})
