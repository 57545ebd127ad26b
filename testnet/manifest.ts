/**
 * Scenario manifests: a JSON file describing a testnet (validator count, app,
 * consensus options) and a list of timed fault steps, `at` milliseconds after
 * every validator has committed its first block:
 *
 *   kill      {validator, signal?}   crash (SIGKILL by default)
 *   restart   {validator}            stop if running, start again
 *   pause     {validator}            SIGSTOP: the process freezes, sockets stay open
 *   resume    {validator}            SIGCONT
 *   partition {groups: [[0,1],[2,3]]} validators in different groups refuse each
 *                                    other's traffic; unlisted validators form one
 *                                    more group (needs the node's admin hook)
 *   heal      {}                     undo every partition (admin hook)
 *   delay     {validator, ms}        the validator holds back its outgoing traffic
 *                                    by ms (0..10000; 0 removes it) (admin hook)
 *   await-height {height, validators?, timeoutMs?}  fail the scenario unless the
 *                                    running (or listed) validators reach it in time
 *
 * Steps must be in time order. `durationMs` keeps the network up until then.
 */
import { readFile } from 'node:fs/promises'
import { constants } from 'node:os'
import { z } from 'zod'
import { NodeConfigSchema } from '../node/index.ts'
import { Identifier } from '../ledger/index.ts'
import { TestnetError } from './errors.ts'
import { MAX_VALIDATORS } from './generate.ts'

const index = z.number().int().nonnegative()
const at = z.number().int().nonnegative()
const SIGNALS = Object.keys(constants.signals) as [NodeJS.Signals, ...NodeJS.Signals[]]

export const ScenarioStepSchema = z.discriminatedUnion('action', [
  z.strictObject({ at, action: z.literal('kill'), validator: index, signal: z.enum(SIGNALS).default('SIGKILL') }),
  z.strictObject({ at, action: z.literal('restart'), validator: index }),
  z.strictObject({ at, action: z.literal('pause'), validator: index }),
  z.strictObject({ at, action: z.literal('resume'), validator: index }),
  z.strictObject({ at, action: z.literal('partition'), groups: z.array(z.array(index).min(1)).min(1) }),
  z.strictObject({ at, action: z.literal('heal') }),
  z.strictObject({ at, action: z.literal('delay'), validator: index, ms: z.number().int().min(0).max(10_000) }),
  z.strictObject({
    at,
    action: z.literal('await-height'),
    height: z.number().int().positive(),
    validators: z.array(index).min(1).optional(),
    timeoutMs: z.number().int().positive().default(30_000),
  }),
])
export type ScenarioStep = z.output<typeof ScenarioStepSchema>

export const ScenarioManifestSchema = z
  .strictObject({
    name: z.string().default('scenario'),
    validators: z.number().int().min(1).max(MAX_VALIDATORS),
    app: z.enum(['ledger', 'noop']).default('ledger'),
    chainId: Identifier.optional(),
    epochLength: z.number().int().positive().optional(),
    consensus: NodeConfigSchema.shape.consensus,
    /** how long the validators get to commit their first block */
    startTimeoutMs: z.number().int().positive().default(60_000),
    /** keep the network up until this time (ms after start), even after the last step */
    durationMs: z.number().int().nonnegative().default(0),
    steps: z.array(ScenarioStepSchema).default([]),
  })
  .superRefine((m, ctx) => {
    const bad = (path: Array<string | number>, message: string) => ctx.addIssue({ code: 'custom', path, message })
    const check = (path: Array<string | number>, i: number) => {
      if (i >= m.validators) bad(path, `validator ${i} does not exist (validators 0..${m.validators - 1})`)
    }
    m.steps.forEach((s, k) => {
      if (k > 0 && s.at < m.steps[k - 1]!.at) bad(['steps', k, 'at'], 'steps must be in time order')
      if ('validator' in s) check(['steps', k, 'validator'], s.validator)
      if (s.action === 'await-height') s.validators?.forEach((i, j) => check(['steps', k, 'validators', j], i))
      if (s.action === 'partition') {
        const seen = new Set<number>()
        s.groups.forEach((g, gi) =>
          g.forEach((i, j) => {
            check(['steps', k, 'groups', gi, j], i)
            if (seen.has(i)) bad(['steps', k, 'groups', gi, j], `validator ${i} is in two groups`)
            seen.add(i)
          }),
        )
      }
    })
  })
export type ScenarioManifest = z.output<typeof ScenarioManifestSchema>
export type ScenarioManifestInput = z.input<typeof ScenarioManifestSchema>

/** Validates a parsed manifest; MALFORMED with every issue on one line. */
export function parseScenarioManifest(json: unknown, source = 'manifest'): ScenarioManifest {
  const parsed = ScenarioManifestSchema.safeParse(json)
  if (!parsed.success) throw new TestnetError('MALFORMED', `${source} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  return parsed.data
}

export async function readScenarioManifest(path: string): Promise<ScenarioManifest> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new TestnetError(code === undefined ? 'MALFORMED' : 'NOT_FOUND', `cannot read ${path}: ${code ?? (e as Error).message}`)
  }
  return parseScenarioManifest(json, path)
}

/** The groups of a partition step, with unlisted validators as one more group. */
export function partitionGroups(groups: number[][], validators: number): number[][] {
  const listed = new Set(groups.flat())
  const rest = Array.from({ length: validators }, (_, i) => i).filter((i) => !listed.has(i))
  return rest.length > 0 ? [...groups, rest] : groups
}
