/**
 * The application a validator runs on top of consensus: what a committed block
 * does, where commands wait (the mempool port), and who validates the next epoch.
 *
 * - `LedgerApp` executes ledger transactions (executeBlock), persists each block
 *   and its receipts in the ChainStore (one synced batch), prunes the TxMempool
 *   against the new state, and reads the validator set of the next epoch from
 *   the state after the epoch's last block. It keeps the state roots of the last
 *   MAX_CHECKPOINT_LAG_BLOCKS heights (a checkpoint may anchor any of them; after
 *   a restart they are read back from the ChainStore) and the states it committed
 *   itself at those heights, served as snapshots (GET /v1/snapshots/{height}).
 * - `NoopApp` orders opaque commands and executes nothing: the HotStuff paper's
 *   benchmark workload (workload A). One epoch that never ends.
 */
import { blockId, commandKey, FifoMempool, type Block, type Mempool } from '../consensus/index.ts'
import {
  ChainStore,
  executeBlock,
  genesisState,
  MAX_CHECKPOINT_LAG_BLOCKS,
  StateKey,
  txId,
  type ChainParams,
  type ExecutionComponents,
  type Genesis,
  type LedgerState,
  type ValidatorSetRecord,
} from '../ledger/index.ts'
import { type CID } from '../primitives/index.ts'
import type { BlockFeed, CommittedBlock, SnapshotSource } from './api/index.ts'
import { attestationVerifiers } from '../enclave/index.ts'
import { isPeerFault, mempoolStateFrom, RETRY_AFTER_MS, TxMempool, type MempoolError } from './mempool/index.ts'

/**
 * What became of a submitted command; `peerFault`: a peer that sent it sent invalid
 * data (penalise); `retryAfterMs`: the refusal means "not now", offer it again after
 * about that long.
 */
export type SubmitResult = { ok: true; id: string } | { ok: false; code: string; message: string; peerFault: boolean; retryAfterMs?: number }

export interface ValidatorInfo {
  id: string
  publicKey: Uint8Array
}

/** What executing one committed block gave: what a commit certificate binds (consensus/commits.ts). */
export interface Executed {
  txs: number
  /** the state root after the block */
  stateRoot: Uint8Array
  /** the ledger's block at this height (null: the app keeps none) */
  ledgerBlock: CID | null
}

export interface App {
  readonly kind: 'ledger' | 'noop'
  readonly mempool: Mempool
  /** the height of the last executed block */
  height(): number
  /** executes the next committed block (height() + 1); durable when the promise resolves */
  commit(block: Block): Promise<Executed>
  /** the validators of the epoch that starts after the last executed block */
  validators(): ValidatorInfo[]
  /** the height of `epoch`'s last block (Infinity: it does not end) */
  lastHeight(epoch: number): number
  /** a proof of the validator set in the executed state (undefined: the app keeps no state to prove it in) */
  proveValidators(): unknown
  /** a command from a client or a peer */
  submit(bytes: Uint8Array, from: 'local' | 'peer'): SubmitResult
  mempoolSize(): number
}

/** How many recent heights the ledger app keeps state roots (and its committed states) for: every height a checkpoint may anchor. */
export const RETAINED_HEIGHTS = MAX_CHECKPOINT_LAG_BLOCKS

export interface LedgerAppComponents {
  store: ChainStore
  now(): number
}

export class LedgerApp implements App, BlockFeed, SnapshotSource {
  readonly kind = 'ledger'
  readonly pool: TxMempool
  /**
   * What consensus sees: the pool's transactions, and as "waiting" only those that
   * could go into a block now (a nonce gap holds the others back), so that a pool of
   * stuck transactions does not keep leaders timing out views.
   */
  readonly mempool: Mempool
  private readonly store: ChainStore
  private current: LedgerState
  /** the CID of the last stored block (null at genesis), the next block's parent */
  private headBlock: CID | null
  private readonly params: ChainParams
  private readonly blockListeners = new Set<(block: CommittedBlock) => void>()
  /** state roots of the last RETAINED_HEIGHTS heights, oldest first (the same on every honest validator) */
  private readonly roots: Map<number, Uint8Array>
  /** the states this process committed at those heights (structure-sharing tries, so cheap), oldest first */
  private readonly states = new Map<number, LedgerState>()
  private readonly execution: ExecutionComponents = {
    attestation: attestationVerifiers(),
    // signatures are verified once, when a transaction enters the mempool
    verifiedSender: (id, publicKey) => this.pool.verifiedUnder(id, publicKey),
    decoded: (bytes) => this.pool.decodedOf(bytes),
    stateRootAt: (height) => this.roots.get(height),
  }

