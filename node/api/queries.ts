/**
 * Read-only queries over a validator's committed chain: transactions, blocks and
 * receipts from the ChainStore; members, enclaves, rounds, budgets, checkpoints,
 * validators, parameters and Merkle proofs from the current LedgerState; whole
 * recent states as DAG-CBOR snapshots (snapshots.ts). Results are JSON-ready views
 * (views.ts), snapshots excepted. A missing object is `undefined`; a bad argument
 * is an ApiError 400; a node without a chain yet is an ApiError 503. Each call
 * reads one state snapshot, so a response never mixes two heights.
 */
import {
  decodeTx,
  StateKey,
  type ChainStore,
  type ChainParams,
  type CheckpointRecord,
  type CommitRecord,
  type EnclaveRecord,
  type LedgerState,
  type MemberRecord,
  type PendingValidatorSet,
  type RoundRecord,
  type ValidatorSetRecord,
  type BudgetRecord,
} from '../../ledger/index.ts'
import { CID, encode, toHex } from '../../primitives/index.ts'
import { ApiError, ApiErrorCode, badRequest, notReady } from './errors.ts'
import { toJson, trieProofToJson, type JsonValue } from './json.ts'
import { MAX_PROOF_KEY_LENGTH } from './schemas.ts'
import { SnapshotEncoder, type SnapshotSource } from './snapshots.ts'
import { pageIds, pageLimit, type Page, type PageRequest } from './state-index.ts'
import { budgetView, receiptView, revocableView, roundSummary, type BlockView, type BudgetView, type JsonObject, type ProofView, type RoundSummary, type TxView } from './views.ts'

export interface LedgerQueriesComponents {
  store: ChainStore
  /** the node's current (committed) state */
  state: () => LedgerState
  /** recent committed states for GET /v1/snapshots/{height}; absent: that route answers 404 SNAPSHOT_NOT_RETAINED */
  snapshots?: SnapshotSource
}

/** Default page size of a round's commits. */
export const DEFAULT_COMMIT_PAGE = 100

export class LedgerQueries {
  private readonly store: ChainStore
  private readonly current: () => LedgerState
  private readonly snapshots: SnapshotEncoder
  private readonly states: SnapshotSource | undefined

  constructor(components: LedgerQueriesComponents) {
    this.store = components.store
    this.current = components.state
    this.states = components.snapshots
    this.snapshots = new SnapshotEncoder(components.snapshots)
  }

  /** Whether a proof at `height` can be given (the node holds the state after it). */
  provableAt(height: number): boolean {
    return this.states?.snapshotAt(height) !== undefined
  }

  /** The state every query of one request reads; NOT_READY until the node holds a chain. */
  snapshot(): { state: LedgerState; params: ChainParams } {
    let state: LedgerState
    try {
      state = this.current()
    } catch {
      throw notReady('the node has no state yet')
    }
    const params = state.get<ChainParams>(StateKey.params)
    if (params === undefined) throw notReady('the node has no genesis state yet')
    return { state, params }
  }

  /** The store's head: what /healthz reads to see that the store answers. */
  async head(): Promise<{ height: number; block: string | null; stateRoot: string } | undefined> {
    const head = await this.store.head()
    return head === undefined ? undefined : { height: head.height, block: head.block === null ? null : head.block.toString(), stateRoot: toHex(head.stateRoot) }
  }

  async tx(id: string): Promise<TxView | undefined> {
    const cid = parseId(id, 'transaction id')
    const found = await this.store.findTx(cid)
    // The block store is written just before the state and the mempool move on: a receipt shows
    // only once the state it led to is the one queries read, so a client that saw it reads the new nonce.
    if (found === undefined || found.height > this.snapshot().state.height) return undefined
    const [block, commit] = await Promise.all([this.store.blockAt(found.height), this.store.commitAt(found.height)])
    const bytes = block?.txs[found.receipt.index]
    if (bytes === undefined || commit === undefined) throw new Error(`chain store: tx ${id} indexed at height ${found.height} but its block is missing`)
    return { id: cid.toString(), height: found.height, index: found.receipt.index, block: commit.block.toString(), receipt: receiptView(found.receipt), tx: toJson(decodeTx(bytes).signed) }
  }

  /** A block by height (decimal) or by CID. Height 0 is genesis, which has no block. */
  async block(ref: string): Promise<BlockView | undefined> {
    if (/^\d{1,16}$/.test(ref)) return this.blockAt(Number(ref))
    const cid = parseId(ref, 'block reference (a height or a CID)')
    const block = await this.store.blockByCid(cid)
    return block === undefined ? undefined : this.blockAt(block.height)
  }

  async latestBlock(): Promise<BlockView | undefined> {
    const head = await this.store.head()
    if (head === undefined) throw notReady('the chain store holds no chain yet')
    return head.height === 0 ? undefined : this.blockAt(head.height)
  }

