/**
 * The attestation port. The ledger does not parse TEE evidence itself: a
 * verifier per evidence format (enclave/ provides them: sim-v1 for testnets,
 * hardware formats later) turns evidence bytes into the facts the ledger's rules
 * need. Verification must give the same answer on every validator, so everything
 * that decides it comes from the chain: the trust anchors and maximum age of the
 * chain's attestation policy, and the block's time. A verifier holds code, never
 * trust decisions of its own.
 */
import { sha256, toHex } from '../primitives/index.ts'
import { LedgerError } from './errors.ts'

export interface VerifiedEvidence {
  format: string
  platform: string
  measurement: Uint8Array
  debug: boolean
  /** public keys bound into the evidence's user data (signing key, round key, ...) */
  boundKeys: Uint8Array[]
  /** the nonce the evidence was produced for (binds it to one purpose; see evidenceNonce) */
  nonce: Uint8Array
}

export interface EvidencePolicy {
  /** unix seconds: the block time */
  at: number
  maxAgeSeconds: number
  /** the format's trust anchors from the chain's policy */
  trustAnchors: Uint8Array[]
}

export interface AttestationVerifier {
  supports(format: string): boolean
  /** Throws LedgerError('ATTESTATION_REJECTED', why) when the evidence does not verify. */
  verify(format: string, evidence: Uint8Array, policy: EvidencePolicy): VerifiedEvidence
}

/** Dispatches on the evidence format. */
export class AttestationVerifierRegistry implements AttestationVerifier {
  private readonly byFormat = new Map<string, AttestationVerifier>()

  register(format: string, verifier: AttestationVerifier): this {
    this.byFormat.set(format, verifier)
    return this
  }

  supports(format: string): boolean {
    return this.byFormat.has(format)
  }

  verify(format: string, evidence: Uint8Array, policy: EvidencePolicy): VerifiedEvidence {
    const v = this.byFormat.get(format)
    if (v === undefined) throw new LedgerError('ATTESTATION_REJECTED', `no verifier for evidence format '${format}'`)
    return v.verify(format, evidence, policy)
  }
}

/**
 * The nonce an enclave must put in its evidence for one purpose on one chain, so
 * evidence made for registering, or for one round's key, cannot be reused for another.
 * A round key's nonce also binds the genesis hash the enclave pins (the network whose
 * certified state it acts on): the ledger accepts the key, and a bank encrypts to it,
 * only if the enclave trusts this network and no other that shares its chain id.
 */
export function evidenceNonce(chainId: string, purpose: 'enclave.register', subject: string): Uint8Array
export function evidenceNonce(chainId: string, purpose: 'enclave.round-key', subject: string, genesisHash: Uint8Array): Uint8Array
export function evidenceNonce(chainId: string, purpose: 'enclave.register' | 'enclave.round-key', subject: string, genesisHash?: Uint8Array): Uint8Array {
  if (purpose === 'enclave.register') return sha256(new TextEncoder().encode(`fedledger/evidence-nonce/v1\0${chainId}\0${purpose}\0${subject}`))
  if (!(genesisHash instanceof Uint8Array) || genesisHash.length !== 32) throw new LedgerError('BAD_ARGUMENT', 'a round key\'s evidence nonce binds the 32-byte genesis hash')
  return sha256(new TextEncoder().encode(`fedledger/evidence-nonce/v2\0${chainId}\0${purpose}\0${subject}\0${toHex(genesisHash)}`))
}

/**
 * The evidence formats this protocol version defines (their verifiers are in
 * enclave/attestation). Governance may allow only these, or formats the chain's policy
 * already allows (a genesis may name its own): the same list on every validator, so
 * whether a policy change passes never depends on a node's build.
 */
export const PROTOCOL_EVIDENCE_FORMATS: readonly string[] = Object.freeze(['sim-v1', 'aws-nitro-v1', 'amd-sev-snp-v1', 'intel-dcap-v1'])