  private constructor(components: LedgerAppComponents, state: LedgerState, headBlock: CID | null, roots: Map<number, Uint8Array>) {
    this.store = components.store
    this.current = state
    this.headBlock = headBlock
    this.roots = roots
    this.states.set(state.height, state)
    this.params = state.get<ChainParams>(StateKey.params)!
    const pool = new TxMempool({ state: mempoolStateFrom(state), now: components.now }, {})
    this.pool = pool
    this.mempool = { take: (count, bytes, exclude) => pool.take(count, bytes, exclude), size: () => pool.ready() }
  }

  /** Opens the ledger at its head (writing the genesis state on first start). */
  static async open(components: LedgerAppComponents, genesis: Genesis): Promise<LedgerApp> {
    const initial = genesisState(genesis)
    const state = await components.store.initialize(initial)
    const roots = await recentRoots(components.store, state, initial.root)
    return new LedgerApp(components, state, (await components.store.head())?.block ?? null, roots)
  }

  /** The feed of executed blocks behind the API's GET /v1/events/blocks. */
  subscribe(listener: (block: CommittedBlock) => void): () => void {
    this.blockListeners.add(listener)
    return () => this.blockListeners.delete(listener)
  }

  get state(): LedgerState {
    return this.current
  }

  /** The state after block `height` if this process committed it (or opened at it) within the last RETAINED_HEIGHTS heights. */
  snapshotAt(height: number): LedgerState | undefined {
    return this.states.get(height)
  }

  /** The heights snapshotAt answers for: a contiguous range ending at the current height. */
  retainedSnapshots(): { from: number; to: number } {
    return { from: this.states.keys().next().value ?? this.current.height, to: this.current.height }
  }

  get chainId(): string {
    return this.params.chainId
  }

  height(): number {
    return this.current.height
  }

  async commit(block: Block): Promise<Executed> {
    if (block.height !== this.current.height + 1) throw new Error(`ledger at height ${this.current.height} asked to execute block ${block.height}`)
    const outcome = executeBlock(this.current, { height: block.height, timeSec: block.timeSec, txs: block.payload }, this.execution)
    this.headBlock = await this.store.commitBlock({ chain: this.params.chainId, height: block.height, timeSec: block.timeSec, parent: this.headBlock, txs: block.payload }, outcome)
    this.current = outcome.state
    this.retain(outcome.state)
    this.pool.onCommit(block.payload, mempoolStateFrom(outcome.state))
    if (this.blockListeners.size > 0) {
      const committed: CommittedBlock = { height: block.height, id: this.headBlock.toString(), time: block.timeSec, txs: block.payload.map((t) => txId(t).toString()) }
      for (const l of this.blockListeners) {
        try {
          l(committed)
        } catch {
          // a listener's failure is its own: the block is committed
        }
      }
    }
    return { txs: block.payload.length, stateRoot: outcome.state.root, ledgerBlock: this.headBlock }
  }

  validators(): ValidatorInfo[] {
    const set = this.current.get<ValidatorSetRecord>(StateKey.validators)
    if (set === undefined) throw new Error('the ledger state holds no validator set')
    return set.validators.map((v) => ({ id: v.id, publicKey: v.publicKey }))
  }

  lastHeight(epoch: number): number {
    return (epoch + 1) * this.params.epochLength - 1
  }

  proveValidators(): unknown {
    return this.current.trie.prove(StateKey.validators)
  }

