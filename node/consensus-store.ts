/**
 * What the consensus driver persists, in the node's level database (bucket
 * CONSENSUS), besides the ledger's own blocks and state:
 *  - the safety state (highest voted view, lock, last vote/timeout), written and
 *    synced before any vote or timeout signature leaves the node;
 *  - the current epoch (its validators, genesis and last height), and the end
 *    proofs of epochs that ended, to help peers that are behind;
 *  - committed consensus blocks by height (with their QCs), written before the
 *    ledger executes them: on restart the ledger re-executes any block recorded
 *    here but not yet in its store, and the replica restarts from the last one;
 *  - commit certificates by height (consensus/commits.ts), kept for every height:
 *    they are what light clients, followers and auditors verify the ledger by.
 */
import { decode, encode } from '../primitives/index.ts'
import { Bucket, bucketKey, bucketRange, u64be, type KeyValueStore } from '../ledger/index.ts'
import type { Block, CommitCertificate, SafetyState, SyncInfo } from '../consensus/index.ts'

/** An epoch as persisted: enough to rebuild its EpochSetup (the scheme comes from the keys). */
export interface EpochRecord {
  epoch: number
  /** validator ids (ledger) and ed25519 public keys, in index order */
  validators: Array<{ id: string; publicKey: Uint8Array }>
  genesis: Block
  /** -1 stands for "never ends" (DAG-CBOR has no Infinity) */
  lastHeight: number
}

/**
 * How an epoch got its validator set: the trie proof of the `validators` state key
 * under the state root after the previous epoch's last height. With that height's
 * commit certificate it is what a light client needs to learn the set
 * (light/ `verifyEpochChange`); served at GET /v1/epochs/{epoch}.
 */
export interface EpochChange {
  epoch: number
  /** the last height of the epoch before */
  height: number
  proof: unknown
}

const enc = new TextEncoder()
const SAFETY = bucketKey(Bucket.CONSENSUS, enc.encode('safety'))
const PENDING = bucketKey(Bucket.CONSENSUS, enc.encode('pending'))
const EPOCH = bucketKey(Bucket.CONSENSUS, enc.encode('epoch'))
const proofKey = (epoch: number) => bucketKey(Bucket.CONSENSUS, concat(enc.encode('proof/'), u64be(epoch)))
const changeKey = (epoch: number) => bucketKey(Bucket.CONSENSUS, concat(enc.encode('epoch-change/'), u64be(epoch)))
const certKey = (height: number) => bucketKey(Bucket.CONSENSUS, concat(enc.encode('cert/'), u64be(height)))
const blockKey = (height: number) => bucketKey(Bucket.CONSENSUS, concat(enc.encode('block/'), u64be(height)))

export interface ConsensusStoreComponents {
  kv: KeyValueStore
}

export class ConsensusStore {
  private readonly kv: KeyValueStore

  constructor(components: ConsensusStoreComponents) {
    this.kv = components.kv
  }

  async safety(): Promise<SafetyState | undefined> {
    const raw = await this.kv.get(SAFETY)
    return raw === undefined ? undefined : decode<SafetyState>(raw)
  }

  /**
   * Resolves once the state is durable (the level store syncs every write). With it, in
   * the same batch, the uncommitted blocks the replica holds: the lock may certify one
   * that nobody else keeps after a whole network restarts.
   */
  async saveSafety(state: SafetyState, pending?: readonly Block[]): Promise<void> {
    const ops = [{ type: 'put' as const, key: SAFETY, value: encode(state) }]
    if (pending !== undefined) ops.push({ type: 'put' as const, key: PENDING, value: encode([...pending]) })
    await this.kv.batch(ops)
  }

  async pending(): Promise<Block[]> {
    const raw = await this.kv.get(PENDING)
    return raw === undefined ? [] : decode<Block[]>(raw)
  }

  async epoch(): Promise<EpochRecord | undefined> {
    const raw = await this.kv.get(EPOCH)
    return raw === undefined ? undefined : decode<EpochRecord>(raw)
  }

