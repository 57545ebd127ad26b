/**
 * The randomness port of the noise module: `RandomSource.uniformBigInt(n)`, a
 * uniform integer in [0, n). Implementations draw bytes and use rejection
 * sampling on the smallest bit mask covering n − 1, so there is no modulo bias:
 * every accepted candidate in [0, n) is equally likely, and a rejected candidate
 * (≥ n, probability < 1/2 per try) is thrown away, never reduced mod n.
 *
 * - `cryptoRandom()`: node:crypto's CSPRNG (randomFillSync), the source for real rounds.
 * - `seededRandom(seed)`: SHA-256 in counter mode over a seed. FOR TESTS ONLY:
 *   deterministic and reproducible, it is not a vetted DRBG and its output is
 *   known to anyone who knows the seed, so it must never noise a real aggregate.
 * - `randomFromBytes(fill)`: the shared rejection logic over any byte source,
 *   exposed so the logic can be tested with scripted bytes.
 */
import { createHash, randomFillSync } from 'node:crypto'
import { NoiseError } from './errors.ts'

export interface RandomSource {
  /** A uniform integer in [0, n); n must be a bigint ≥ 1. */
  uniformBigInt(n: bigint): bigint
}

/** Fills and returns exactly `length` fresh random bytes. */
export type ByteSource = (length: number) => Uint8Array

/** Default number of bytes requested from a ByteSource at a time. */
export const DEFAULT_BYTE_CHUNK = 256

/**
 * A RandomSource over `fill`, which is asked for `chunk` bytes at a time (the
 * bytes are consumed in order, big-endian per candidate, with the top byte masked
 * to the bit length of n − 1).
 */
export function randomFromBytes(fill: ByteSource, chunk: number = DEFAULT_BYTE_CHUNK): RandomSource {
  if (typeof fill !== 'function') throw new NoiseError('BAD_PARAMS', 'randomFromBytes needs a byte source function')
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new NoiseError('BAD_PARAMS', `byte chunk ${String(chunk)} is not a positive integer`)
  let buf: Uint8Array = new Uint8Array(0)
  let pos = 0
  const nextByte = (): number => {
    if (pos >= buf.length) {
      const got: unknown = fill(chunk)
      if (!(got instanceof Uint8Array) || got.length !== chunk) {
        throw new NoiseError('BAD_INPUT', `byte source must return a Uint8Array of ${chunk} bytes`)
      }
      buf = got
      pos = 0
    }
    return buf[pos++]!
  }
  return {
    uniformBigInt(n: bigint): bigint {
      if (typeof n !== 'bigint' || n < 1n) throw new NoiseError('BAD_PARAMS', `uniformBigInt needs a bigint n ≥ 1, got ${String(n)}`)
      if (n === 1n) return 0n
      const max = n - 1n
      const bits = max.toString(2).length
      const bytes = Math.ceil(bits / 8)
      const topMask = 0xff >> (bytes * 8 - bits)
      if (bits <= 48) {
        // number arithmetic is exact below 2^53
        const limit = Number(n)
        for (;;) {
          let x = nextByte() & topMask
          for (let i = 1; i < bytes; i++) x = x * 256 + nextByte()
          if (x < limit) return BigInt(x)
        }
      }
      for (;;) {
        let x = BigInt(nextByte() & topMask)
        for (let i = 1; i < bytes; i++) x = (x << 8n) | BigInt(nextByte())
        if (x < n) return x
      }
    },
  }
}

/** The production source: node:crypto's CSPRNG, read in buffered chunks. */
export function cryptoRandom(): RandomSource {
  return randomFromBytes((length) => randomFillSync(new Uint8Array(length)), 4096)
}

const SEEDED_DOMAIN = 'fedledger/enclave/noise/seeded-random/v1'

/**
 * A deterministic stream for TESTS ONLY: block i is
 * SHA-256(domain ‖ 0x00 ‖ seed ‖ uint64be(i)). The same seed gives the same
 * draws on every platform. Not a DRBG: never use it to noise a real aggregate.
 */
export function seededRandom(seed: Uint8Array | string): RandomSource {
  let seedBytes: Uint8Array
  if (typeof seed === 'string') seedBytes = new TextEncoder().encode(seed)
  else if (seed instanceof Uint8Array) seedBytes = Uint8Array.from(seed)
  else throw new NoiseError('BAD_PARAMS', 'seededRandom needs a Uint8Array or string seed')
  const prefix = new Uint8Array([...new TextEncoder().encode(SEEDED_DOMAIN), 0, ...seedBytes])
  const counter = new Uint8Array(8)
  const counterView = new DataView(counter.buffer)
  let block = 0n
  return randomFromBytes(() => {
    counterView.setBigUint64(0, block++)
    return new Uint8Array(createHash('sha256').update(prefix).update(counter).digest())
  }, 32)
}
