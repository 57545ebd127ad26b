/**
 * Typed, coded errors for the ledger. Bad input from a peer or user becomes a
 * `LedgerError` with a stable `code` (used in receipts and on the CLI) and a
 * message meant for a person; broken internal invariants are plain `Error`s.
 */
import { CodecError, CodedError } from '../primitives/index.ts'

export const LedgerErrorCode = {
  // encoding / envelope
  MALFORMED: 'MALFORMED',
  OVERSIZED: 'OVERSIZED',
  UNKNOWN_TX_TYPE: 'UNKNOWN_TX_TYPE',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  BAD_NONCE: 'BAD_NONCE',
  WRONG_CHAIN: 'WRONG_CHAIN',
  // authorisation
  UNKNOWN_MEMBER: 'UNKNOWN_MEMBER',
  MEMBER_REVOKED: 'MEMBER_REVOKED',
  FORBIDDEN_ROLE: 'FORBIDDEN_ROLE',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  // enclaves
  UNKNOWN_ENCLAVE: 'UNKNOWN_ENCLAVE',
  ENCLAVE_REVOKED: 'ENCLAVE_REVOKED',
  ENCLAVE_NOT_ASSIGNED: 'ENCLAVE_NOT_ASSIGNED',
  ATTESTATION_REJECTED: 'ATTESTATION_REJECTED',
  STALE_EVIDENCE: 'STALE_EVIDENCE',
  // rounds
  UNKNOWN_ROUND: 'UNKNOWN_ROUND',
  ROUND_STATE: 'ROUND_STATE',
  NOT_ELIGIBLE: 'NOT_ELIGIBLE',
  DEADLINE_PASSED: 'DEADLINE_PASSED',
  DEADLINE_NOT_REACHED: 'DEADLINE_NOT_REACHED',
  DUPLICATE_COMMIT: 'DUPLICATE_COMMIT',
  RESULT_MISMATCH: 'RESULT_MISMATCH',
  INVALID_CONFIG: 'INVALID_CONFIG',
  // privacy
  OUT_OF_BUDGET: 'OUT_OF_BUDGET',
  NO_BUDGET: 'NO_BUDGET',
  // governance
  VALIDATOR_SET: 'VALIDATOR_SET',
  CHECKPOINT: 'CHECKPOINT',
  // storage / content addressing
  NOT_FOUND: 'NOT_FOUND',
  CID_MISMATCH: 'CID_MISMATCH',
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** the store's folder cannot be opened (missing permissions, not a folder, locked by another process) */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
} as const

export type LedgerErrorCode = (typeof LedgerErrorCode)[keyof typeof LedgerErrorCode]

export class LedgerError extends CodedError<LedgerErrorCode> {}

/**
 * A typed refusal that carries a ledger code: a LedgerError, or a CodecError from the
 * shared codec (bytes that do not decode, a bad CID or hex), whose codes are ledger
 * codes too. Catch sites that turn refusals into receipts or replies use this.
 */
export function isLedgerError(e: unknown): e is LedgerError | CodecError {
  return e instanceof LedgerError || e instanceof CodecError
}
