/** Scenario manifests: validation, and a run against fake validators (crash, restart, partition, heal and delay through the admin hook, height checks). */
import { readdir } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiClient } from '../../node/api/index.ts'
import { parseScenarioManifest, partitionGroups, readScenarioManifest, readPid, readTestnetFile, runScenario, status, TestnetError } from '../../testnet/index.ts'
import { fakeLauncher, Sandbox } from './helpers.ts'

const sandbox = new Sandbox()
afterEach(() => sandbox.cleanup())

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as TestnetError)
const malformed = (json: unknown) => {
  try {
    parseScenarioManifest(json)
    return 'accepted'
  } catch (e) {
    return e instanceof TestnetError && e.code === 'MALFORMED' ? e.message : `untyped: ${String(e)}`
  }
}

describe('scenario manifests', () => {
  it('fill defaults and refuse unknown validators, out-of-order steps and overlapping groups', () => {
    const m = parseScenarioManifest({ validators: 4, steps: [{ at: 0, action: 'kill', validator: 1 }, { at: 10, action: 'heal' }] })
    expect(m.app).toBe('ledger')
    expect(m.steps[0]).toEqual({ at: 0, action: 'kill', validator: 1, signal: 'SIGKILL' })
    expect(m.consensus.baseTimeoutMs).toBe(1000)
    expect(malformed({ validators: 4, steps: [{ at: 0, action: 'restart', validator: 4 }] })).toMatch(/steps\.0\.validator: validator 4 does not exist/)
    expect(malformed({ validators: 4, steps: [{ at: 5, action: 'heal' }, { at: 1, action: 'heal' }] })).toMatch(/steps\.1\.at: steps must be in time order/)
    expect(malformed({ validators: 4, steps: [{ at: 0, action: 'partition', groups: [[0, 1], [1, 2]] }] })).toMatch(/validator 1 is in two groups/)
    expect(malformed({ validators: 4, steps: [{ at: 0, action: 'explode' }] })).toMatch(/steps\.0/)
    expect(malformed({ validators: 4, steps: [{ at: 0, action: 'kill', validator: 0, signal: 'SIGNOPE' }] })).toMatch(/signal/)
    expect(malformed({ validators: 0 })).toMatch(/validators/)
    expect(malformed({ validators: 2, extra: true })).toMatch(/extra/)
    expect(partitionGroups([[0, 1]], 5)).toEqual([[0, 1], [2, 3, 4]])
    expect(partitionGroups([[0, 1], [2]], 3)).toEqual([[0, 1], [2]])
  })

  it('parse delay steps and refuse bad ones (ms out of range or not an integer, unknown validator, missing or extra fields)', () => {
    const m = parseScenarioManifest({ validators: 4, steps: [{ at: 0, action: 'delay', validator: 2, ms: 400 }, { at: 5, action: 'delay', validator: 2, ms: 0 }, { at: 6, action: 'delay', validator: 3, ms: 10_000 }] })
    expect(m.steps).toEqual([
      { at: 0, action: 'delay', validator: 2, ms: 400 },
      { at: 5, action: 'delay', validator: 2, ms: 0 },
      { at: 6, action: 'delay', validator: 3, ms: 10_000 },
    ])
    const step = (fields: object) => ({ validators: 4, steps: [{ at: 0, action: 'delay', ...fields }] })
    expect(malformed(step({ validator: 1, ms: -1 }))).toMatch(/steps\.0\.ms/)
    expect(malformed(step({ validator: 1, ms: 10_001 }))).toMatch(/steps\.0\.ms/)
    expect(malformed(step({ validator: 1, ms: 2.5 }))).toMatch(/steps\.0\.ms/)
    expect(malformed(step({ validator: 1, ms: '400' }))).toMatch(/steps\.0\.ms/)
    expect(malformed(step({ validator: 1 }))).toMatch(/steps\.0\.ms/)
    expect(malformed(step({ ms: 100 }))).toMatch(/steps\.0\.validator/)
    expect(malformed(step({ validator: 4, ms: 100 }))).toMatch(/steps\.0\.validator: validator 4 does not exist/)
    expect(malformed(step({ validator: -1, ms: 100 }))).toMatch(/steps\.0\.validator/)
    expect(malformed(step({ validator: 1, ms: 100, peers: [] }))).toMatch(/peers/)
  })
})