  submit(bytes: Uint8Array, from: 'local' | 'peer'): SubmitResult {
    const r = this.pool.add(bytes, { from })
    return r.ok ? r : refusal(r.error)
  }

  mempoolSize(): number {
    return this.pool.size()
  }

  /** The refusal any client's transaction would get now (the pool is full for clients), if any. */
  clientRefusal(): SubmitResult | undefined {
    const e = this.pool.clientRefusal()
    return e === undefined ? undefined : refusal(e)
  }

  private retain(state: LedgerState): void {
    this.roots.set(state.height, state.root)
    this.states.set(state.height, state)
    this.roots.delete(state.height - RETAINED_HEIGHTS)
    this.states.delete(state.height - RETAINED_HEIGHTS)
  }

  /** pending transactions to relay to peers next (TxMempool.oldest) */
  toRelay(maxCount: number, maxBytes: number): Uint8Array[] {
    return this.pool.oldest(maxCount, maxBytes)
  }
}

/** A mempool refusal as the app reports it. */
function refusal(e: MempoolError): Extract<SubmitResult, { ok: false }> {
  return { ok: false, code: e.code, message: e.message, peerFault: isPeerFault(e), retryAfterMs: e.retryAfterMs }
}

/**
 * The state roots of the last RETAINED_HEIGHTS heights up to the head, as the
 * store recorded them with each block (genesis has no block: its root is the
 * genesis state's). A missing one is a corrupt store: executing without it could
 * refuse a checkpoint the other validators accept.
 */
async function recentRoots(store: ChainStore, head: LedgerState, genesisRoot: Uint8Array): Promise<Map<number, Uint8Array>> {
  const roots = new Map<number, Uint8Array>()
  for (let h = Math.max(0, head.height - RETAINED_HEIGHTS + 1); h < head.height; h++) {
    const root = h === 0 ? genesisRoot : (await store.commitAt(h))?.stateRoot
    if (root === undefined) throw new Error(`chain store: no commit recorded at height ${h} below the head ${head.height}`)
    roots.set(h, root)
  }
  roots.set(head.height, head.root)
  return roots
}

export class NoopApp implements App {
  readonly kind = 'noop'
  readonly mempool = new FifoMempool()
  private executed: number
  private readonly set: ValidatorInfo[]
  /** most commands a noop mempool holds (a benchmark keeps it topped up) */
  private readonly maxPending: number

  constructor(validators: ValidatorInfo[], height: number, maxPending = 200_000) {
    this.set = validators
    this.executed = height
    this.maxPending = maxPending
  }

  height(): number {
    return this.executed
  }

  /**
   * A noop app's state is the ordered log itself, and the block id commits to all of
   * it (each block names its parent): the id is the state root a certificate binds.
   */
  async commit(block: Block): Promise<Executed> {
    if (block.height !== this.executed + 1) throw new Error(`noop app at height ${this.executed} asked to execute block ${block.height}`)
    this.executed = block.height
    this.mempool.removeCommitted([block])
    return { txs: block.payload.length, stateRoot: blockId(block), ledgerBlock: null }
  }

  validators(): ValidatorInfo[] {
    return this.set
  }

  lastHeight(): number {
    return Number.POSITIVE_INFINITY
  }

  proveValidators(): undefined {
    return undefined
  }

  submit(bytes: Uint8Array): SubmitResult {
    if (bytes.length > 64 * 1024) return { ok: false, code: 'OVERSIZED', message: `a noop command is at most 64 KiB, got ${bytes.length} bytes`, peerFault: true }
    if (this.mempool.size() >= this.maxPending) return { ok: false, code: 'FULL', message: 'the mempool is full; retry later', peerFault: false, retryAfterMs: RETRY_AFTER_MS }
    if (!this.mempool.add(bytes)) return { ok: false, code: 'DUPLICATE', message: 'the command is already pending', peerFault: false }
    return { ok: true, id: commandKey(bytes) }
  }

  mempoolSize(): number {
    return this.mempool.size()
  }
}