  private async blockAt(height: number): Promise<BlockView | undefined> {
    if (!Number.isSafeInteger(height)) return undefined
    const [block, commit] = await Promise.all([this.store.blockAt(height), this.store.commitAt(height)])
    if (block === undefined || commit === undefined) return undefined
    const receipts = commit.receipts.map(receiptView)
    const ok = receipts.filter((r) => r.code === 'OK').length
    return {
      id: commit.block.toString(),
      chain: block.chain,
      height: block.height,
      time: block.timeSec,
      parent: block.parent === null ? null : block.parent.toString(),
      stateRoot: toHex(commit.stateRoot),
      txs: receipts.map((r) => r.tx),
      receipts,
      summary: { txs: receipts.length, ok, refused: receipts.length - ok },
    }
  }

  members(req: PageRequest = {}): Page<JsonObject> {
    const { state } = this.snapshot()
    const { ids, next } = pageIds(state, 'member/', req)
    return { height: state.height, items: ids.map((id) => revocableView(state.get<MemberRecord>(StateKey.member(id))!, state.height)), next }
  }

  /** A member with its nonce and budget. */
  member(id: string): { height: number; member: JsonObject; nonce: number; budget: BudgetView | null } | undefined {
    const { state, params } = this.snapshot()
    const rec = state.get<MemberRecord>(StateKey.member(id))
    if (rec === undefined) return undefined
    const budget = state.get<BudgetRecord>(StateKey.budget(id))
    return { height: state.height, member: revocableView(rec, state.height), nonce: state.get<number>(StateKey.nonce(id)) ?? 0, budget: budget === undefined ? null : budgetView(state, params, budget) }
  }

  enclaves(req: PageRequest = {}): Page<JsonObject> {
    const { state } = this.snapshot()
    const { ids, next } = pageIds(state, 'enclave/', req)
    return { height: state.height, items: ids.map((id) => ({ ...revocableView(state.get<EnclaveRecord>(StateKey.enclave(id))!, state.height), nonce: state.get<number>(StateKey.nonce(id)) ?? 0 })), next }
  }

  rounds(req: PageRequest = {}): Page<RoundSummary> {
    const { state } = this.snapshot()
    const { ids, next } = pageIds(state, 'round/', req)
    return { height: state.height, items: ids.map((id) => roundSummary(state.get<RoundRecord>(StateKey.round(id))!)), next }
  }

  /**
   * A round: its record (result included), its eligible members, and one page of
   * its commits in ledger order (the cursor is the last commit's seq).
   */
  round(id: string, req: PageRequest = {}): { height: number; round: JsonObject; eligible: string[]; commits: Omit<Page<JsonObject>, 'height'> } | undefined {
    const { state } = this.snapshot()
    const rec = state.get<RoundRecord>(StateKey.round(id))
    if (rec === undefined) return undefined
    const eligible = state.get<string[]>(StateKey.roundEligible(id)) ?? []
    const commits: CommitRecord[] = []
    for (const m of eligible) {
      const c = state.get<CommitRecord>(StateKey.commit(id, m))
      if (c !== undefined) commits.push(c)
    }
    commits.sort((a, b) => a.seq - b.seq)
    const after = req.cursor === undefined ? -1 : parseSeq(req.cursor, 'cursor')
    const limit = pageLimit(req.limit, DEFAULT_COMMIT_PAGE)
    const rest = commits.filter((c) => c.seq > after)
    const page = rest.slice(0, limit)
    const next = rest.length > limit ? String(page.at(-1)!.seq) : null
    return { height: state.height, round: toJson(rec) as JsonObject, eligible, commits: { items: page.map((c) => toJson(c) as JsonObject), next } }
  }

  budget(member: string): BudgetView | undefined {
    const { state, params } = this.snapshot()
    const b = state.get<BudgetRecord>(StateKey.budget(member))
    return b === undefined ? undefined : budgetView(state, params, b)
  }

  /** Checkpoints, newest first; the cursor is the last seq returned. */
  checkpoints(req: PageRequest = {}): Page<JsonObject> {
    const { state } = this.snapshot()
    const latest = state.get<CheckpointRecord>(StateKey.checkpointLatest)
    const limit = pageLimit(req.limit)
    let seq = req.cursor === undefined ? (latest?.seq ?? 0) : Math.min(parseSeq(req.cursor, 'cursor') - 1, latest?.seq ?? 0)
    const items: JsonObject[] = []
    for (; seq >= 1 && items.length < limit; seq--) {
      const rec = state.get<CheckpointRecord>(StateKey.checkpoint(seq))
      if (rec !== undefined) items.push(toJson(rec) as JsonObject)
    }
    const last = items.at(-1)
    return { height: state.height, items, next: seq >= 1 && last !== undefined ? String(last.seq) : null }
  }

