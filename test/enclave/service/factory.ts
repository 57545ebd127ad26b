// Enclave services for tests: fresh sim-v1 keys (root, platform, enclave), and an
// EnclaveService pinned to a chain's genesis behind the in-process twin.
import { certifyPlatform } from '../../../enclave/index.ts'
import { EnclaveService, InProcessEnclave, simAttester, type Attester, type EnclaveIdentityInfo, type EnclaveServiceIdentity, type LedgerTrust } from '../../../enclave/service/index.ts'
import { genesisState } from '../../../ledger/index.ts'
import { generateKeyPair, keyPairFromSeed, sha256 } from '../../../primitives/index.ts'
import { defaultGenesis } from '../../ledger/harness.ts'

export interface SimEnclaveKeys {
  identity: EnclaveServiceIdentity
  attest: Attester
  /** what the enclave will report (and a genesis registers) */
  info: EnclaveIdentityInfo
  /** the sim-v1 root that certified its platform */
  trustAnchor: Uint8Array
}

export function simEnclaveKeys(): SimEnclaveKeys {
  const root = generateKeyPair()
  const platform = generateKeyPair()
  const measurement = sha256(new TextEncoder().encode('enclave bundle under test'))
  const cert = certifyPlatform(root.secretKey, 'sim-platform', platform.publicKey, 4_000_000_000)
  const secretKey = generateKeyPair().secretKey
  const identity = { enclaveId: 'enclave-1', platform: 'sim-platform', measurement, secretKey }
  return {
    identity,
    attest: simAttester(cert, platform.secretKey, 'sim-platform', measurement),
    info: { enclaveId: identity.enclaveId, platform: identity.platform, measurement, publicKey: keyPairFromSeed(secretKey).publicKey },
    trustAnchor: root.publicKey,
  }
}

/** The ledger harness's default genesis, pinned: for tests that never show the enclave a ledger fact. */
export function testLedgerTrust(): LedgerTrust {
  const genesis = defaultGenesis()
  return { genesis, genesisHash: genesisState(genesis).root }
}

export function inProcessEnclave(keys: SimEnclaveKeys, ledger: LedgerTrust): { service: EnclaveService; client: InProcessEnclave } {
  const service = new EnclaveService({ identity: keys.identity, attest: keys.attest, ledger })
  return { service, client: new InProcessEnclave({ service }) }
}
