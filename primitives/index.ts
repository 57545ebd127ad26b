/**
 * primitives/: what every other folder may import, and nothing else. Today that is
 * the one base of typed errors (`CodedError`). It imports no other folder of the
 * project, holds no state and does no I/O.
 */
export { CodedError, isCodedError } from './errors.ts'
