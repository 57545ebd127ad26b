/**
 * The plaintext of an encrypted update: the member's clipped, quantized model
 * update as little-endian float32 values, nothing else (docs/ARCHITECTURE.md §5, "One canonical encoding": floats
 * travel as explicit little-endian arrays). The update statement's plaintextHash
 * is sha256 of exactly these bytes, and its declaredNorm is `l2Norm` of the values.
 *
 * The norm is accumulated in float64 in index order, so a participant and the
 * enclave running this code get the same number bit for bit. The clip bound is
 * checked without slack (it is the sensitivity the DP guarantee rests on);
 * `clipToNorm` gives participants float32 values whose norm is within it.
 */
import { float32ToLeBytes } from '../../ledger/index.ts'
import { sha256 } from '../../primitives/index.ts'
import { UpdateError } from './errors.ts'

export const UPDATE_DTYPE = 'float32-le'
export const BYTES_PER_VALUE = 4

/**
 * How far the declared norm may be from the actual one, relative to the larger:
 * room for a participant that computes the norm with another summation order or
 * in float32 (a few float32 ulps, 2^-24 ≈ 6e-8 each). It never loosens the bound.
 */
export const NORM_RELATIVE_TOLERANCE = 1e-6

function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i
  return -1
}

/** Little-endian float32 bytes; throws NOT_FINITE for NaN or ±Infinity. */
export function encodeUpdate(values: Float32Array): Uint8Array {
  if (!(values instanceof Float32Array)) throw new UpdateError('BAD_ARGUMENT', 'an update is a Float32Array')
  const bad = firstNonFinite(values)
  if (bad >= 0) throw new UpdateError('NOT_FINITE', `value ${bad} is ${values[bad]}`)
  return float32ToLeBytes(values)
}

/** Parses plaintext bytes; throws WRONG_LENGTH or NOT_FINITE (with the index) on bad input. */
export function decodeUpdate(bytes: Uint8Array, expectedLength: number): Float32Array {
  if (!Number.isSafeInteger(expectedLength) || expectedLength < 0) throw new UpdateError('BAD_ARGUMENT', `dimension ${expectedLength} is not a non-negative integer`)
  if (bytes.length !== expectedLength * BYTES_PER_VALUE) {
    throw new UpdateError('WRONG_LENGTH', `update is ${bytes.length} bytes; ${expectedLength} float32 values take ${expectedLength * BYTES_PER_VALUE}`)
  }
  const out = new Float32Array(expectedLength)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let i = 0; i < expectedLength; i++) {
    const v = view.getFloat32(i * BYTES_PER_VALUE, true)
    if (!Number.isFinite(v)) throw new UpdateError('NOT_FINITE', `value ${i} is ${v}`)
    out[i] = v
  }
  return out
}

/** Euclidean norm, float64 accumulation in index order (deterministic). */
export function l2Norm(values: ArrayLike<number>): number {
  let sum = 0
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!
    sum += v * v
  }
  return Math.sqrt(sum)
}

/** sha256 of the plaintext bytes: the statement's plaintextHash. */
export function hashUpdate(plaintext: Uint8Array): Uint8Array {
  return sha256(plaintext)
}

/** True when `declared` and `actual` agree within NORM_RELATIVE_TOLERANCE. */
export function normsAgree(declared: number, actual: number): boolean {
  return Math.abs(declared - actual) <= NORM_RELATIVE_TOLERANCE * Math.max(Math.abs(declared), Math.abs(actual))
}

/**
 * Scales `values` (float64 or float32) down to norm ≤ clipNorm and rounds to
 * float32, so that `l2Norm` of the result is ≤ clipNorm exactly (float32 rounding
 * can otherwise push a vector clipped to C just above C). Vectors already within
 * the bound are only rounded. Throws NOT_FINITE for NaN or ±Infinity.
 */
export function clipToNorm(values: ArrayLike<number>, clipNorm: number): Float32Array {
  if (!(Number.isFinite(clipNorm) && clipNorm > 0)) throw new UpdateError('BAD_ARGUMENT', `clip norm ${clipNorm} is not a positive number`)
  const bad = firstNonFinite(values)
  if (bad >= 0) throw new UpdateError('NOT_FINITE', `value ${bad} is ${values[bad]}`)
  const norm = l2Norm(values)
  if (!Number.isFinite(norm)) throw new UpdateError('NOT_FINITE', 'the update norm overflows float64')
  let factor = norm > clipNorm ? clipNorm / norm : 1
  const out = new Float32Array(values.length)
  // Each pass shrinks the factor by the excess plus a margin; float32 rounding moves the norm by at most 2^-24 relative.
  for (let pass = 0; pass < 64; pass++) {
    for (let i = 0; i < values.length; i++) out[i] = values[i]! * factor
    const actual = l2Norm(out)
    if (actual === Infinity) throw new UpdateError('NOT_FINITE', 'the clipped update exceeds the float32 range')
    if (actual <= clipNorm) return out
    factor *= (clipNorm / actual) * (1 - 2 ** -20)
  }
  throw new Error(`clipToNorm did not converge for clip norm ${clipNorm}`) // broken invariant: each pass shrinks the norm
}
