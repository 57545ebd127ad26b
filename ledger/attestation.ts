/**
 * The attestation port. The ledger does not parse TEE evidence itself: a
 * verifier per evidence format (enclave/ provides them: sim-v1 for testnets,
 * AWS Nitro, AMD SEV-SNP, ...) turns evidence bytes into the facts the ledger's
 * rules need. Verification must be deterministic: the time it judges freshness
 * and certificate validity by is the block's time, passed in.
 */
import { LedgerError } from './errors.ts'

export interface VerifiedEvidence {
  format: string
  platform: string
  measurement: Uint8Array
  debug: boolean
  /** public keys bound into the evidence's user data (signing key, round key, ...) */
  boundKeys: Uint8Array[]
}

export interface AttestationVerifier {
  /** Throws LedgerError('ATTESTATION_REJECTED', why) when the evidence does not verify. */
  verify(format: string, evidence: Uint8Array, atUnixSeconds: number): VerifiedEvidence
}

/** Dispatches on the evidence format; formats without a verifier are refused. */
export class AttestationVerifierRegistry implements AttestationVerifier {
  private readonly byFormat = new Map<string, AttestationVerifier>()

  register(format: string, verifier: AttestationVerifier): this {
    this.byFormat.set(format, verifier)
    return this
  }

  verify(format: string, evidence: Uint8Array, atUnixSeconds: number): VerifiedEvidence {
    const v = this.byFormat.get(format)
    if (v === undefined) throw new LedgerError('ATTESTATION_REJECTED', `no verifier for evidence format '${format}'`)
    return v.verify(format, evidence, atUnixSeconds)
  }
}
