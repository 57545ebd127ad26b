/**
 * Every evidence format this code base verifies, in one registry: what a validator
 * and a participant peer plug into the attestation port. Which of them a chain
 * accepts is the chain's decision (its attestation policy: formats, trust anchors,
 * measurements); a format missing here could not be executed by a validator of a
 * chain that allows it.
 */
import { AttestationVerifierRegistry } from '../../ledger/index.ts'
import { DCAP_FORMAT, DcapAttestationVerifier, type DcapVerifierOptions } from './dcap.ts'
import { NITRO_FORMAT, NitroAttestationVerifier } from './nitro.ts'
import { SEV_SNP_FORMAT, SevSnpAttestationVerifier } from './sev-snp.ts'
import { SIM_FORMAT, SimAttestationVerifier } from './sim.ts'

export interface AttestationVerifierOptions {
  /** Intel DCAP: TCB statuses accepted besides UpToDate (every validator of a chain must agree) */
  dcap?: DcapVerifierOptions
}

export function attestationVerifiers(options: AttestationVerifierOptions = {}): AttestationVerifierRegistry {
  return new AttestationVerifierRegistry()
    .register(SIM_FORMAT, new SimAttestationVerifier())
    .register(NITRO_FORMAT, new NitroAttestationVerifier())
    .register(SEV_SNP_FORMAT, new SevSnpAttestationVerifier())
    .register(DCAP_FORMAT, new DcapAttestationVerifier(options.dcap))
}
