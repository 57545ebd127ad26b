/**
 * In-memory KeyValueStore for tests and simulations, behaving like the level
 * one: keys iterate in byte order, an iterator reads a snapshot taken when it
 * starts (later writes and deletes do not show), and values go in and come out
 * as copies (callers never share the store's arrays). Batches are atomic
 * trivially (applied synchronously).
 */
import type { BatchOp, KeyValueStore, RangeOptions } from './kv.ts'

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

export class MemoryKeyValueStore implements KeyValueStore {
  private readonly map = new Map<string, Uint8Array>()
  private sorted: string[] | null = null

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.map.get(hex(key))?.slice()
  }
  async has(key: Uint8Array): Promise<boolean> {
    return this.map.has(hex(key))
  }
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    this.set(hex(key), value)
  }
  async del(key: Uint8Array): Promise<void> {
    this.remove(hex(key))
  }
  async batch(ops: readonly BatchOp[]): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') this.set(hex(op.key), op.value)
      else this.remove(hex(op.key))
    }
  }

  async *iterate(range: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    if (this.sorted === null) this.sorted = [...this.map.keys()].sort()
    const gte = range.gte ? hex(range.gte) : undefined
    const lt = range.lt ? hex(range.lt) : undefined
    const keys = this.sorted.filter((k) => (gte === undefined || k >= gte) && (lt === undefined || k < lt))
    if (range.reverse) keys.reverse()
    // as level: a negative limit (or Infinity) is no limit
    if (range.limit !== undefined && range.limit >= 0) keys.length = Math.min(keys.length, range.limit)
    // the snapshot: stored values are never mutated in place (set stores a fresh copy)
    const snapshot = keys.map((k) => [k, this.map.get(k)!] as const)
    for (const [k, v] of snapshot) yield [Uint8Array.from(Buffer.from(k, 'hex')), v.slice()]
  }

  /** Number of entries (tests). */
  get size(): number {
    return this.map.size
  }

  private set(k: string, v: Uint8Array): void {
    if (!this.map.has(k)) this.sorted = null
    this.map.set(k, v.slice())
  }
  private remove(k: string): void {
    if (this.map.delete(k)) this.sorted = null
  }
}
