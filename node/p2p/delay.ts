/**
 * OutboundDelay: the testnet "delay" fault. While its delay is above 0, each
 * outgoing action handed to `later` runs that many milliseconds after the call.
 * Actions run strictly in call order (FIFO): an action never overtakes one
 * queued before it, even after the delay was lowered or turned off; with the
 * delay at 0 and nothing queued, `later` runs the action at once (no timer).
 * One timer at most, armed for the head of the queue. `drop` rejects every
 * queued action and clears the timer (the host calls it on stop).
 */
import { P2PError } from './errors.ts'

/** The largest accepted delay (10 s). */
export const MAX_DELAY_MS = 10_000

interface Pending {
  /** performance.now() at which the action may leave */
  due: number
  run: () => void
  fail: (err: P2PError) => void
}

export class OutboundDelay {
  #ms = 0
  readonly #queue: Pending[] = []
  #timer: NodeJS.Timeout | undefined

  get ms(): number {
    return this.#ms
  }

  /** Throws INVALID_ARGUMENT unless `ms` is an integer in 0..MAX_DELAY_MS. Already queued actions keep their time. */
  set(ms: number): void {
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_DELAY_MS) {
      throw new P2PError('INVALID_ARGUMENT', `delay must be an integer number of milliseconds in 0..${MAX_DELAY_MS}, got ${String(ms)}`)
    }
    this.#ms = ms
  }

  /** How many actions wait. */
  get pending(): number {
    return this.#queue.length
  }

  /** Run `action` after the current delay (behind anything queued earlier); settles as the action does. */
  later<T>(action: () => Promise<T>): Promise<T> {
    if (this.#ms === 0 && this.#queue.length === 0) return action()
    const tail = this.#queue.at(-1)
    const due = Math.max(performance.now() + this.#ms, tail?.due ?? 0)
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({
        due,
        run: () => {
          try {
            action().then(resolve, reject)
          } catch (err) {
            reject(err)
          }
        },
        fail: reject,
      })
      this.#arm()
    })
  }

  /** Reject every queued action with `err` and clear the timer. */
  drop(err: P2PError): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    for (const p of this.#queue.splice(0)) p.fail(err)
  }

  #arm(): void {
    const head = this.#queue[0]
    if (this.#timer !== undefined || head === undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#drain()
    }, Math.max(0, Math.ceil(head.due - performance.now())))
  }

  #drain(): void {
    const now = performance.now()
    while (this.#queue[0] !== undefined && this.#queue[0].due <= now) this.#queue.shift()!.run()
    this.#arm()
  }
}
