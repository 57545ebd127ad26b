/**
 * The attestation port of the enclave service: given the keys to bind, a nonce
 * and a timestamp, produce evidence in some format. A real TEE asks its hardware
 * (Nitro NSM, SEV-SNP firmware); testnets use `simAttester`, which signs sim-v1
 * reports with a root-certified platform key (enclave/attestation/sim.ts).
 */
import { issueSimEvidence, SIM_FORMAT, type SimPlatformCert } from '../attestation/sim.ts'

export interface AttestationRequest {
  /** public keys to bind into the evidence's user data */
  keys: Uint8Array[]
  /** the purpose-binding nonce (ledger evidenceNonce) */
  nonce: Uint8Array
  /** unix seconds */
  timestamp: number
}

export interface IssuedEvidence {
  format: string
  evidence: Uint8Array
}

export type Attester = (report: AttestationRequest) => IssuedEvidence

/** A sim-v1 attester: `cert` certifies `platformSecretKey`'s public key for `platform`. */
export function simAttester(cert: SimPlatformCert, platformSecretKey: Uint8Array, platform: string, measurement: Uint8Array): Attester {
  const secret = platformSecretKey.slice()
  const m = measurement.slice()
  return (report) => ({
    format: SIM_FORMAT,
    evidence: issueSimEvidence(cert, secret, { platform, measurement: m, keys: report.keys, nonce: report.nonce, timestamp: report.timestamp, debug: false }),
  })
}
