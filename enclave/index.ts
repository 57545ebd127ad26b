/**
 * enclave/: the aggregation enclave's side of fedledger. So far it holds the
 * testnet attestation format `sim-v1` (a root-certified platform key signing
 * reports that bind the enclave's measurement and keys), a verifier the ledger
 * plugs into its attestation port; robust aggregation (Multi-Krum, Krum,
 * coordinate-wise trimmed mean and median) as pure, deterministic functions; and
 * members' encrypted updates (x25519 + HKDF-SHA256 + AES-256-GCM to the round
 * key, bound to chain, round and member) with the exact checks of an update
 * against its signed statement and its ledger commitment. Hardware formats (AWS
 * Nitro, AMD SEV-SNP), DP noise and the enclave service come with the rest of the
 * enclave issue. Nothing here does network or disk I/O.
 */
export { SIM_FORMAT, certifyPlatform, issueSimEvidence, SimAttestationVerifier, type SimReport, type SimPlatformCert } from './attestation/sim.ts'
export { multiKrum, krum, trimmedMean, median, pairwiseSquaredDistances, AggregationError, AggregationErrorCode, isAggregationError, type Update, type MultiKrumOptions, type KrumOptions, type MultiKrumResult, type TrimmedMeanOptions, type AggregateResult } from './aggregate/index.ts'
export * from './updates/index.ts'
