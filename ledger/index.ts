/**
 * ledger/: the consortium's rules as a deterministic, replicated state machine.
 *
 * It holds the transaction formats (DAG-CBOR, ed25519-signed, ids are CIDs),
 * `executeBlock` with its typed receipts, the Merkle state root with inclusion
 * proofs, persistence through a key-value port (level or memory), the Rényi-DP
 * privacy accountant, and the IPFS-compatible content-addressed store used for
 * checkpoints. It does no networking and never reads a clock: block heights and
 * timestamps come in as arguments. Consensus (consensus/) decides the order of
 * blocks; node/ wires the two together.
 */
export * from './errors.ts'
export * from './store/kv.ts'
export { MemoryKeyValueStore } from './store/memory.ts'
export { LevelKeyValueStore } from './store/level.ts'
export * from './attestation.ts'
export * from './tx/schema.ts'
export * from './tx/envelope.ts'
export * from './state/records.ts'
export { StateKey } from './state/keys.ts'
export { LedgerState, StateOverlay, type StateReader } from './state/state.ts'
export * from './state/trie.ts'
export { executeBlock, type BlockInput, type BlockOutcome, type Receipt, type ReceiptCode } from './exec/block.ts'
export type { BlockInfo, ExecutionComponents } from './exec/context.ts'
export { MAX_CHECKPOINT_LAG_BLOCKS, REVOKED as REVOKED_EXCLUSION, UNOPENED_EXCLUSIONS } from './exec/results.ts'
export { stepsPerRound, DEFAULT_RDP_ORDERS } from './exec/budget.ts'
export { genesisState, GenesisSchema, type Genesis } from './genesis.ts'
export { ChainStore, type LedgerBlock, type BlockCommit, type Head } from './store/chain.ts'
export * from './privacy/index.ts'
export * from './cas/index.ts'
export * from './checkpoint.ts'
