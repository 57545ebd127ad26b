/**
 * node/: the validator and everything that does I/O for it — the composition root
 * (`ValidatorNode`), libp2p, level, the HTTP API, the clock — plus the processes
 * around a federation (the enclave host, participant peers, data files) and, for
 * now, the `fedledger` command line (node/cli/, to move to a top-level cli/).
 *
 * This file is the entry for other top-level folders: a validator home's files and
 * their schemas (config.ts), the validator itself, and the testnet-only Byzantine
 * behaviours. Subfolders with their own entry (node/p2p, node/federation, node/api,
 * node/data, node/enclave) are imported through their index.ts. It is not the CLI:
 * nothing here imports node/cli/ or testnet/.
 */
export { ConfigError, genesisToJson, HOME_FILES, KeyFileSchema, NodeConfigSchema, readGenesis, readKey, readNodeConfig, writeGenesis, writeKey, writeNodeConfig, type NodeConfig, type NodeConfigInput, type ValidatorKey } from './config.ts'
export { BYZANTINE_BEHAVIOURS, type ByzantineBehaviour } from './byzantine.ts'
export { ValidatorNode } from './node.ts'
