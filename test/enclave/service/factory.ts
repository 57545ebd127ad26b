// An EnclaveService with fresh sim-v1 keys (root, platform, enclave) behind the in-process twin.
import { certifyPlatform } from '../../../enclave/index.ts'
import { EnclaveService, InProcessEnclave, simAttester } from '../../../enclave/service/index.ts'
import { generateKeyPair, sha256 } from '../../../primitives/index.ts'

export function inProcessEnclave(): { service: EnclaveService; client: InProcessEnclave; trustAnchor: Uint8Array } {
  const root = generateKeyPair()
  const platform = generateKeyPair()
  const measurement = sha256(new TextEncoder().encode('enclave bundle under test'))
  const cert = certifyPlatform(root.secretKey, 'sim-platform', platform.publicKey, 4_000_000_000)
  const service = new EnclaveService({
    identity: { enclaveId: 'enclave-1', platform: 'sim-platform', measurement, secretKey: generateKeyPair().secretKey },
    attest: simAttester(cert, platform.secretKey, 'sim-platform', measurement),
  })
  return { service, client: new InProcessEnclave({ service }), trustAnchor: root.publicKey }
}
