/**
 * KeyValueStore over `level` (LevelDB; classic-level under Node). Level's batches are
 * written atomically through the write-ahead log, which is what gives
 * "one block = one atomic batch" its crash safety. Every write (put, del, batch)
 * is synced to disk before it resolves, except a batch asked not to be durable
 * (data that can be fetched again, such as commit certificates). Iterators read a snapshot taken when
 * they start.
 */
import { Level } from 'level'
import { LedgerError } from '../errors.ts'
import type { BatchOp, KeyValueStore, RangeOptions } from './kv.ts'

export class LevelKeyValueStore implements KeyValueStore {
  private readonly db: Level<Uint8Array, Uint8Array>

  readonly path: string

  constructor(path: string) {
    this.path = path
    this.db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  }

  /** Throws LedgerError STORE_UNAVAILABLE when the folder cannot be opened as a store (its cause says why). */
  async open(): Promise<void> {
    try {
      await this.db.open()
    } catch (e) {
      const { why, hint } = storeFailure(e)
      throw new LedgerError('STORE_UNAVAILABLE', `cannot open the store at ${this.path}: ${why}${hint ? '; pass a writable folder that no other fedledger process is using' : ''}`, { cause: e })
    }
  }
  async close(): Promise<void> {
    await this.db.close()
  }
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.db.get(key)) ?? undefined
  }
  async has(key: Uint8Array): Promise<boolean> {
    return this.db.has(key)
  }
  // every write is synced, like batches: a CAS block a synced batch anchors must be on disk too
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.db.put(key, value, { sync: true })
  }
  async del(key: Uint8Array): Promise<void> {
    await this.db.del(key, { sync: true })
  }
  async batch(ops: readonly BatchOp[], options: { durable?: boolean } = {}): Promise<void> {
    await this.db.batch(
      ops.map((op) => (op.type === 'put' ? { type: 'put' as const, key: op.key, value: op.value } : { type: 'del' as const, key: op.key })),
      { sync: options.durable !== false },
    )
  }
  async *iterate(range: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    const opts: { gte?: Uint8Array; lt?: Uint8Array; reverse?: boolean; limit?: number } = {}
    if (range.gte) opts.gte = range.gte
    if (range.lt) opts.lt = range.lt
    if (range.reverse) opts.reverse = true
    if (range.limit !== undefined) opts.limit = range.limit
    for await (const [k, v] of this.db.iterator(opts)) yield [k, v]
  }
}

/** Failures that another folder (or stopping the other process) would cure; others (corruption, a full disk) get no such advice. */
const PATH_PROBLEMS = new Set(['LEVEL_LOCKED', 'EACCES', 'EPERM', 'ENOTDIR', 'ENOENT', 'EROFS'])

/**
 * Level wraps the reason in a generic "not open" error: a store held open by another
 * process (or another handle in this one) is LEVEL_LOCKED; otherwise report the
 * innermost message (ENOTDIR, EACCES, …).
 */
function storeFailure(e: unknown): { why: string; hint: boolean } {
  let inner = e
  let hint = false
  for (;;) {
    const code = (inner as { code?: unknown }).code
    if (code === 'LEVEL_LOCKED') return { why: 'it is locked by another process', hint: true }
    if (typeof code === 'string' && PATH_PROBLEMS.has(code)) hint = true
    if (!(inner instanceof Error && inner.cause instanceof Error)) break
    inner = inner.cause
  }
  return { why: inner instanceof Error ? inner.message : String(inner), hint }
}
