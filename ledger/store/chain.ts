/**
 * The chain store: committed blocks (by height and by CID), their receipts, a
 * transaction index and the current state, persisted through the KV port. One
 * block's writes, head included, are one atomic synced batch, so after a crash
 * the store reopens at the last fully committed block, never a torn one. It has
 * one writer: the node's consensus driver commits blocks one at a time.
 * On open the state is rebuilt from its entries and checked against the state
 * root recorded with the head.
 */
import { bytesEqual, cidOfBytes, decode, encode, type CID } from '../../primitives/index.ts'
import { LedgerError } from '../errors.ts'
import type { BlockOutcome, Receipt } from '../exec/block.ts'
import { LedgerState } from '../state/state.ts'
import { StateTrie } from '../state/trie.ts'
import { type BatchOp, Bucket, bucketKey, bucketRange, type KeyValueStore, u64be } from './kv.ts'

/** A block as the ledger stores it: the ordered payload consensus committed. */
export interface LedgerBlock {
  chain: string
  height: number
  /** unix seconds, agreed by consensus */
  timeSec: number
  parent: CID | null
  txs: Uint8Array[]
}

export interface BlockCommit {
  block: CID
  stateRoot: Uint8Array
  receipts: Receipt[]
}

export interface Head {
  height: number
  block: CID | null
  stateRoot: Uint8Array
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const HEAD_KEY = bucketKey(Bucket.META, enc.encode('head'))

export interface ChainStoreComponents {
  kv: KeyValueStore
}

export class ChainStore {
  private readonly kv: KeyValueStore

  constructor(components: ChainStoreComponents) {
    this.kv = components.kv
  }

  async head(): Promise<Head | undefined> {
    const raw = await this.kv.get(HEAD_KEY)
    return raw === undefined ? undefined : decode<Head>(raw)
  }

  /** Writes the genesis state if the store is empty; returns the state at the head. */
  async initialize(genesis: LedgerState): Promise<LedgerState> {
    if ((await this.head()) === undefined) {
      const ops: BatchOp[] = [...genesis.trie.entries()].map(([k, v]) => ({ type: 'put', key: stateKey(k), value: v }))
      const head: Head = { height: genesis.height, block: null, stateRoot: genesis.root }
      ops.push({ type: 'put', key: HEAD_KEY, value: encode(head) })
      await this.kv.batch(ops)
      return genesis
    }
    return this.loadState()
  }

  /** Rebuilds the state at the head and checks its root. */
  async loadState(): Promise<LedgerState> {
    const head = await this.head()
    if (head === undefined) throw new LedgerError('NOT_FOUND', 'the store holds no chain: initialize it with a genesis')
    const entries: Array<[string, Uint8Array]> = []
    for await (const [k, v] of this.kv.iterate(bucketRange(Bucket.STATE))) entries.push([dec.decode(k.subarray(1)), v])
    const state = new LedgerState(StateTrie.fromEntries(entries), head.height)
    if (!bytesEqual(state.root, head.stateRoot)) throw new Error(`state store is corrupt: rebuilt root differs from the head's at height ${head.height}`)
    return state
  }

  /** Persists a block and its outcome atomically. The block must follow the head. */
  async commitBlock(block: LedgerBlock, outcome: BlockOutcome): Promise<CID> {
    const head = await this.head()
    if (head === undefined) throw new Error('commitBlock before initialize')
    if (block.height !== head.height + 1) throw new Error(`block ${block.height} does not follow head ${head.height}`)
    if (!cidsEqual(block.parent, head.block)) throw new Error(`block ${block.height} names parent ${block.parent}, the head is ${head.block}`)
    const blockBytes = encode(block)
    const cid = cidOfBytes(blockBytes)
    const ops: BatchOp[] = [
      { type: 'put', key: bucketKey(Bucket.BLOCK, cid.bytes), value: blockBytes },
      { type: 'put', key: bucketKey(Bucket.BLOCK_BY_HEIGHT, u64be(block.height)), value: cid.bytes },
      { type: 'put', key: bucketKey(Bucket.RECEIPTS, u64be(block.height)), value: encode({ block: cid, stateRoot: outcome.stateRoot, receipts: outcome.receipts } satisfies BlockCommit) },
    ]
    // A transaction id points at its committed (OK) receipt: a refused replay of the
    // same bytes, in this block or a later one, must not hide it.
    const chosen = new Map<string, Receipt>()
    for (const r of outcome.receipts) {
      const prev = chosen.get(r.tx.toString())
      if (prev === undefined || (prev.code !== 'OK' && r.code === 'OK')) chosen.set(r.tx.toString(), r)
    }
    for (const r of chosen.values()) {
      const key = bucketKey(Bucket.TX_INDEX, r.tx.bytes)
      if (r.code !== 'OK' && (await this.kv.has(key))) continue
      ops.push({ type: 'put', key, value: encode({ height: block.height, index: r.index }) })
    }
    for (const [k, v] of outcome.writes) ops.push(v === undefined ? { type: 'del', key: stateKey(k) } : { type: 'put', key: stateKey(k), value: v })
    const next: Head = { height: block.height, block: cid, stateRoot: outcome.stateRoot }
    ops.push({ type: 'put', key: HEAD_KEY, value: encode(next) })
    await this.kv.batch(ops)
    return cid
  }

  async blockAt(height: number): Promise<LedgerBlock | undefined> {
    const cidBytes = await this.kv.get(bucketKey(Bucket.BLOCK_BY_HEIGHT, u64be(height)))
    if (cidBytes === undefined) return undefined
    const raw = await this.kv.get(bucketKey(Bucket.BLOCK, cidBytes))
    return raw === undefined ? undefined : decode<LedgerBlock>(raw)
  }

  async blockByCid(cid: CID): Promise<LedgerBlock | undefined> {
    const raw = await this.kv.get(bucketKey(Bucket.BLOCK, cid.bytes))
    return raw === undefined ? undefined : decode<LedgerBlock>(raw)
  }

  async commitAt(height: number): Promise<BlockCommit | undefined> {
    const raw = await this.kv.get(bucketKey(Bucket.RECEIPTS, u64be(height)))
    return raw === undefined ? undefined : decode<BlockCommit>(raw)
  }

  /** Where a transaction was committed, and its receipt. */
  async findTx(tx: CID): Promise<{ height: number; receipt: Receipt } | undefined> {
    const raw = await this.kv.get(bucketKey(Bucket.TX_INDEX, tx.bytes))
    if (raw === undefined) return undefined
    const loc = decode<{ height: number; index: number }>(raw)
    const commit = await this.commitAt(loc.height)
    const receipt = commit?.receipts[loc.index]
    return receipt === undefined ? undefined : { height: loc.height, receipt }
  }
}

function cidsEqual(a: CID | null, b: CID | null): boolean {
  return a === null || b === null ? a === b : a.equals(b)
}

function stateKey(key: string): Uint8Array {
  return bucketKey(Bucket.STATE, enc.encode(key))
}
