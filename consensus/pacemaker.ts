/**
 * The pacemaker's timer: one view timer at a time, its length doubling with each
 * consecutive timeout (exponential back-off, capped), back to the base once a view
 * ends in a QC. Whether a replica has work worth a timer, and what it does when the
 * timer fires (sign a timeout), stay with the replica; this keeps the clock side.
 */
export interface PacemakerOptions {
  /** the first view timeout, ms */
  baseTimeoutMs: number
  /** the longest, ms */
  maxTimeoutMs: number
}

export class Pacemaker {
  private readonly opts: PacemakerOptions
  /** timeouts in a row since the last view that ended in a QC */
  private consecutive = 0
  /** the view whose timer runs (0: none) */
  private armedView = 0

  constructor(options: PacemakerOptions) {
    this.opts = options
  }

  /** Whether the timer for `view` is running. */
  isArmed(view: number): boolean {
    return this.armedView === view
  }

  /** Starts the timer of `view` at `nowMs`, unless it runs already; returns when it fires (ms), or undefined. */
  arm(view: number, nowMs: number): number | undefined {
    if (this.armedView === view) return undefined
    this.armedView = view
    return nowMs + Math.min(this.opts.maxTimeoutMs, this.opts.baseTimeoutMs * 2 ** Math.min(this.consecutive, 20))
  }

  /** The timer of the current view fired: the next one is twice as long. */
  timedOut(): void {
    this.consecutive++
    this.armedView = 0
  }

  /** A view ended in a QC: back to the base timeout. */
  progressed(): void {
    this.consecutive = 0
  }

  /** No timer runs any more (the epoch ended). */
  stop(): void {
    this.armedView = 0
  }
}
