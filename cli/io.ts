/**
 * What a CLI command needs from the outside world, so commands can be run and
 * tested in-process: argument vector, output streams (text lines, and raw bytes
 * for commands such as `cas cat`), working directory.
 */
import { CodedError } from '../primitives/index.ts'
import { parseArgs, type ParseArgsConfig } from 'node:util'

export interface CliIo {
  out(line: string): void
  err(line: string): void
  /** raw bytes to standard output (binary data, no newline added); awaited for backpressure */
  write(bytes: Uint8Array): void | Promise<void>
  cwd: string
}

/** A usage problem: printed with the command's help, exit code 2. */
export class UsageError extends CodedError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message)
  }
}

export interface Command {
  /** one line for the top-level help */
  summary: string
  /** full help text */
  usage: string
  /** returns the process exit code */
  run(argv: string[], io: CliIo): Promise<number>
}

/** node:util parseArgs, with its errors turned into UsageError. */
export function parseOptions<T extends ParseArgsConfig['options']>(argv: string[], options: T, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true })
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

/** A decimal number: digits, an optional fraction and exponent (no 0x/0b/0o forms, no blanks). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/** Parses a finite decimal number option, or throws a UsageError naming the option. */
export function numberOption(name: string, raw: string | undefined, opts: { required?: boolean; min?: number; integer?: boolean } = {}): number | undefined {
  if (raw === undefined) {
    if (opts.required) throw new UsageError(`--${name} is required`)
    return undefined
  }
  const v = Number(raw)
  if (!DECIMAL.test(raw) || !Number.isFinite(v)) throw new UsageError(`--${name} must be a decimal number, got '${raw}'`)
  if (opts.integer && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer, got '${raw}'`)
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`--${name} must be at least ${opts.min}, got '${raw}'`)
  return v
}
