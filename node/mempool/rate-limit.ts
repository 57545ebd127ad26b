/**
 * Per-key token buckets on an injected millisecond clock: each key holds up to
 * `burst` tokens and regains `perSecond` tokens a second. Checking and spending are
 * separate so that a caller can check before expensive work and spend only once
 * the request is known to be genuine. Full buckets are forgotten by `prune`.
 */

export interface RateLimitOptions {
  /** tokens a bucket holds when full (the largest burst) */
  burst: number
  /** tokens regained per second */
  perSecond: number
}

interface Bucket {
  tokens: number
  at: number
}

export class TokenBuckets {
  private readonly opts: RateLimitOptions
  private readonly now: () => number
  private readonly buckets = new Map<string, Bucket>()

  constructor(opts: RateLimitOptions, now: () => number) {
    if (!(opts.burst >= 1) || !(opts.perSecond >= 0)) throw new RangeError(`rate limit needs burst ≥ 1 and perSecond ≥ 0, got ${opts.burst} and ${opts.perSecond}`)
    this.opts = opts
    this.now = now
  }

  /** Tokens `key` holds now. */
  tokens(key: string): number {
    const b = this.buckets.get(key)
    return b === undefined ? this.opts.burst : this.refill(b, this.now())
  }

  /** Whether `key` may spend one token now. */
  allows(key: string): boolean {
    return this.tokens(key) >= 1
  }

  /** Spends one token of `key` (the caller checked `allows`). */
  spend(key: string): void {
    const at = this.now()
    const b = this.buckets.get(key)
    const tokens = b === undefined ? this.opts.burst : this.refill(b, at)
    this.buckets.set(key, { tokens: Math.max(0, tokens - 1), at })
  }

  /** Forgets buckets that have refilled completely (they behave as new ones). */
  prune(): void {
    const at = this.now()
    for (const [key, b] of this.buckets) if (this.refill(b, at) >= this.opts.burst) this.buckets.delete(key)
  }

  /** Buckets currently tracked. */
  get size(): number {
    return this.buckets.size
  }

  private refill(b: Bucket, at: number): number {
    const elapsed = Math.max(0, at - b.at) // a clock that steps back refills nothing
    return Math.min(this.opts.burst, b.tokens + (elapsed * this.opts.perSecond) / 1000)
  }
}
