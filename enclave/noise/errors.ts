/**
 * Typed, coded errors for the DP noise module. Every bad parameter or input
 * (a non-positive variance, a non-finite value, a quantized value outside the
 * int64 range) becomes a `NoiseError` with a stable `code`; nothing untyped is
 * thrown for bad input.
 */
import { CodedError } from '../../primitives/index.ts'

export const NoiseErrorCode = {
  /** a parameter (variance, scale, clip norm, noise multiplier, range bound) is missing, of the wrong kind or out of range */
  BAD_PARAMS: 'BAD_PARAMS',
  /** an input vector is not of an accepted type or holds a non-integer where integers are required */
  BAD_INPUT: 'BAD_INPUT',
  /** a value to quantize is NaN or ±Infinity */
  NOT_FINITE: 'NOT_FINITE',
  /** a quantized or noised value does not fit in int64 */
  OVERFLOW: 'OVERFLOW',
} as const

export type NoiseErrorCode = (typeof NoiseErrorCode)[keyof typeof NoiseErrorCode]

export class NoiseError extends CodedError<NoiseErrorCode> {}

export function isNoiseError(e: unknown): e is NoiseError {
  return e instanceof NoiseError
}
