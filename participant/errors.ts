/**
 * Typed, coded errors of the participant module. Bad input (a malformed IDX or
 * CSV file, a ragged dataset, an update of the wrong length, parameters out of
 * range) becomes a `ParticipantError` with a stable `code` and a message for a
 * person; broken internal invariants stay plain `Error`s. It extends the one
 * error base, CodedError (primitives/), like every typed error of the project.
 */
import { CodedError } from '../primitives/index.ts'

export const ParticipantErrorCode = {
  /** an option or argument missing, of the wrong kind or out of range */
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** a dataset whose arrays do not match its declared shape, or labels out of range */
  BAD_DATASET: 'BAD_DATASET',
  /** IDX bytes with a wrong magic number, dimensions or size */
  BAD_IDX: 'BAD_IDX',
  /** CSV text with ragged rows, non-numbers, bad labels or no rows */
  BAD_CSV: 'BAD_CSV',
  /** a parameter vector or update whose length is not the model's dimension */
  WRONG_LENGTH: 'WRONG_LENGTH',
  /** NaN or ±Infinity where finite values are required (including a diverged run) */
  NOT_FINITE: 'NOT_FINITE',
  /** a data file that does not exist (node/data loaders) */
  MISSING_FILE: 'MISSING_FILE',
  /** training stopped by its AbortSignal */
  ABORTED: 'ABORTED',
} as const

export type ParticipantErrorCode = (typeof ParticipantErrorCode)[keyof typeof ParticipantErrorCode]

export class ParticipantError extends CodedError<ParticipantErrorCode> {}

export function isParticipantError(e: unknown): e is ParticipantError {
  return e instanceof ParticipantError
}

/** Throws BAD_ARGUMENT unless `v` is a finite number > 0. */
export function checkPositive(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ParticipantError('BAD_ARGUMENT', `${name} must be a finite number > 0, got ${String(v)}`)
  return v
}

/** Throws BAD_ARGUMENT unless `v` is a safe integer in [min, max]. */
export function checkInteger(v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new ParticipantError('BAD_ARGUMENT', `${name} must be an integer in [${min}, ${max}], got ${String(v)}`)
  }
  return v
}
