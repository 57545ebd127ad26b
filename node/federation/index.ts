/**
 * node/federation: the off-chain actors of a training federation and what they
 * share. A `ParticipantPeer` (a bank) verifies the enclave's attested round key,
 * fetches the base model by CID over libp2p, trains with DP-SGD, seals its update
 * to the round key, hands it to the enclave host and commits to it on the
 * ledger. An `EnclaveHost` runs an enclave service (EnclaveClient: in-process or
 * its own process) against the ledger: round keys, aggregation after the
 * deadline, re-aggregation after a revocation, key destruction and sealed-record
 * erasure at checkpoints. Both reach validators through `ApiClient` (node/api, the HTTP
 * API) and each other over libp2p (protocols.ts, content.ts).
 *
 * It is not the coordinator or the main job (testnet/federation), and holds no
 * enclave secrets (enclave/service does).
 */
export { FederationError, FederationErrorCode, isFederationError } from './errors.ts'
export { contentProtocol, serveContent, fetchContent, fetchModel, readModel, type FetchOptions } from './content.ts'
export { roundKeyProtocol, updateProtocol } from './protocols.ts'
export { EnclaveHost, type EnclaveHostComponents, type EnclaveHostOptions } from './enclave-host.ts'
export { ParticipantPeer, type ParticipantComponents, type ParticipantOptions, type RoundReport } from './participant.ts'
export { FEDERATION_FILE, FEDERATION_KEYS_DIR, FederationFileSchema, ModelSpec, readFederationFile, writeFederationFile, readSeed, writeSeed, type FederationFile, type FederationFileInput } from './manifest.ts'
export { bankSetup, bankMnistPart, modelOf, MNIST_FEATURES, MNIST_CLASSES, type BankSetup } from './bank.ts'
