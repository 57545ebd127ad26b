/**
 * Typed errors of the federation actors (participant peers, the enclave host,
 * the coordinator): a stable code and a message for a person. Errors of the
 * validator API itself come from the client as ApiClientError (node/api).
 */
import { CodedError } from '../../primitives/index.ts'

export const FederationErrorCode = {
  BAD_ARGUMENT: 'BAD_ARGUMENT',
  /** a committed transaction was refused by the ledger's rules */
  REFUSED: 'REFUSED',
  /** an answer (API or peer) does not have the expected shape */
  BAD_ANSWER: 'BAD_ANSWER',
  TIMEOUT: 'TIMEOUT',
  /** the enclave's evidence does not verify, or binds another key than the ledger's round key */
  ATTESTATION: 'ATTESTATION',
  /** content fetched by CID is missing, oversized or does not match its CID */
  CONTENT: 'CONTENT',
  /** a peer's request is refused (unknown member, not eligible, wrong round, oversized) */
  REFUSED_REQUEST: 'REFUSED_REQUEST',
} as const
export type FederationErrorCode = (typeof FederationErrorCode)[keyof typeof FederationErrorCode]

export class FederationError extends CodedError<FederationErrorCode> {
  /** SUBMIT only: the validator deferred the transaction ("not now") and asked to offer it again after this many milliseconds */
  readonly retryAfterMs: number | undefined
  constructor(code: FederationErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(code, message, options)
    this.retryAfterMs = options?.retryAfterMs
  }
}

export function isFederationError(e: unknown): e is FederationError {
  return e instanceof FederationError
}
