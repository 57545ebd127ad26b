/**
 * enclave/: the aggregation enclave's side of fedledger. So far it holds the
 * testnet attestation format `sim-v1` (a root-certified platform key signing
 * reports that bind the enclave's measurement and keys), a verifier the ledger
 * plugs into its attestation port. Hardware formats (AWS Nitro, AMD SEV-SNP),
 * encrypted updates, Multi-Krum and DP noise come with the enclave issue.
 * Nothing here does network or disk I/O.
 */
export { SIM_FORMAT, certifyPlatform, issueSimEvidence, SimAttestationVerifier, type SimReport, type SimPlatformCert } from './attestation/sim.ts'
