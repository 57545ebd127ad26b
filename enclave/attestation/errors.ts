/**
 * Typed, coded errors of the off-ledger attestation policy and the sim-v1
 * revocation list. Every refusal (a format not allowed, evidence the format
 * verifier rejected, a debug enclave, a revoked platform, a stale or rolled-back
 * revocation list, ...) is an `AttestationError` with one of these stable codes.
 */
import { CodedError } from '../../primitives/index.ts'

export const AttestationErrorCode = {
  /** the evidence format is not among the policy's formats */
  FORMAT_NOT_ALLOWED: 'FORMAT_NOT_ALLOWED',
  /** sim-v1 under a production policy (or a production policy listing it) */
  SIMULATED_IN_PRODUCTION: 'SIMULATED_IN_PRODUCTION',
  /** the format's verifier refused the evidence; the message carries its reason */
  EVIDENCE_REJECTED: 'EVIDENCE_REJECTED',
  /** the enclave runs in debug mode and the policy does not allow it */
  DEBUG_MODE: 'DEBUG_MODE',
  /** the measurement is not on the allow-list, or is not the expected one */
  MEASUREMENT_NOT_ALLOWED: 'MEASUREMENT_NOT_ALLOWED',
  /** the evidence was made for another nonce (another purpose, round or chain) */
  NONCE_MISMATCH: 'NONCE_MISMATCH',
  /** an expected public key is not bound into the evidence */
  KEY_NOT_BOUND: 'KEY_NOT_BOUND',
  /** the evidence names another platform than the expected one */
  PLATFORM_MISMATCH: 'PLATFORM_MISMATCH',
  REVOKED_PLATFORM: 'REVOKED_PLATFORM',
  REVOKED_MEASUREMENT: 'REVOKED_MEASUREMENT',
  REVOKED_KEY: 'REVOKED_KEY',
  /** the policy requires a revocation list and none is held or given */
  NO_REVOCATION_LIST: 'NO_REVOCATION_LIST',
  /** the revocation list is past its nextUpdate */
  STALE_REVOCATION_LIST: 'STALE_REVOCATION_LIST',
  /** a revocation list with a lower serial than the one already accepted */
  ROLLED_BACK_REVOCATION_LIST: 'ROLLED_BACK_REVOCATION_LIST',
  /** the same serial as the accepted list, with different content */
  CONFLICTING_REVOCATION_LIST: 'CONFLICTING_REVOCATION_LIST',
  /** unreadable, oversized, malformed, not signed by a trust anchor, not yet valid or from the wrong issuer */
  BAD_REVOCATION_LIST: 'BAD_REVOCATION_LIST',
  /** a policy that cannot be right (empty allow-lists, a format without anchors, ...) */
  BAD_POLICY: 'BAD_POLICY',
} as const

export type AttestationErrorCode = (typeof AttestationErrorCode)[keyof typeof AttestationErrorCode]

export class AttestationError extends CodedError<AttestationErrorCode> {}

export function isAttestationError(e: unknown): e is AttestationError {
  return e instanceof AttestationError
}
