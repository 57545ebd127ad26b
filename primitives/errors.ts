/**
 * The one base of every typed error in fedledger: a stable `code` from the throwing
 * folder's own list, a message for a person, an optional cause, and `name` set to
 * the subclass's name. Each folder declares its code union and subclasses this
 * (LedgerError, WireError, MempoolError, …), so a caller that only needs to report an
 * error (the command line, the HTTP API) can handle any of them alike.
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
  }
}

/** True for any fedledger typed error, whichever folder threw it. */
export function isCodedError(e: unknown): e is CodedError {
  return e instanceof CodedError
}

/** Codes of the shared codec's refusals; each is also a ledger code (a receipt says the same). */
export type CodecErrorCode = 'MALFORMED' | 'OVERSIZED' | 'BAD_ARGUMENT'

/** Bytes or text that are not what the codec was asked to read (not DAG-CBOR, too large, not hex, not a CID). */
export class CodecError extends CodedError<CodecErrorCode> {}
