/**
 * Typed, coded errors of the round pipeline. A member's bad update is never an
 * error here (it becomes an exclusion with a reason); a RoundError means the
 * caller's own input is malformed (ids, parameters, commits out of ledger order,
 * a committed member without a key) or the aggregate cannot be represented.
 */
import { CodedError } from '../../primitives/index.ts'

export const RoundErrorCode = {
  /** the caller's input is malformed or inconsistent */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** the quantized sum would leave the range where float64 integer sums are exact */
  OVERFLOW: 'OVERFLOW',
} as const
export type RoundErrorCode = (typeof RoundErrorCode)[keyof typeof RoundErrorCode]

export class RoundError extends CodedError<RoundErrorCode> {}

export function isRoundError(e: unknown): e is RoundError {
  return e instanceof RoundError
}
