/**
 * node/: the validator and everything that does I/O for it — the composition root
 * (`ValidatorNode`), libp2p, level, the HTTP API, the clock — plus the processes
 * around a federation (the enclave host, participant peers, data files). The
 * `fedledger` command line is the top-level cli/.
 *
 * This file is the entry for other top-level folders: a validator home's files and
 * their schemas, key files (config.ts), the validator itself, the testnet-only
 * Byzantine behaviours, the CAS repository's layout and the in-process ledger
 * demo. Subfolders with their own entry (node/p2p, node/federation, node/api,
 * node/data, node/enclave) are imported through their index.ts. It is not the CLI:
 * nothing here imports cli/ or testnet/.
 */
export { ConfigError, genesisToJson, HOME_FILES, KeyFileSchema, NodeConfigSchema, readGenesis, readGenesisFile, readKey, readKeyFile, readNodeConfig, writeGenesis, writeKey, writeKeyFile, writeNodeConfig, type NodeConfig, type NodeConfigInput, type ValidatorKey } from './config.ts'
export { BYZANTINE_BEHAVIOURS, type ByzantineBehaviour } from './byzantine.ts'
export { ValidatorNode } from './node.ts'
export { silentLogger, type Logger } from './logger.ts'
export { REPO_DB_DIR } from './repo.ts'
export { runLedgerDemo } from './demo.ts'