describe('runScenario', () => {
  it('crashes and restarts a validator, partitions and heals through the admin hook, and checks heights', async () => {
    const dir = await sandbox.dir()
    const manifest = parseScenarioManifest({
      name: 'crash-partition-heal',
      validators: 4,
      startTimeoutMs: 20_000,
      steps: [
        { at: 0, action: 'kill', validator: 3 },
        { at: 200, action: 'restart', validator: 3 },
        { at: 400, action: 'partition', groups: [[0, 1]] },
        { at: 500, action: 'heal' },
        { at: 600, action: 'await-height', height: 3, timeoutMs: 10_000 },
      ],
    })
    const lines: string[] = []
    const pidsBefore: number[] = []
    const report = await runScenario(manifest, { dir, launcher: fakeLauncher, keepRunning: true, log: (l) => lines.push(l) })
    expect(report.steps.map((s) => s.step.action)).toEqual(['kill', 'restart', 'partition', 'heal', 'await-height'])
    for (const [k, s] of report.steps.entries()) expect(s.startedAtMs).toBeGreaterThanOrEqual(manifest.steps[k]!.at)
    expect(report.steps[2]!.detail).toBe('[0,1] | [2,3]')
    expect(report.final.every((r) => r.alive && r.status!.committed.height >= 3)).toBe(true)
    expect(lines.some((l) => /kill\s+validator-3 \(pid \d+\) SIGKILL, exited/.test(l))).toBe(true)
    pidsBefore.push(...report.final.map((r) => r.pid!))

    const file = await readTestnetFile(dir)
    const peer = (i: number) => file.validators[i]!.peerId
    for (const v of file.validators) {
      const calls = (await (await fetch(`${v.api}/fake/admin`)).json()) as Array<{ action: string; peers: string[] }>
      const outside = v.index < 2 ? [peer(2), peer(3)] : [peer(0), peer(1)]
      expect(calls).toEqual([
        { action: 'block', peers: outside },
        { action: 'unblock', peers: file.validators.filter((o) => o.index !== v.index).map((o) => o.peerId) },
      ])
    }
    // keepRunning left them up
    expect((await status(dir)).map((r) => r.pid)).toEqual(pidsBefore)
  })

  it('delays a running validator through the admin hook and skips one that is not running', async () => {
    const dir = await sandbox.dir()
    const manifest = parseScenarioManifest({
      name: 'delay',
      validators: 2,
      startTimeoutMs: 20_000,
      steps: [
        { at: 0, action: 'kill', validator: 1 },
        { at: 50, action: 'delay', validator: 1, ms: 300 },
        { at: 100, action: 'delay', validator: 0, ms: 250 },
        { at: 150, action: 'delay', validator: 0, ms: 0 },
      ],
    })
    const report = await runScenario(manifest, { dir, launcher: fakeLauncher, keepRunning: true })
    expect(report.steps.map((s) => s.detail).slice(1)).toEqual([
      'validator-1 not running: skipped',
      'validator-0 outgoing traffic +250 ms',
      'validator-0 undelayed',
    ])
    const file = await readTestnetFile(dir)
    const calls = (await (await fetch(`${file.validators[0]!.api}/fake/admin`)).json()) as unknown[]
    expect(calls).toEqual([{ action: 'delay', ms: 250 }, { action: 'delay', ms: 0 }])
    // ApiClient.delay is the same call, for scripts
    await new ApiClient({ apis: [file.validators[0]!.api] }).delay(75)
    expect((await (await fetch(`${file.validators[0]!.api}/fake/admin`)).json()) as unknown[]).toContainEqual({ action: 'delay', ms: 75 })
  })

  it('fails a step that cannot be met, names it, and stops the network', async () => {
    const dir = await sandbox.dir()
    const manifest = parseScenarioManifest({ validators: 2, startTimeoutMs: 20_000, steps: [{ at: 0, action: 'await-height', height: 1_000_000, timeoutMs: 300 }] })
    const err = await failure(runScenario(manifest, { dir, launcher: fakeLauncher, keepRunning: true }))
    expect(err?.code).toBe('SCENARIO')
    expect(err?.message).toMatch(/step 0 \(await-height at 0 ms\) failed: height 1000000 not reached in 300 ms: validator-0 \d+, validator-1 \d+/)
    for (const v of (await readTestnetFile(dir)).validators) expect(await readPid(join(dir, v.home))).toBeNull()
    expect((await status(dir)).every((r) => !r.alive)).toBe(true)
  })

  it('says so when a node has no admin hook', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no such route' } }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const api = `http://127.0.0.1:${(server.address() as { port: number }).port}`
      const err = await failure(new ApiClient({ apis: [api] }).block(['12D3KooWabc']))
      expect(err?.code).toBe('API')
      expect(err?.message).toMatch(/no admin hook/)
      const delayErr = await failure(new ApiClient({ apis: [api] }).delay(100))
      expect(delayErr?.code).toBe('API')
      expect(delayErr?.message).toMatch(/no admin hook enabled; delays need POST \/v1\/admin\/delay/)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('the example scenarios in testnet/scenarios/', () => {
  it('are valid manifests', async () => {
    const folder = fileURLToPath(new URL('../../testnet/scenarios/', import.meta.url))
    const names = (await readdir(folder)).filter((f) => f.endsWith('.json'))
    expect(names.length).toBeGreaterThanOrEqual(3)
    for (const name of names) {
      const m = await readScenarioManifest(join(folder, name))
      expect(m.steps.length).toBeGreaterThan(0)
    }
  })
})
