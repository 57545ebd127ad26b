/**
 * Typed, coded errors of the enclave service. They travel over the request /
 * response boundary as `{ code, message }` and are rebuilt as the same class on
 * the client side, so both twins (in-process and out-of-process) fail alike.
 */
import { CodedError } from '../../primitives/index.ts'

export const EnclaveServiceErrorCode = {
  /** the request is malformed or inconsistent (schema, ids, lengths, parameters) */
  BAD_REQUEST: 'BAD_REQUEST',
  /** the request names an operation the service does not have */
  UNKNOWN_OP: 'UNKNOWN_OP',
  /** a request or response is larger than the limit */
  TOO_LARGE: 'TOO_LARGE',
  /** no round key is held for this chain and round (never issued, or destroyed by closeRound) */
  NO_ROUND_KEY: 'NO_ROUND_KEY',
  /** a round key was already issued for this chain and round */
  ROUND_KEY_EXISTS: 'ROUND_KEY_EXISTS',
  /** the sealed record does not open: tampered, truncated, or sealed by another instance */
  SEALED_UNREADABLE: 'SEALED_UNREADABLE',
  /** the sealed record's checkpoint window was anchored: its sealing key is erased */
  WINDOW_ERASED: 'WINDOW_ERASED',
  /** a ledger fact in the request does not verify against the enclave's pinned genesis, or the request does not prove a fact the operation needs */
  UNVERIFIED: 'UNVERIFIED',
  /** the certified ledger state does not allow the operation (a round not assigned to this enclave, not final yet, nothing to re-aggregate, a sealed release that is not the round's current result) */
  LEDGER_STATE: 'LEDGER_STATE',
  /** the response could not be understood (client side) */
  PROTOCOL: 'PROTOCOL',
  /** the enclave did not answer within the request timeout (client side) */
  TIMEOUT: 'TIMEOUT',
  /** the enclave is not running, or stopped while a request was pending (client side) */
  UNAVAILABLE: 'UNAVAILABLE',
  /** the request was aborted by the caller's AbortSignal (client side) */
  ABORTED: 'ABORTED',
  /** a failure inside the enclave that is nobody's input */
  INTERNAL: 'INTERNAL',
} as const
export type EnclaveServiceErrorCode = (typeof EnclaveServiceErrorCode)[keyof typeof EnclaveServiceErrorCode]

export class EnclaveServiceError extends CodedError<EnclaveServiceErrorCode> {}

export function isEnclaveServiceError(e: unknown): e is EnclaveServiceError {
  return e instanceof EnclaveServiceError
}

export function isEnclaveServiceErrorCode(code: unknown): code is EnclaveServiceErrorCode {
  return typeof code === 'string' && Object.hasOwn(EnclaveServiceErrorCode, code)
}