  latestCheckpoint(): JsonObject | undefined {
    const { state } = this.snapshot()
    const rec = state.get<CheckpointRecord>(StateKey.checkpointLatest)
    return rec === undefined ? undefined : { height: state.height, checkpoint: toJson(rec) }
  }

  checkpoint(seq: string): JsonObject | undefined {
    const n = parseSeq(seq, 'checkpoint seq')
    const { state } = this.snapshot()
    const rec = state.get<CheckpointRecord>(StateKey.checkpoint(n))
    return rec === undefined ? undefined : { height: state.height, checkpoint: toJson(rec) }
  }

  /** The validator set in force and the one ordered for a later epoch, if any. */
  validators(): { height: number; epoch: number; current: JsonValue; pending: JsonValue } {
    const { state, params } = this.snapshot()
    const current = state.get<ValidatorSetRecord>(StateKey.validators)
    const pending = state.get<PendingValidatorSet>(StateKey.pendingValidators)
    return { height: state.height, epoch: Math.floor(state.height / params.epochLength), current: toJson(current), pending: toJson(pending) }
  }

  params(): { height: number; params: JsonValue } {
    const { state, params } = this.snapshot()
    return { height: state.height, params: toJson(params) }
  }

  /** The whole state after block `height` (decimal), as DAG-CBOR (snapshots.ts); 404 SNAPSHOT_NOT_RETAINED when not retained. */
  snapshotBytes(height: string): Uint8Array {
    return this.snapshots.encodeAt(height)
  }

  /**
   * A Merkle proof that `key` holds its value (or is absent) under the state root
   * after `height` (a retained height; 404 SNAPSHOT_NOT_RETAINED otherwise), or under
   * the current one. The route adds the height's commit certificate.
   */
  proof(key: string, height?: number): ProofView {
    checkKey(key)
    const state = this.stateAt(height)
    const proof = state.trie.prove(key)
    const raw = state.getRaw(key)
    return {
      key,
      height: state.height,
      stateRoot: toHex(state.root),
      included: raw !== undefined,
      value: raw === undefined ? null : toJson(state.get(key)),
      valueCbor: raw === undefined ? null : toHex(raw),
      proof: trieProofToJson(proof),
      proofCbor: toHex(encode(proof)),
    }
  }

  /**
   * Proofs of many keys, all under the one state root after `height` (as for
   * `proof`), in the order given: only each proof's DAG-CBOR, which carries the
   * value (or its absence) the proof commits to. Every key is checked before any
   * is proven. `pause` is awaited after every `every` proofs (the route gives the
   * event loop back there); the state proven against stays the one chosen first,
   * whatever the node commits meanwhile.
   */
  async proofs(keys: readonly string[], height?: number, opts: { pause?: () => Promise<void>; every?: number } = {}): Promise<{ height: number; stateRoot: string; proofs: Array<{ key: string; proofCbor: string }> }> {
    keys.forEach((key, i) => checkKey(key, `keys[${i}]: `))
    const state = this.stateAt(height)
    const every = Math.max(1, opts.every ?? 128)
    const proofs: Array<{ key: string; proofCbor: string }> = []
    for (const key of keys) {
      if (opts.pause !== undefined && proofs.length > 0 && proofs.length % every === 0) await opts.pause()
      proofs.push({ key, proofCbor: toHex(encode(state.trie.prove(key))) })
    }
    return { height: state.height, stateRoot: toHex(state.root), proofs }
  }

  /** The state after `height` (a retained height; 404 SNAPSHOT_NOT_RETAINED otherwise), or the current one. */
  private stateAt(height: number | undefined): LedgerState {
    const state = height === undefined ? this.snapshot().state : this.states?.snapshotAt(height)
    if (state === undefined) {
      const retained = this.states?.retainedSnapshots()
      throw new ApiError(404, ApiErrorCode.SNAPSHOT_NOT_RETAINED, `no state at height ${height}: ${retained === undefined ? 'this node retains none' : `this node retains heights ${retained.from} to ${retained.to}`}`)
    }
    return state
  }
}

/** A key a proof may be asked for: 1 to MAX_PROOF_KEY_LENGTH characters of well-formed Unicode; `where` starts the message. */
function checkKey(key: string, where = ''): void {
  if (key.length === 0 || key.length > MAX_PROOF_KEY_LENGTH) throw badRequest(`${where}a state key is 1 to ${MAX_PROOF_KEY_LENGTH} characters`)
  if (!key.isWellFormed()) throw badRequest(`${where}state key is not well-formed Unicode`)
}

function parseId(text: string, what: string): CID {
  try {
    return CID.parse(text)
  } catch {
    throw badRequest(`${what} is not a CID: '${text.slice(0, 100)}'`)
  }
}

function parseSeq(text: string, what: string): number {
  if (!/^\d{1,15}$/.test(text)) throw badRequest(`${what} must be a non-negative integer`)
  return Number(text)
}
