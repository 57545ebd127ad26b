/**
 * The out-of-process twin of the EnclaveClient port: spawns the enclave as a
 * child process (the script and arguments it is given, on this Node binary; the
 * CLI gives `cli/enclave-main.ts serve --testnet DIR --enclave ID`) and exchanges length-prefixed frames over its stdin and stdout; the
 * child's stderr (its logs) goes to `onLog` and a short tail kept for errors.
 *
 * Requests are written in order and the child answers them in order, so a
 * response belongs to the oldest request still waiting (the wire id is checked
 * too). A request that times out or is aborted stays in that queue as abandoned,
 * and its late response is dropped. Responses over the size limit are skipped
 * unread and fail their request with TOO_LARGE. stop() closes stdin, signals the
 * child by PID (SIGTERM, then SIGKILL after a grace period) and waits for it to exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { DEFAULT_MAX_MESSAGE_BYTES, EnclaveServiceError, throwIfAborted, WireEnclaveClient, type CallOptions } from '../../enclave/service/index.ts'
import { FrameDecoder, MAX_FRAME_BYTES } from './framing.ts'
import { writeFrame } from './server.ts'

export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000
export const DEFAULT_START_TIMEOUT_MS = 30_000
export const DEFAULT_STOP_TIMEOUT_MS = 5_000
const STDERR_TAIL_LINES = 50

export interface ProcessEnclaveOptions {
  /**
   * The child's script and its arguments, run with this Node binary: a process that
   * answers length-prefixed requests on stdin (e.g. cli/enclave.ts enclaveServeArgv:
   * `cli/enclave-main.ts serve --testnet DIR --enclave ID`).
   */
  argv: readonly string[]
  requestTimeoutMs?: number
  startTimeoutMs?: number
  stopTimeoutMs?: number
  maxRequestBytes?: number
  maxResponseBytes?: number
  /** one line of the child's stderr */
  onLog?: (line: string) => void
}

interface Pending {
  resolve(bytes: Uint8Array): void
  reject(e: EnclaveServiceError): void
  abandoned: boolean
}

export class ProcessEnclave extends WireEnclaveClient {
  private readonly options: ProcessEnclaveOptions
  private child: ChildProcess | null = null
  private exited: Promise<void> = Promise.resolve()
  private readonly queue: Pending[] = []
  private readonly stderrTail: string[] = []

  constructor(options: ProcessEnclaveOptions) {
    super({ maxResponseBytes: Math.min(options.maxResponseBytes ?? DEFAULT_MAX_MESSAGE_BYTES, MAX_FRAME_BYTES) })
    this.options = options
  }

  /** The child's PID while it runs. */
  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Spawns the child and waits until it answers `identity`. */
  async start(options: CallOptions = {}): Promise<void> {
    if (this.child !== null) return
    const child = spawn(process.execPath, [...this.options.argv], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child = child
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = null
      this.failAll(new EnclaveServiceError('UNAVAILABLE', `the enclave process exited (${signal ?? `code ${code}`})${this.tail()}`))
    })
    child.once('error', (e) => this.failAll(new EnclaveServiceError('UNAVAILABLE', `the enclave process failed: ${e.message}`)))
    child.stdin!.on('error', () => {}) // a dead child's pipe: reported through 'exit'
    const decoder = new FrameDecoder({ maxFrameBytes: this.maxResponseBytes })
    child.stdout!.on('data', (chunk: Buffer) => {
      for (const event of decoder.push(chunk)) {
        const p = this.queue.shift()
        if (p === undefined || p.abandoned) continue
        if (event.kind === 'frame') p.resolve(event.bytes)
        else p.reject(new EnclaveServiceError('TOO_LARGE', `response of ${event.length} bytes, limit ${this.maxResponseBytes}`))
      }
    })
    let partial = ''
    child.stderr!.setEncoding('utf8')
    child.stderr!.on('data', (text: string) => {
      const lines = (partial + text).split('\n')
      partial = lines.pop()!
      for (const line of lines) {
        this.stderrTail.push(line)
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift()
        this.options.onLog?.(line)
      }
    })
    const timeout = AbortSignal.timeout(this.options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS)
    try {
      await this.identity({ signal: options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]) })
    } catch (e) {
      await this.stop()
      throw e
    }
  }

  async exchange(request: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    throwIfAborted(options.signal)
    const child = this.child
    if (child === null || child.stdin === null || child.stdin.destroyed) throw new EnclaveServiceError('UNAVAILABLE', `the enclave process is not running${this.tail()}`)
    const limit = Math.min(this.options.maxRequestBytes ?? DEFAULT_MAX_MESSAGE_BYTES, MAX_FRAME_BYTES)
    if (request.length > limit) throw new EnclaveServiceError('TOO_LARGE', `request of ${request.length} bytes, limit ${limit}`)
    const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    return new Promise<Uint8Array>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const settle = () => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
      }
      const pending: Pending = {
        abandoned: false,
        resolve: (bytes) => (settle(), resolve(bytes)),
        reject: (e) => (settle(), reject(e)),
      }
      const abandon = (e: EnclaveServiceError) => {
        pending.abandoned = true
        pending.reject(e)
      }
      const onAbort = () => abandon(new EnclaveServiceError('ABORTED', `the request was aborted: ${String(options.signal?.reason)}`))
      timer = setTimeout(() => abandon(new EnclaveServiceError('TIMEOUT', `no response within ${timeoutMs} ms`)), timeoutMs)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.queue.push(pending)
      writeFrame(child.stdin!, request).catch((e: Error) => abandon(new EnclaveServiceError('UNAVAILABLE', `cannot write to the enclave process: ${e.message}`)))
    })
  }

  /** Closes stdin, signals the child by PID (SIGTERM, then SIGKILL) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child
    if (child === null) return
    const pid = child.pid
    child.stdin?.end()
    const grace = this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS
    if (child.exitCode === null && child.signalCode === null && pid !== undefined) {
      signal(pid, 'SIGTERM')
      const timer = setTimeout(() => signal(pid, 'SIGKILL'), grace)
      await this.exited
      clearTimeout(timer)
    }
    this.child = null
    this.failAll(new EnclaveServiceError('UNAVAILABLE', 'the enclave process was stopped'))
  }

  private failAll(e: EnclaveServiceError): void {
    for (const p of this.queue.splice(0)) if (!p.abandoned) p.reject(e)
  }

  private tail(): string {
    return this.stderrTail.length === 0 ? '' : `; its last log lines:\n${this.stderrTail.slice(-5).join('\n')}`
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}
