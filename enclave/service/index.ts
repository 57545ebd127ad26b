/**
 * enclave/service: the aggregation enclave as a request/response service
 * (docs/ARCHITECTURE.md §5, "a request/response boundary"). `EnclaveService` holds the enclave's secrets — its
 * registered signing key, the per-round x25519 keys, the sealing keys — and
 * answers six operations: identity, roundKey (an attested round key as a signed
 * enclave.round-key transaction), aggregate (the round pipeline, the new model
 * and its CID, a signed round.result and the sealed record of the release),
 * reaggregate (the release without revoked members, from its sealed record, with
 * the same noise), closeRound (destroys the round key) and checkpointAnchored
 * (erases the sealing keys of anchored windows). The wire codec carries them as
 * DAG-CBOR messages; `handleRequest` serves bytes and never throws for bad
 * input; `InProcessEnclave` is the in-process twin of the EnclaveClient port.
 *
 * It is not the host: it does not follow the ledger, fetch envelopes, store
 * models or sealed records, or submit transactions. No network, disk or clock.
 */
export { EnclaveServiceError, EnclaveServiceErrorCode, isEnclaveServiceError, isEnclaveServiceErrorCode } from './errors.ts'
export { EnclaveService, DEFAULT_SCALE, type EnclaveServiceOptions, type EnclaveServiceIdentity } from './service.ts'
export { simAttester, type Attester, type AttestationRequest, type IssuedEvidence } from './attester.ts'
export { CertifiedLedger, CertifiedFacts, type LedgerProofs, type LedgerTrust } from './certified.ts'
export { REVOKED, reaggregateSealed, type Reaggregated } from './reaggregate.ts'
export { SealingKeys, MAX_WINDOWS_AHEAD } from './sealing-keys.ts'
export { SEALED_VERSION, MAX_SEALED_BYTES, sealRound, openSealed, readSealedHeader, type SealedRound, type SealedHeader } from './sealed-record.ts'
export { applyUpdate, modelFile, parseBaseModel } from './model.ts'
export {
  WIRE_VERSION,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeRequest,
  decodeRequest,
  parseRequest,
  encodeResponse,
  decodeResponse,
  type EnclaveRequest,
  type EnclaveResponse,
  type RequestBodies,
  type Results,
  type WireError,
} from './codec.ts'
export { isOp, MAX_EPOCH_CHANGES, type Op } from './schemas.ts'
export { handleRequest, type HandleOptions } from './handler.ts'
export { WireEnclaveClient, InProcessEnclave, throwIfAborted, type WireClientOptions, type InProcessEnclaveComponents } from './client.ts'
export type * from './types.ts'
