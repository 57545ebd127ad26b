/**
 * enclave/: the aggregation enclave's side of fedledger.
 *
 * - Attestation: verifiers for the ledger's attestation port — the testnet format
 *   `sim-v1` (a root-certified platform key signing reports that bind the
 *   enclave's measurement and keys), AWS Nitro attestation documents
 *   (`aws-nitro-v1`, COSE_Sign1, chain to a pinned root) and AMD SEV-SNP reports
 *   (`amd-sev-snp-v1`, VCEK → ASK → pinned ARK) and Intel SGX/TDX DCAP quotes with
 *   their collateral (`intel-dcap-v1`, via @phala/dcap-qvl plus our own CRL checks), all
 *   verified offline and registered together by `attestationVerifiers()`; an
 *   off-ledger policy (`verifyAttested`; `productionPolicy` refuses sim-v1) and the
 *   sim-v1 revocation list with its rollback/staleness tracker.
 * - Robust aggregation (Multi-Krum, Krum, coordinate-wise trimmed mean and median)
 *   as pure, deterministic functions.
 * - Members' encrypted updates (x25519 + HKDF-SHA256 + AES-256-GCM to the round
 *   key, bound to chain, round and member) and the exact checks of an update
 *   against its signed statement and its ledger commitment.
 * - Central DP noise: an exact discrete Gaussian (Canonne, Kamath, Steinke 2020)
 *   on the quantized sum, from node:crypto randomness.
 * - `aggregateRound`: a round from the ledger's committed set — check, Multi-Krum,
 *   noised mean, transcript.
 * - The enclave service (`EnclaveService`, `EnclaveClient`, `InProcessEnclave`):
 *   round keys bound into evidence, signed round.result transactions, sealed
 *   storage with erasure at checkpoints, re-aggregation without revoked members.
 *
 * Nothing here does network or disk I/O; node/enclave runs the service as a process.
 */
export { SIM_FORMAT, certifyPlatform, issueSimEvidence, SimAttestationVerifier, type SimReport, type SimPlatformCert } from './attestation/sim.ts'
export { multiKrum, krum, pairwiseSquaredDistances, DistanceWorkers, AggregationError, AggregationErrorCode, isAggregationError, type Update, type MultiKrumOptions, type KrumOptions, type MultiKrumResult, type AggregateResult } from './aggregate/index.ts'
export * from './updates/index.ts'
export { NITRO_FORMAT, NITRO_ROOT_SHA256, NITRO_MAX_EVIDENCE_BYTES, NITRO_MAX_USER_DATA_BYTES, NitroAttestationVerifier, parseNitroDocument, encodeNitroUserData, decodeNitroUserDataKeys, type NitroDocument } from './attestation/nitro.ts'
export { SEV_SNP_FORMAT, SEV_SNP_MILAN_ARK_SHA256, SNP_REPORT_BYTES, SNP_SIGNED_BYTES, SevSnpAttestationVerifier, encodeSnpEvidence, snpReportData, snpPlatformId, verifySnpReport, type SnpEvidence, type SnpCertChain, type SnpReportFacts, type SnpTcb } from './attestation/sev-snp.ts'
export * from './noise/index.ts'
export * from './round/index.ts'
export { AttestationError, AttestationErrorCode, isAttestationError } from './attestation/errors.ts'
export { SIM_REVOCATION_LIST_FORMAT, MAX_REVOCATION_LIST_BYTES, MAX_REVOKED_ENTRIES, REVOCATION_LIST_MAX_SKEW_SECONDS, issueSimRevocationList, parseRevocationList, RevocationListTracker, type RevocationList, type RevocationListBody, type RevocationHighWaterMark, type RevocationTrackerState, type RevocationAcceptOptions } from './attestation/revocation-list.ts'
export { productionPolicy, testnetPolicy, verifyAttested, type AttestationPolicy as EnclaveAttestationPolicy, type AttestationPolicyOptions, type AttestationExpectation, type AttestedEvidence } from './attestation/policy.ts'
export * from './service/index.ts'
export { DCAP_FORMAT, DCAP_INTEL_ROOT_SHA256, DCAP_MAX_EVIDENCE_BYTES, DCAP_MAX_QUOTE_BYTES, DCAP_ACCEPTABLE_TCB_STATUSES, DcapAttestationVerifier, encodeDcapEvidence, verifyDcapQuote, dcapReportData, checkDcapReportData, dcapVerifiedEvidence, type DcapCollateral, type DcapEvidenceInput, type DcapVerifierOptions, type DcapQuoteFacts, type DcapAcceptableTcbStatus } from './attestation/dcap.ts'
export { attestationVerifiers, type AttestationVerifierOptions } from './attestation/verifiers.ts'
