/**
 * Randomness for training, injected everywhere (nothing here reads a global
 * generator). `Rng` gives uniform doubles in [0, 1) with 53 random bits; a
 * `GaussianSource` gives standard normal draws.
 *
 * - `seededRng(...parts)`: xoshiro128** seeded from SHA-256 of the parts, for
 *   data splits, Poisson sampling and reproducible tests and benchmarks.
 * - `cryptoRng()`: node:crypto's CSPRNG, buffered; `cryptoGaussian()` is the
 *   Box–Muller transform over it and is the default DP-SGD noise source.
 * - `gaussianFrom(rng)`: Box–Muller over any Rng (seeded noise for tests).
 *
 * Caveat: the continuous Gaussian is sampled in floating point, as Opacus and
 * TF Privacy do; the enclave's central noise uses an exact discrete sampler.
 */
import { createHash, randomFillSync } from 'node:crypto'
import { ParticipantError } from './errors.ts'

export interface Rng {
  /** a uniform double in [0, 1), 53 random bits */
  next(): number
}

export interface GaussianSource {
  /** a standard normal draw */
  normal(): number
}

const TWO_POW_53 = 9007199254740992

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** xoshiro128** (Blackman and Vigna): 128-bit state, period 2^128 − 1. */
class Xoshiro128 implements Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number
  constructor(state: Uint32Array) {
    this.s0 = state[0]! | 0
    this.s1 = state[1]! | 0
    this.s2 = state[2]! | 0
    this.s3 = state[3]! | 0
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  next(): number {
    const hi = this.nextUint32() >>> 5 // 27 bits
    const lo = this.nextUint32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53
  }
}

/**
 * A deterministic generator seeded by SHA-256 of the parts (numbers and
 * strings, e.g. `seededRng(seed, 'split')`, `seededRng(seed, 'bank', 3)`), so
 * independent streams come from one seed. Not for production noise.
 */
export function seededRng(...parts: ReadonlyArray<number | string>): Rng {
  if (parts.length === 0) throw new ParticipantError('BAD_ARGUMENT', 'seededRng needs at least one seed part')
  for (const p of parts) {
    if (typeof p !== 'string' && !(typeof p === 'number' && Number.isFinite(p))) throw new ParticipantError('BAD_ARGUMENT', `seed parts are strings or finite numbers, got ${String(p)}`)
  }
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest()
  return new Xoshiro128(new Uint32Array(digest.buffer, digest.byteOffset, 4).slice())
}

/** Uniform doubles from node:crypto's CSPRNG, read 4 KiB at a time. */
export function cryptoRng(): Rng {
  const buf = new Uint32Array(1024)
  let pos = buf.length
  const u32 = (): number => {
    if (pos >= buf.length) {
      randomFillSync(buf)
      pos = 0
    }
    return buf[pos++]!
  }
  return {
    next(): number {
      return ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / TWO_POW_53
    },
  }
}

class BoxMuller implements GaussianSource {
  private readonly rng: Rng
  private spare = 0
  private hasSpare = false
  constructor(rng: Rng) {
    this.rng = rng
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false
      return this.spare
    }
    const u = 1 - this.rng.next() // (0, 1]: log is finite
    const v = this.rng.next()
    const r = Math.sqrt(-2 * Math.log(u))
    const theta = 2 * Math.PI * v
    this.spare = r * Math.sin(theta)
    this.hasSpare = true
    return r * Math.cos(theta)
  }
}

/** Standard normals by the Box–Muller transform over `rng` (two per pair of uniforms). */
export function gaussianFrom(rng: Rng): GaussianSource {
  return new BoxMuller(rng)
}

/** The default DP noise: Box–Muller over node:crypto randomness. */
export function cryptoGaussian(): GaussianSource {
  return gaussianFrom(cryptoRng())
}

/** A uniform integer in [0, n) (n ≤ 2^32), by rejection-free scaling of 53 bits (bias < 2^-21). */
export function uniformInt(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n)
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace(a: Int32Array | Uint32Array | number[], rng: Rng): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = uniformInt(rng, i + 1)
    const t = a[i]!
    a[i] = a[j]!
    a[j] = t
  }
}
