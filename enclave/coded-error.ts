/**
 * The base of the enclave's typed errors: a stable `code` from the module's own
 * list and a message for a person; `name` is the subclass's name. Each module
 * (aggregate, noise, updates, round) declares its codes and subclasses this.
 */
export class CodedError<C extends string> extends Error {
  readonly code: C
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}
