/**
 * primitives/: what every other folder may import. The one canonical encoding
 * (DAG-CBOR, CIDs, SHA-256, hex, the domain tags of signed messages and their
 * signing bytes), ed25519 on node:crypto, and the one base of typed errors
 * (`CodedError`). It imports no other folder of the project, holds no state beyond
 * key caches and does no I/O. What is specific to one folder (the ledger's
 * transactions, consensus messages) stays in that folder.
 */
export { CodedError, isCodedError, CodecError, type CodecErrorCode } from './errors.ts'
export * from './codec.ts'
export * from './ed25519.ts'
