/**
 * `fedledger privacy`: the ledger's Rényi-DP accountant from the command line.
 *   epsilon — ε spent by `steps` rounds of the Poisson-subsampled Gaussian mechanism;
 *   sigma   — Gaussian noise σ for a target (ε, δ) and sensitivity.
 * Malformed flags are usage errors (exit 2); values out of range are the
 * ledger's BAD_ARGUMENT errors (exit 1), both reported by main.ts.
 */
import {
  CALIBRATION_METHODS,
  RDP_CONVERSIONS,
  computeEpsilon,
  gaussianSigma,
  type CalibrationMethod,
  type RdpConversion,
} from '../ledger/privacy/index.ts'
import { type CliIo, type Command, UsageError, numberOption, parseOptions } from './io.ts'

const usage = `usage:
  fedledger privacy epsilon --q Q --sigma S --steps N --delta D
                            [--orders A1,A2,...] [--conversion improved|classic] [--json]
  fedledger privacy sigma --epsilon E --delta D --sensitivity S
                          [--method analytic|classic] [--json]

epsilon: the (ε, δ)-DP guarantee of N steps of the Poisson-subsampled Gaussian
  mechanism (sampling rate Q, noise multiplier S), by Rényi-DP accounting.
  --orders      Rényi orders > 1 (Infinity allowed); default: Opacus' 1.1..10.9, 12..63
  --conversion  RDP to (ε, δ): improved (Balle et al. 2020, default) or classic (Mironov 2017)
  --json        print {"epsilon": E, "order": A} (epsilon is null when infinite)

sigma: the noise standard deviation of the Gaussian mechanism for a target (ε, δ).
  --method      analytic (Balle and Wang 2018, default, any ε > 0) or
                classic (Dwork and Roth 2014, only ε < 1)
  --json        print {"sigma": S}`

const epsilonOptions = {
  q: { type: 'string' },
  sigma: { type: 'string' },
  steps: { type: 'string' },
  delta: { type: 'string' },
  orders: { type: 'string' },
  conversion: { type: 'string' },
  json: { type: 'boolean' },
} as const

const sigmaOptions = {
  epsilon: { type: 'string' },
  delta: { type: 'string' },
  sensitivity: { type: 'string' },
  method: { type: 'string' },
  json: { type: 'boolean' },
} as const

function required(name: string, raw: string | undefined, integer = false): number {
  return numberOption(name, raw, { required: true, integer }) as number
}

function parseOrders(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined
  return raw.split(',').map((part) => {
    const text = part.trim()
    const v = /^\+?(inf|infinity)$/i.test(text) ? Infinity : Number(text)
    if (text === '' || Number.isNaN(v) || v === -Infinity) throw new UsageError(`--orders must be a comma-separated list of numbers, got '${raw}'`)
    return v
  })
}

function oneOf<T extends string>(name: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback
  if (!(allowed as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${raw}'`)
  return raw as T
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : v > 0 ? '∞' : String(v)
}

function jsonNumber(v: number): number | null {
  return Number.isFinite(v) ? v : null
}

function runEpsilon(argv: string[], io: CliIo): number {
  const { values } = parseOptions(argv, epsilonOptions, false)
  const q = required('q', values.q)
  const sigma = required('sigma', values.sigma)
  const steps = required('steps', values.steps, true)
  const delta = required('delta', values.delta)
  const orders = parseOrders(values.orders)
  const conversion = oneOf<RdpConversion>('conversion', values.conversion, RDP_CONVERSIONS, 'improved')
  const { epsilon, order } = computeEpsilon({ q, sigma, steps, delta, conversion, ...(orders ? { orders } : {}) })
  if (values.json) {
    io.out(JSON.stringify({ epsilon: jsonNumber(epsilon), order: jsonNumber(order) }))
  } else {
    io.out(`ε = ${fmt(epsilon)} at δ = ${values.delta} (Rényi order ${fmt(order)}; q = ${values.q}, σ = ${values.sigma}, ${steps} steps, ${conversion} conversion)`)
  }
  return 0
}

function runSigma(argv: string[], io: CliIo): number {
  const { values } = parseOptions(argv, sigmaOptions, false)
  const epsilon = required('epsilon', values.epsilon)
  const delta = required('delta', values.delta)
  const sensitivity = required('sensitivity', values.sensitivity)
  const method = oneOf<CalibrationMethod>('method', values.method, CALIBRATION_METHODS, 'analytic')
  const sigma = gaussianSigma({ epsilon, delta, sensitivity, method })
  if (values.json) {
    io.out(JSON.stringify({ sigma }))
  } else {
    io.out(`σ = ${fmt(sigma)} (${method} Gaussian mechanism, ε = ${values.epsilon}, δ = ${values.delta}, sensitivity ${values.sensitivity})`)
  }
  return 0
}

export const privacyCommand: Command = {
  summary: 'Rényi-DP accounting: ε of a DP-SGD schedule, σ for a target (ε, δ)',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const [sub, ...rest] = argv
    if (sub === 'epsilon') return runEpsilon(rest, io)
    if (sub === 'sigma') return runSigma(rest, io)
    throw new UsageError(sub === undefined ? 'missing subcommand: epsilon or sigma' : `unknown subcommand '${sub}': expected epsilon or sigma`)
  },
}
