/**
 * The storage port: a small ordered key-value interface, with an in-memory
 * implementation (tests, simulations) and a level implementation (nodes).
 *
 * Keys and values are bytes. Every key starts with one byte naming its bucket
 * (see `Bucket`); numbers are never reused once retired, so old data can never be
 * misread by newer code. A batch is atomic: after a crash, either all of it or
 * none of it is visible.
 */

/** Bucket numbers. Append only; a retired bucket keeps its number forever. */
export const Bucket = {
  META: 0x01, // chain metadata (head height, chain id, ...)
  BLOCK_BY_HEIGHT: 0x02, // height (u64 BE) -> block CID bytes
  BLOCK: 0x03, // block CID bytes -> block DAG-CBOR bytes
  RECEIPTS: 0x04, // height (u64 BE) -> receipts DAG-CBOR bytes
  STATE: 0x05, // state key (utf8) -> state value DAG-CBOR bytes
  TX_INDEX: 0x06, // tx CID bytes -> (height, index) DAG-CBOR
  CAS_BLOCK: 0x07, // CID multihash bytes -> raw block bytes (content-addressed store)
  CONSENSUS: 0x08, // consensus records of the node (safety state, epoch setup, end proofs, committed consensus blocks)
} as const
export type Bucket = (typeof Bucket)[keyof typeof Bucket]

export type BatchOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array }

export interface RangeOptions {
  /** inclusive lower bound */
  gte?: Uint8Array
  /** exclusive upper bound */
  lt?: Uint8Array
  reverse?: boolean
  limit?: number
}

export interface KeyValueStore {
  open(): Promise<void>
  close(): Promise<void>
  get(key: Uint8Array): Promise<Uint8Array | undefined>
  has(key: Uint8Array): Promise<boolean>
  put(key: Uint8Array, value: Uint8Array): Promise<void>
  del(key: Uint8Array): Promise<void>
  /** Applies every operation or none. */
  /**
   * Writes `ops` atomically. Durable when it resolves, unless `durable: false`: then it
   * may be lost in a crash (whole, never in part), for data that can be fetched again.
   */
  batch(ops: readonly BatchOp[], options?: { durable?: boolean }): Promise<void>
  /** Entries in ascending (or descending) byte order of key. */
  iterate(range: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]>
}

/** `bucket || suffix` */
export function bucketKey(bucket: Bucket, suffix: Uint8Array): Uint8Array {
  const out = new Uint8Array(suffix.length + 1)
  out[0] = bucket
  out.set(suffix, 1)
  return out
}

/** The key range covering every key of a bucket (optionally under a prefix). */
export function bucketRange(bucket: Bucket, prefix: Uint8Array = new Uint8Array(0)): RangeOptions {
  const gte = bucketKey(bucket, prefix)
  const lt = prefixUpperBound(gte)
  return lt === undefined ? { gte } : { gte, lt }
}

/**
 * The smallest key greater than every key starting with `prefix`, or undefined
 * when there is none (an empty or all-0xff prefix: its keys run to the end of
 * the keyspace, so the range has no upper bound).
 */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const out = prefix.slice(0, i + 1)
      out[i]! += 1
      return out
    }
  }
  return undefined
}

export function u64be(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}
