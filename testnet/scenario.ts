/**
 * Runs a scenario manifest (manifest.ts) against a local testnet: brings the
 * network up, executes each fault step at its time, and tears everything down
 * at the end (also on failure or abort) unless asked to keep it running.
 * kill / restart / pause / resume act on the processes; partition, heal and
 * delay go through each running validator's admin hook (client.ts), which the
 * node must serve (validators not running are skipped, as they would start
 * clean anyway); a validator restarted after a partition or a delay starts
 * unblocked and undelayed.
 */
import { resolve } from 'node:path'
import { ApiClient, isApiClientError } from '../node/api/index.ts'
import { sleep, TestnetError } from './errors.ts'
import { homeOf, readTestnetFile, type TestnetFile } from './layout.ts'
import { partitionGroups, type ScenarioManifest, type ScenarioStep } from './manifest.ts'
import { runningPid, type Launcher } from './process.ts'
import { down, kill, restart, status, up, type StatusRow } from './runner.ts'

export interface ScenarioOptions {
  dir: string
  /** replace an existing testnet in dir */
  force?: boolean
  /** leave the validators running after the scenario (they are stopped anyway on failure) */
  keepRunning?: boolean
  launcher?: Launcher
  signal?: AbortSignal
  stopTimeoutMs?: number
  log?: (line: string) => void
}

export interface StepOutcome {
  step: ScenarioStep
  /** ms after the network came up */
  startedAtMs: number
  detail: string
}

export interface ScenarioReport {
  name: string
  steps: StepOutcome[]
  /** every validator's status at the end, before teardown */
  final: StatusRow[]
}

export async function runScenario(manifest: ScenarioManifest, opts: ScenarioOptions): Promise<ScenarioReport> {
  const dir = resolve(opts.dir)
  const log = opts.log ?? (() => {})
  const runner = { launcher: opts.launcher, signal: opts.signal, stopTimeoutMs: opts.stopTimeoutMs }
  await up(dir, {
    ...runner,
    validators: manifest.validators,
    app: manifest.app,
    chainId: manifest.chainId,
    epochLength: manifest.epochLength,
    consensus: manifest.consensus,
    force: opts.force,
    timeoutMs: manifest.startTimeoutMs,
  })
  let ok = false
  try {
    const file = await readTestnetFile(dir)
    const t0 = Date.now()
    log(`${manifest.name}: ${manifest.validators} validators up; ${manifest.steps.length} steps`)
    const steps: StepOutcome[] = []
    for (const [k, step] of manifest.steps.entries()) {
      await sleep(Math.max(0, t0 + step.at - Date.now()), opts.signal)
      const startedAtMs = Date.now() - t0
      let detail: string
      try {
        detail = await runStep(dir, file, step, runner)
      } catch (e) {
        throw new TestnetError('SCENARIO', `${manifest.name}: step ${k} (${step.action} at ${step.at} ms) failed: ${(e as Error).message}`, { cause: e })
      }
      log(`+${String(startedAtMs).padStart(6)} ms  ${step.action.padEnd(12)} ${detail}`)
      steps.push({ step, startedAtMs, detail })
    }
    await sleep(Math.max(0, t0 + manifest.durationMs - Date.now()), opts.signal)
    const final = await status(dir, { signal: opts.signal })
    ok = true
    return { name: manifest.name, steps, final }
  } finally {
    if (!ok || !opts.keepRunning) await down(dir, { stopTimeoutMs: opts.stopTimeoutMs })
  }
}

type Runner = { launcher?: Launcher; signal?: AbortSignal; stopTimeoutMs?: number }

async function runStep(dir: string, file: TestnetFile, step: ScenarioStep, runner: Runner): Promise<string> {
  const v = (i: number) => file.validators[i]!
  switch (step.action) {
    case 'kill': {
      const r = await kill(dir, step.validator, step.signal, runner)
      return `${r.id} (pid ${r.pid}) ${step.signal}${r.exited ? ', exited' : ''}`
    }
    case 'restart': {
      const r = await restart(dir, step.validator, runner)
      return `${r.id} restarted (pid ${r.pid}; was ${r.stopped})`
    }
    case 'pause':
    case 'resume': {
      const r = await kill(dir, step.validator, step.action === 'pause' ? 'SIGSTOP' : 'SIGCONT', runner)
      return `${r.id} (pid ${r.pid}) ${step.action === 'pause' ? 'frozen' : 'resumed'}`
    }
    case 'partition': {
      const groups = partitionGroups(step.groups, file.validators.length)
      const live = await liveValidators(dir, file)
      for (const g of groups) {
        const outside = file.validators.filter((o) => !g.includes(o.index)).map((o) => o.peerId)
        if (outside.length === 0) continue
        for (const i of g) if (live.has(i)) await new ApiClient({ apis: [v(i).api] }).block(outside, { signal: runner.signal })
      }
      return groups.map((g) => `[${g.join(',')}]`).join(' | ')
    }
    case 'heal': {
      const live = await liveValidators(dir, file)
      const others = (i: number) => file.validators.filter((o) => o.index !== i).map((o) => o.peerId)
      for (const i of live) if (others(i).length > 0) await new ApiClient({ apis: [v(i).api] }).unblock(others(i), { signal: runner.signal })
      return `unblocked on ${[...live].map((i) => v(i).id).join(', ')}`
    }
    case 'delay': {
      const live = await liveValidators(dir, file)
      if (!live.has(step.validator)) return `${v(step.validator).id} not running: skipped`
      await new ApiClient({ apis: [v(step.validator).api] }).delay(step.ms, { signal: runner.signal })
      return step.ms === 0 ? `${v(step.validator).id} undelayed` : `${v(step.validator).id} outgoing traffic +${step.ms} ms`
    }
    case 'await-height': {
      const targets = step.validators ?? [...(await liveValidators(dir, file))]
      const deadline = Date.now() + step.timeoutMs
      const heights = new Map<number, number | string>()
      for (;;) {
        await Promise.all(
          targets.map(async (i) => {
            try {
              heights.set(i, (await new ApiClient({ apis: [v(i).api] }).status({ signal: runner.signal, timeoutMs: 1_000 })).committed.height)
            } catch (e) {
              if (isApiClientError(e) && e.code === 'ABORTED') throw e
              heights.set(i, 'no answer')
            }
          }),
        )
        const summary = targets.map((i) => `${v(i).id} ${heights.get(i)}`).join(', ')
        if (targets.every((i) => typeof heights.get(i) === 'number' && (heights.get(i) as number) >= step.height)) return `height ≥ ${step.height}: ${summary}`
        if (Date.now() >= deadline) throw new TestnetError('SCENARIO', `height ${step.height} not reached in ${step.timeoutMs} ms: ${summary}`)
        await sleep(200, runner.signal)
      }
    }
  }
}

async function liveValidators(dir: string, file: TestnetFile): Promise<Set<number>> {
  const live = new Set<number>()
  for (const v of file.validators) if ((await runningPid(homeOf(dir, v))) !== null) live.add(v.index)
  return live
}
