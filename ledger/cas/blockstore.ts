/**
 * A blockstore over the storage port: blocks live in `Bucket.CAS_BLOCK`, keyed by
 * the CID's multihash bytes, so the CIDv0 and CIDv1 of the same bytes (and a raw
 * and a dag-pb CID of the same bytes) share one stored copy.
 *
 * Every block is checked against its CID both ways: on `put` (nobody can store
 * bytes under someone else's CID) and on `get` (a corrupted disk is reported, not
 * served). A mismatch is `LedgerError('CID_MISMATCH')`; a missing block is
 * `LedgerError('NOT_FOUND')`.
 *
 * The shape (`put`, `get` returning an async generator, `has`) is what
 * ipfs-unixfs-importer and ipfs-unixfs-exporter expect of a blockstore.
 */
import { createHash } from 'node:crypto'
import type { WritableStorage } from 'ipfs-unixfs-importer'
import type { ReadableStorage } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import { bytesEqual } from '../../primitives/index.ts'
import { LedgerError } from '../errors.ts'
import { Bucket, bucketKey, bucketRange, type KeyValueStore } from '../store/kv.ts'

/** Multihash function codes this store can verify. */
export const MultihashCode = {
  IDENTITY: 0x00,
  SHA2_256: 0x12,
  SHA2_512: 0x13,
} as const

const NODE_HASH: Record<number, { name: string; length: number }> = {
  [MultihashCode.SHA2_256]: { name: 'sha256', length: 32 },
  [MultihashCode.SHA2_512]: { name: 'sha512', length: 64 },
}

export interface AbortOptions {
  signal?: AbortSignal
}

/** What the blockstore needs: the key-value port (level on a node, memory in tests). */
export interface CasBlockstoreComponents {
  kv: KeyValueStore
}

export type BlockBytes = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

/**
 * Throws `CID_MISMATCH` unless `bytes` hash to the CID's multihash; `BAD_ARGUMENT`
 * for a hash function this store cannot check (it never stores what it cannot verify).
 */
export function verifyBlock(cid: CID, bytes: Uint8Array): void {
  const { code, digest } = cid.multihash
  if (code === MultihashCode.IDENTITY) {
    if (!bytesEqual(digest, bytes)) throw mismatch(cid)
    return
  }
  const hash = NODE_HASH[code]
  if (hash === undefined) {
    throw new LedgerError('BAD_ARGUMENT', `unsupported multihash function 0x${code.toString(16)} in ${cid.toString()}`)
  }
  if (digest.length !== hash.length) {
    throw new LedgerError('BAD_ARGUMENT', `truncated ${hash.name} digest (${digest.length} bytes) in ${cid.toString()}`)
  }
  const actual = createHash(hash.name).update(bytes).digest()
  if (!bytesEqual(actual, digest)) throw mismatch(cid)
}

function mismatch(cid: CID): LedgerError {
  return new LedgerError('CID_MISMATCH', `block bytes do not hash to ${cid.toString()}`)
}

export class CasBlockstore implements WritableStorage, ReadableStorage {
  private readonly kv: KeyValueStore

  constructor(components: CasBlockstoreComponents) {
    this.kv = components.kv
  }

  /** Verifies and stores a block (idempotent: a block is stored once, under its multihash). */
  async put(cid: CID, block: BlockBytes, options: AbortOptions = {}): Promise<CID> {
    options.signal?.throwIfAborted()
    const bytes = await collect(block)
    verifyBlock(cid, bytes)
    if (cid.multihash.code === MultihashCode.IDENTITY) return cid // the CID is the block
    await this.kv.put(keyOf(cid), bytes)
    return cid
  }

  /** The block's bytes, verified against `cid`, as the one-chunk stream the exporter reads. */
  async *get(cid: CID, options: AbortOptions = {}): AsyncGenerator<Uint8Array> {
    yield await this.getBytes(cid, options)
  }

  async getBytes(cid: CID, options: AbortOptions = {}): Promise<Uint8Array> {
    options.signal?.throwIfAborted()
    if (cid.multihash.code === MultihashCode.IDENTITY) return cid.multihash.digest
    const bytes = await this.kv.get(keyOf(cid))
    if (bytes === undefined) throw new LedgerError('NOT_FOUND', `block ${cid.toString()} is not in the store`)
    verifyBlock(cid, bytes)
    return plain(bytes)
  }

  async has(cid: CID, options: AbortOptions = {}): Promise<boolean> {
    options.signal?.throwIfAborted()
    if (cid.multihash.code === MultihashCode.IDENTITY) return true
    return this.kv.has(keyOf(cid))
  }

  async delete(cid: CID, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    if (cid.multihash.code === MultihashCode.IDENTITY) return
    await this.kv.del(keyOf(cid))
  }

  /** Number of stored blocks (diagnostics and tests; walks the bucket). */
  async count(): Promise<number> {
    let n = 0
    for await (const _ of this.kv.iterate(bucketRange(Bucket.CAS_BLOCK))) n++
    return n
  }
}

function keyOf(cid: CID): Uint8Array {
  return bucketKey(Bucket.CAS_BLOCK, cid.multihash.bytes)
}

async function collect(block: BlockBytes): Promise<Uint8Array> {
  if (block instanceof Uint8Array) return block
  const parts: Uint8Array[] = []
  for await (const part of block) parts.push(part)
  return parts.length === 1 ? parts[0]! : plain(Buffer.concat(parts))
}

/** A plain Uint8Array view (level and Buffer.concat hand out Buffers). */
function plain(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes
}
