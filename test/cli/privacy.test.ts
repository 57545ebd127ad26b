/**
 * `fedledger privacy`, run in-process through `main` with a fake CliIo: output
 * formats, and the error paths as the user sees them (a UsageError is exit 2
 * with the usage text, a LedgerError exit 1 with its code, both on stderr).
 */
import { describe, expect, it } from 'vitest'
import type { CliIo } from '../../cli/io.ts'
import { main } from '../../cli/main.ts'
import { privacyCommand } from '../../cli/privacy.ts'

function fakeIo(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = []
  const errors: string[] = []
  return { lines, errors, cwd: '/tmp', out: (l) => lines.push(l), err: (l) => errors.push(l), write: () => {} }
}

async function run(...argv: string[]) {
  const io = fakeIo()
  const code = await main(['privacy', ...argv], io)
  return { code, io }
}

async function expectUsageError(argv: string[], pattern: RegExp) {
  const { code, io } = await run(...argv)
  expect(code).toBe(2)
  expect(io.lines).toEqual([])
  const err = io.errors.join('\n')
  expect(err).toMatch(/^fedledger privacy: /)
  expect(err.split('\n')[0]).toMatch(pattern)
  expect(err).toContain(privacyCommand.usage)
}

async function expectBadArgument(argv: string[], pattern: RegExp) {
  const { code, io } = await run(...argv)
  expect(code).toBe(1)
  expect(io.lines).toEqual([])
  expect(io.errors).toHaveLength(1)
  expect(io.errors[0]).toMatch(/^fedledger privacy: error BAD_ARGUMENT: /)
  expect(io.errors[0]).toMatch(pattern)
}

const opacusCase = ['--q', '0.04', '--sigma', '1.5', '--steps', '2250', '--delta', '1e-5']

describe('fedledger privacy epsilon', () => {
  it('prints {"epsilon", "order"} with --json (Opacus accountants_test.py test_rdp_accountant: 7.32911117143)', async () => {
    const { code, io } = await run('epsilon', ...opacusCase, '--json')
    expect(code).toBe(0)
    expect(io.lines).toHaveLength(1)
    const out = JSON.parse(io.lines[0]!) as Record<string, number>
    expect(Object.keys(out)).toEqual(['epsilon', 'order'])
    expect(out.epsilon).toBeCloseTo(7.32911117143, 9)
    expect(out.order).toBe(3.9)
  })

  it('prints one human line by default', async () => {
    const { code, io } = await run('epsilon', ...opacusCase)
    expect(code).toBe(0)
    expect(io.lines).toEqual(['ε = 7.32911 at δ = 1e-5 (Rényi order 3.9; q = 0.04, σ = 1.5, 2250 steps, improved conversion)'])
    expect(io.errors).toEqual([])
  })

  it('takes --orders and --conversion (TF Privacy rdp_accountant_test.py test_check_composition orders; classic conversion)', async () => {
    const { io } = await run('epsilon', '--q', '0.1', '--sigma', '2', '--steps', '100', '--delta', '1e-5', '--orders', '1.5, 2,2.5,3,inf', '--conversion', 'classic', '--json')
    const out = JSON.parse(io.lines[0]!) as { epsilon: number; order: number }
    expect(out.order).toBeGreaterThan(1)
    const improved = JSON.parse((await run('epsilon', '--q', '0.1', '--sigma', '2', '--steps', '100', '--delta', '1e-5', '--orders', '1.5,2,2.5,3,inf', '--json')).io.lines[0]!) as {
      epsilon: number
    }
    expect(improved.epsilon).toBeLessThan(out.epsilon)
  })

  it('reports an infinite epsilon as null in JSON and ∞ in text', async () => {
    const json = await run('epsilon', '--q', '0.5', '--sigma', '0', '--steps', '1', '--delta', '1e-5', '--json')
    expect(JSON.parse(json.io.lines[0]!)).toEqual({ epsilon: null, order: 1.1 })
    const text = await run('epsilon', '--q', '0.5', '--sigma', '0', '--steps', '1', '--delta', '1e-5')
    expect(text.io.lines[0]).toMatch(/^ε = ∞ /)
  })

  it('usage errors: missing or malformed flags, unknown values', async () => {
    await expectUsageError(['epsilon', '--sigma', '1', '--steps', '1', '--delta', '1e-5'], /--q is required/)
    await expectUsageError(['epsilon', ...opacusCase.slice(0, 6)], /--delta is required/)
    await expectUsageError(['epsilon', '--q', 'abc', '--sigma', '1', '--steps', '1', '--delta', '1e-5'], /--q must be a decimal number, got 'abc'/)
    // only decimal forms: Number() would read these as 1024, 5 and 8
    await expectUsageError(['epsilon', '--q', '0.1', '--sigma', '1', '--steps', '0x400', '--delta', '1e-5'], /--steps must be a decimal number, got '0x400'/)
    await expectUsageError(['epsilon', '--q', '0.1', '--sigma', '1', '--steps', '0b101', '--delta', '1e-5'], /--steps must be a decimal number/)
    await expectUsageError(['epsilon', '--q', '0.1', '--sigma', '0o10', '--steps', '1', '--delta', '1e-5'], /--sigma must be a decimal number/)
    await expectUsageError(['epsilon', '--q', '0.1', '--sigma', '1', '--steps', '1', '--delta', 'Infinity'], /--delta must be a decimal number/)
    await expectUsageError(['epsilon', '--q', '0.1', '--sigma', '1', '--steps', '1.5', '--delta', '1e-5'], /--steps must be an integer/)
    await expectUsageError(['epsilon', ...opacusCase, '--orders', '2,,3'], /--orders must be a comma-separated list/)
    await expectUsageError(['epsilon', ...opacusCase, '--orders', '2,x'], /--orders/)
    await expectUsageError(['epsilon', ...opacusCase, '--conversion', 'tight'], /--conversion must be one of improved, classic, got 'tight'/)
    await expectUsageError(['epsilon', ...opacusCase, '--bogus', '1'], /bogus/)
    await expectUsageError(['epsilon', ...opacusCase, 'extra'], /extra/)
  })

  it('values out of range are BAD_ARGUMENT ledger errors', async () => {
    await expectBadArgument(['epsilon', '--q', '1.5', '--sigma', '1', '--steps', '10', '--delta', '1e-5'], /q \(sampling rate\) must be a number in \[0, 1\], got 1.5/)
    // a negative value must be attached with '=' (node:util parseArgs); detached, it is a usage error
    await expectUsageError(['epsilon', '--q', '0.1', '--sigma', '-1', '--steps', '10', '--delta', '1e-5'], /argument is ambiguous/)
    await expectBadArgument(['epsilon', '--q', '0.1', '--sigma=-1', '--steps', '10', '--delta', '1e-5'], /sigma \(noise multiplier\)/)
    await expectBadArgument(['epsilon', '--q', '0.1', '--sigma', '1', '--steps=-3', '--delta', '1e-5'], /steps must be a non-negative integer/)
    await expectBadArgument(['epsilon', '--q', '0.1', '--sigma', '1', '--steps', '10', '--delta', '0'], /delta must be a number in \(0, 1\)/)
    await expectBadArgument(['epsilon', '--q', '0.1', '--sigma', '1', '--steps', '10', '--delta', '1'], /delta/)
    await expectBadArgument(['epsilon', ...opacusCase, '--orders', '0.5,2'], /orders\[0\] must be a Rényi order > 1, got 0.5/)
  })
})

