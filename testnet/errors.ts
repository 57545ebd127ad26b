/**
 * Typed, coded errors for testnet/: everything the generator, the process
 * runner and the scenario runner throw on bad input or a failed run is a
 * `TestnetError` with a stable `code`.
 */
import { CodedError } from '../primitives/index.ts'

export const TestnetErrorCode = {
  /** a bad argument: validator count, index, port, manifest field */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** the folder already holds a testnet (pass force to replace it) */
  EXISTS: 'EXISTS',
  /** the folder is not empty and holds no testnet.json: refused even with force */
  NOT_EMPTY: 'NOT_EMPTY',
  /** no testnet.json in the folder (run `testnet up` first) */
  NOT_FOUND: 'NOT_FOUND',
  /** testnet.json or a scenario manifest does not parse */
  MALFORMED: 'MALFORMED',
  /** a port given explicitly is already taken */
  PORT_IN_USE: 'PORT_IN_USE',
  /** validators of this testnet are already running */
  ALREADY_RUNNING: 'ALREADY_RUNNING',
  /** the validator is not running (no PID file, or the PID is not its process any more) */
  NOT_RUNNING: 'NOT_RUNNING',
  /** a validator process could not be spawned */
  SPAWN_FAILED: 'SPAWN_FAILED',
  /** validators did not come up (exited, or no committed block before the timeout) */
  NOT_READY: 'NOT_READY',
  /** a validator's HTTP API refused a request (e.g. the admin hook is missing) */
  API: 'API',
  /** a scenario step failed (e.g. the height was not reached in time) */
  SCENARIO: 'SCENARIO',
  /** the caller's AbortSignal fired */
  ABORTED: 'ABORTED',
} as const

export type TestnetErrorCode = (typeof TestnetErrorCode)[keyof typeof TestnetErrorCode]

/** Why one validator is not ready, with the end of its log. */
export interface NotReadyValidator {
  index: number
  id: string
  reason: string
  logTail: string
}

export class TestnetError extends CodedError<TestnetErrorCode> {
  /** for NOT_READY: the validators that did not come up */
  readonly notReady: NotReadyValidator[]
  constructor(code: TestnetErrorCode, message: string, options?: { cause?: unknown; notReady?: NotReadyValidator[] }) {
    super(code, message, options)
    this.notReady = options?.notReady ?? []
  }
}

export function isTestnetError(e: unknown): e is TestnetError {
  return e instanceof TestnetError
}

/** Throws ABORTED if the signal has fired. */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TestnetError('ABORTED', 'aborted', { cause: signal.reason })
}

/** Sleeps, or throws ABORTED early when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  checkAborted(signal)
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer)
      reject(new TestnetError('ABORTED', 'aborted', { cause: signal?.reason }))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
