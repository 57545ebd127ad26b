/**
 * A simulated enclave for the federation tests: a testnet root certifying a
 * sim-v1 platform key, the enclave's identity (id, platform, measurement, key),
 * its records for the fake ledger (enclave record, chain parameters), an
 * in-process EnclaveService, and sim-v1 evidence made to order (for a round key,
 * a measurement, a nonce and bound keys of the test's choosing).
 */
import { certifyPlatform, EnclaveService, InProcessEnclave, issueSimEvidence, SIM_FORMAT, simAttester, type SimPlatformCert } from '../../../enclave/index.ts'
import { evidenceNonce, type EnclaveRecord } from '../../../ledger/index.ts'
import { sha256, type Ed25519KeyPair } from '../../../primitives/index.ts'
import { chainParams, FAKE_GENESIS, FAKE_GENESIS_HASH, type FakeLedger } from './fake-ledger.ts'
import { CHAIN, keysOf, seedOf } from './helpers.ts'

export const ENCLAVE_ID = 'enclave-1'
export const PLATFORM = 'sim-platform'
export const MEASUREMENT = sha256(new TextEncoder().encode('enclave bundle v1'))
/** also on the chain's allow-list, but not the measurement enclave-1 registered */
export const OTHER_MEASUREMENT = sha256(new TextEncoder().encode('enclave bundle v0'))

export interface SimEnclave {
  root: Ed25519KeyPair
  platformKeys: Ed25519KeyPair
  cert: SimPlatformCert
  /** the enclave's registered ed25519 key */
  enclaveKeys: Ed25519KeyPair
  record: EnclaveRecord
}

export function simEnclave(): SimEnclave {
  const root = keysOf('sim-root')
  const platformKeys = keysOf('sim-platform-key')
  const cert = certifyPlatform(root.secretKey, PLATFORM, platformKeys.publicKey, Math.floor(Date.now() / 1000) + 86_400)
  const enclaveKeys = keysOf(ENCLAVE_ID)
  const record: EnclaveRecord = { id: ENCLAVE_ID, platform: PLATFORM, measurement: MEASUREMENT, publicKey: enclaveKeys.publicKey, registeredAt: 1, revokedAt: null, revocationReason: null }
  return { root, platformKeys, cert, enclaveKeys, record }
}

/** Puts the enclave and the chain's attestation policy (this root, both measurements allowed) on the fake ledger. */
export function register(ledger: FakeLedger, sim: SimEnclave): void {
  ledger.enclaves.set(ENCLAVE_ID, sim.record)
  ledger.params = chainParams(CHAIN, [sim.root.publicKey], [MEASUREMENT, OTHER_MEASUREMENT])
}

/**
 * The enclave service itself, in process, attesting with the sim platform, pinned to a
 * genesis of chain CHAIN, the fake ledger's.
 */
/** The genesis the federation tests' enclave and banks pin: the fake ledger's certificates chain to it. */
export const GENESIS = FAKE_GENESIS
export const GENESIS_HASH = FAKE_GENESIS_HASH

export function inProcessEnclave(sim: SimEnclave): InProcessEnclave {
  const genesis = GENESIS
  const service = new EnclaveService({
    identity: { enclaveId: ENCLAVE_ID, platform: PLATFORM, measurement: MEASUREMENT, secretKey: seedOf(ENCLAVE_ID) },
    attest: simAttester(sim.cert, sim.platformKeys.secretKey, PLATFORM, MEASUREMENT),
    ledger: { genesis, genesisHash: GENESIS_HASH },
  })
  return new InProcessEnclave({ service })
}

export interface EvidenceSpec {
  round: string
  keys: Uint8Array[]
  measurement?: Uint8Array
  /** the round the nonce is made for (default `round`) */
  nonceRound?: string
  /** the genesis the nonce binds (default the tests' GENESIS_HASH) */
  genesis?: Uint8Array
}

/** sim-v1 evidence as the platform would sign it, with whatever the test asks to attest. */
export function evidence(sim: SimEnclave, spec: EvidenceSpec): { format: string; evidence: Uint8Array } {
  return {
    format: SIM_FORMAT,
    evidence: issueSimEvidence(sim.cert, sim.platformKeys.secretKey, {
      platform: PLATFORM,
      measurement: spec.measurement ?? MEASUREMENT,
      keys: spec.keys,
      nonce: evidenceNonce(CHAIN, 'enclave.round-key', spec.nonceRound ?? spec.round, spec.genesis ?? GENESIS_HASH),
      timestamp: Math.floor(Date.now() / 1000),
      debug: false,
    }),
  }
}
