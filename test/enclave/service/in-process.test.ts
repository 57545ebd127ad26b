// The enclave contract against the in-process twin: an EnclaveService in this
// process behind InProcessEnclave (every call still goes through the wire codec).
import { enclaveContract } from './contract.ts'
import { inProcessEnclave } from './factory.ts'

enclaveContract('in-process', async () => {
  const { client, trustAnchor } = inProcessEnclave()
  return { client, trustAnchor, stop: async () => {} }
})
