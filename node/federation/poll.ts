/**
 * The federation actors' one loop: call `step` every `pollMs` until stopped; a
 * failed step is logged and the next one tries again (the ledger is the state, so
 * nothing is lost by retrying). `stop()` waits for the step in flight to end.
 */
import { sleep } from '../api/index.ts'
import type { Logger } from '../logger.ts'

export interface PollLoop {
  stop(): Promise<void>
}

export function startPolling(step: (signal: AbortSignal) => Promise<void>, pollMs: number, logger: Logger): PollLoop {
  const abort = new AbortController()
  const { signal } = abort
  const loop = (async () => {
    while (!signal.aborted) {
      try {
        await step(signal)
      } catch (e) {
        if (signal.aborted) break
        logger.warn({ err: (e as Error).message }, 'step failed; the next poll tries again')
      }
      await sleep(pollMs, signal).catch(() => {})
    }
  })()
  return {
    async stop() {
      abort.abort()
      await loop
    },
  }
}
