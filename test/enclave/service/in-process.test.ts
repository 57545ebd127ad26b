// The enclave contract against the in-process twin: an EnclaveService in this
// process behind InProcessEnclave (every call still goes through the wire codec).
import { enclaveContract } from './contract.ts'
import { inProcessEnclave, simEnclaveKeys } from './factory.ts'

enclaveContract('in-process', async () => {
  const keys = simEnclaveKeys()
  return {
    info: keys.info,
    trustAnchor: keys.trustAnchor,
    start: async (ledger) => ({ client: inProcessEnclave(keys, ledger).client, stop: async () => {} }),
  }
})
