/**
 * The one polling helper of the tests: wait for a condition instead of sleeping a
 * fixed time and then asserting (which passes on a quiet machine and fails on a busy
 * one).
 */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Calls `check` every `everyMs` until it returns something other than undefined, null
 * or false, and returns that. An error thrown by `check` counts as "not yet" (a node
 * still starting refuses connections); after `timeoutMs` it fails, naming `what` and
 * the last error.
 */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 5_000, everyMs = 25): Promise<Exclude<T, false | null | undefined>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== null && value !== false) return value as Exclude<T, false | null | undefined>
      last = undefined
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : `: ${last instanceof Error ? last.message : String(last)}`}`)
    await sleep(everyMs)
  }
}
