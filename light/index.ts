/**
 * light/: the light client, the one module every party uses to verify what a
 * validator tells it (DESIGN: "verify, don't trust"). It checks commit certificates
 * against validator sets it learned from the genesis and from certified epoch
 * changes, and state proofs under certified roots. It is pure (no network, no
 * disk, no clock): the API client, the enclave, the participant peers and the
 * auditor tools feed it what they fetched. It does not fetch, retry or choose
 * validators; its callers do.
 */
export { LightClient, LightClientError, type EpochChangeProof, type LightClientErrorCode, type LightClientState, type TrustedSet, type VerifiedValue } from './client.ts'
/** A certificate as it travels (DAG-CBOR bytes), decoded and shape-checked; and what it certifies. */
export { decodeCertificate, type CommitCertificate, type CommitHeader } from '../consensus/index.ts'
