/**
 * node/mempool/: the validator's pool of ledger transactions waiting for a block.
 * `TxMempool` implements the consensus core's `Mempool` port: it admits encoded
 * transactions after the checks the ledger makes before running one (canonical
 * decoding, chain id, known and unrevoked sender, signature, nonce window),
 * deduplicates them by id and by (sender, nonce), bounds them (count, bytes, per
 * sender, per-sender rate on an injected clock, fair eviction when full), and hands
 * consensus, oldest first, only per-sender contiguous nonce runs, continuing after
 * transactions already in pending blocks. `onCommit` prunes it against the new
 * committed state, read through the small `MempoolState` port (`mempoolStateFrom`
 * builds it from a ledger `StateReader`). It is not a ledger: a transaction it
 * admits may still be refused by a handler rule (roles, rounds, budgets,
 * governance), and it does no gossip or I/O itself; the node wires it to the
 * network, the API and prom-client (through `stats()`).
 */
export { TxMempool, MEMPOOL_DEFAULTS, type TxMempoolComponents, type TxMempoolOptions, type AddResult, type PendingTx, type MempoolStats, type TxOrigin, type RemovalReason } from './mempool.ts'
export { MempoolError, MempoolErrorCode, MEMPOOL_ERROR_CODES, RETRY_AFTER_MS, ADMIT_CHUNK, nextTurn, isMempoolError, isPeerFault } from './errors.ts'
export { mempoolStateFrom, type MempoolState, type MempoolSender } from './state.ts'
export { TokenBuckets, type RateLimitOptions } from './rate-limit.ts'
