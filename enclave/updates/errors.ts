/**
 * Typed, coded outcomes for encrypted model updates. A member's bad update is not
 * an exception: the checks return an `UpdateRejection` (stable code + message for
 * a person) that the enclave copies into round.result's excluded list. Misuse by
 * the local caller (a round key of the wrong length, an invalid id, a clip bound
 * that is not a positive number) throws an `UpdateError` with code BAD_ARGUMENT.
 */
import { CodedError } from '../../primitives/index.ts'

/** Why an update is excluded from a round. Never change the meaning of an existing code. */
export const UpdateRejectionCode = {
  /** the envelope's CID is not the ciphertext CID the member committed on the ledger */
  NOT_COMMITTED: 'NOT_COMMITTED',
  /** the statement names another chain or round */
  WRONG_ROUND: 'WRONG_ROUND',
  /** the statement names another member */
  WRONG_MEMBER: 'WRONG_MEMBER',
  /** the statement's signature does not verify under the member's key */
  BAD_STATEMENT_SIGNATURE: 'BAD_STATEMENT_SIGNATURE',
  /** authenticated decryption failed: wrong key, tampered bytes, or other round/member bound in */
  DECRYPT_FAILED: 'DECRYPT_FAILED',
  /** the decrypted plaintext's sha256 is not the statement's plaintext hash */
  HASH_MISMATCH: 'HASH_MISMATCH',
  /** the update does not have the model's dimension */
  WRONG_LENGTH: 'WRONG_LENGTH',
  /** a value is NaN or ±Infinity */
  NOT_FINITE: 'NOT_FINITE',
  /** the declared norm differs from the update's actual L2 norm */
  NORM_MISMATCH: 'NORM_MISMATCH',
  /** the update's (or the declared) L2 norm exceeds the round's clip bound */
  NORM_ABOVE_BOUND: 'NORM_ABOVE_BOUND',
  /** undecodable envelope or statement, unknown version or suite */
  MALFORMED: 'MALFORMED',
} as const
export type UpdateRejectionCode = (typeof UpdateRejectionCode)[keyof typeof UpdateRejectionCode]

export interface UpdateRejection {
  ok: false
  reason: UpdateRejectionCode
  message: string
}

export function rejection(reason: UpdateRejectionCode, message: string): UpdateRejection {
  return { ok: false, reason, message }
}

export type UpdateErrorCode = UpdateRejectionCode | 'BAD_ARGUMENT'

/** Thrown by the encoding helpers (callers that prefer exceptions) and on caller misuse. */
export class UpdateError extends CodedError<UpdateErrorCode> {}

export function isUpdateError(e: unknown): e is UpdateError {
  return e instanceof UpdateError
}