describe('fedledger privacy sigma', () => {
  it('analytic by default, {"sigma"} with --json (pfl-research test_compute_parameters.py test_specific: sqrt(2))', async () => {
    const { code, io } = await run('sigma', '--epsilon', '2.25', '--delta', '0.00040834087', '--sensitivity', '1', '--json')
    expect(code).toBe(0)
    const out = JSON.parse(io.lines[0]!) as Record<string, number>
    expect(Object.keys(out)).toEqual(['sigma'])
    expect(out.sigma).toBeCloseTo(Math.SQRT2, 6)
  })

  it('classic method and the human line', async () => {
    const { io } = await run('sigma', '--epsilon', '0.5', '--delta', '1e-5', '--sensitivity', '2', '--method', 'classic')
    expect(io.lines).toEqual([`σ = ${Number(((2 * Math.sqrt(2 * Math.log(1.25 / 1e-5))) / 0.5).toPrecision(6))} (classic Gaussian mechanism, ε = 0.5, δ = 1e-5, sensitivity 2)`])
  })

  it('usage errors and BAD_ARGUMENT errors', async () => {
    await expectUsageError(['sigma', '--epsilon', '1', '--delta', '1e-5'], /--sensitivity is required/)
    await expectUsageError(['sigma', '--epsilon', '1', '--delta', '1e-5', '--sensitivity', '1', '--method', 'laplace'], /--method must be one of analytic, classic/)
    await expectBadArgument(['sigma', '--epsilon', '2', '--delta', '1e-5', '--sensitivity', '1', '--method', 'classic'], /proved only for epsilon < 1/)
    await expectBadArgument(['sigma', '--epsilon', '0', '--delta', '1e-5', '--sensitivity', '1'], /epsilon must be a finite number > 0/)
    await expectBadArgument(['sigma', '--epsilon', '1', '--delta', '1e-5', '--sensitivity=-1'], /sensitivity must be a finite number > 0/)
  })
})

describe('fedledger privacy', () => {
  it('needs a known subcommand', async () => {
    await expectUsageError([], /missing subcommand/)
    await expectUsageError(['budget'], /unknown subcommand 'budget'/)
  })

  it('has a summary and a usage text naming both subcommands', () => {
    expect(privacyCommand.summary.length).toBeGreaterThan(0)
    expect(privacyCommand.usage).toMatch(/fedledger privacy epsilon/)
    expect(privacyCommand.usage).toMatch(/fedledger privacy sigma/)
  })
})