  /**
   * Starts a new epoch: its record, the proof of the one before, the proof of its
   * validator set (`change`), and a cleared safety state, in one batch.
   */
  async saveEpoch(record: EpochRecord, previousProof?: { epoch: number; proof: SyncInfo }, change?: EpochChange): Promise<void> {
    const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }> = [{ type: 'put', key: EPOCH, value: encode(record) }, { type: 'del', key: SAFETY }, { type: 'del', key: PENDING }]
    if (previousProof !== undefined) ops.push({ type: 'put', key: proofKey(previousProof.epoch), value: encode(previousProof.proof) })
    if (change !== undefined) ops.push({ type: 'put', key: changeKey(change.epoch), value: encode(change) })
    await this.kv.batch(ops)
  }

  /** How epoch `epoch` (≥ 1) got its validators, if this node recorded it. */
  async epochChange(epoch: number): Promise<EpochChange | undefined> {
    const raw = await this.kv.get(changeKey(epoch))
    return raw === undefined ? undefined : decode<EpochChange>(raw)
  }

  async proofs(): Promise<Map<number, SyncInfo>> {
    const out = new Map<number, SyncInfo>()
    for await (const [, v] of this.kv.iterate(bucketRange(Bucket.CONSENSUS, enc.encode('proof/')))) {
      const proof = decode<SyncInfo>(v)
      out.set(proof.highQC.epoch, proof)
    }
    return out
  }

  /**
   * Records commit certificates (one batch), not synced: a crash may lose the last
   * ones, which peers serve again (node/certification.ts fetches what it lacks), and a
   * synced write here would queue the consensus' own synced writes behind it.
   */
  async saveCertificates(certs: readonly CommitCertificate[]): Promise<void> {
    await this.kv.batch(certs.map((c) => ({ type: 'put' as const, key: certKey(c.header.height), value: encode(c) })), { durable: false })
  }

  async certificate(height: number): Promise<CommitCertificate | undefined> {
    const raw = await this.kv.get(certKey(height))
    return raw === undefined ? undefined : decode<CommitCertificate>(raw)
  }

  /** Certificates of heights `from` … `from + count − 1` that are held, ascending. */
  async certificatesFrom(from: number, count: number): Promise<CommitCertificate[]> {
    const out: CommitCertificate[] = []
    const range = bucketRange(Bucket.CONSENSUS, enc.encode('cert/'))
    for await (const [, v] of this.kv.iterate({ ...range, gte: certKey(Math.max(0, from)), lt: certKey(from + count) })) out.push(decode<CommitCertificate>(v))
    return out
  }

  /** The highest certified height held (0: none). */
  async lastCertifiedHeight(): Promise<number> {
    for await (const [, v] of this.kv.iterate({ ...bucketRange(Bucket.CONSENSUS, enc.encode('cert/')), reverse: true })) return decode<CommitCertificate>(v).header.height
    return 0
  }

  async saveBlocks(blocks: readonly Block[]): Promise<void> {
    await this.kv.batch(blocks.map((b) => ({ type: 'put' as const, key: blockKey(b.height), value: encode(b) })))
  }

  async blockAt(height: number): Promise<Block | undefined> {
    const raw = await this.kv.get(blockKey(height))
    return raw === undefined ? undefined : decode<Block>(raw)
  }

  /** Committed consensus blocks from `fromHeight` up, ascending. */
  async blocksFrom(fromHeight: number, limit = 1000): Promise<Block[]> {
    const out: Block[] = []
    const range = bucketRange(Bucket.CONSENSUS, enc.encode('block/'))
    for await (const [, v] of this.kv.iterate({ ...range, gte: blockKey(Math.max(0, fromHeight)) })) {
      out.push(decode<Block>(v))
      if (out.length >= limit) break
    }
    return out
  }

  /** The highest committed consensus block recorded. */
  async lastBlock(): Promise<Block | undefined> {
    for await (const [, v] of this.kv.iterate({ ...bucketRange(Bucket.CONSENSUS, enc.encode('block/')), reverse: true })) return decode<Block>(v)
    return undefined
  }

  /** Deletes committed consensus blocks below `height` (the ledger keeps its own copy of the payload). */
  async pruneBelow(height: number): Promise<void> {
    const range = bucketRange(Bucket.CONSENSUS, enc.encode('block/'))
    const ops: Array<{ type: 'del'; key: Uint8Array }> = []
    for await (const [k] of this.kv.iterate({ ...range, lt: blockKey(Math.max(0, height)) })) ops.push({ type: 'del', key: k })
    if (ops.length > 0) await this.kv.batch(ops)
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
