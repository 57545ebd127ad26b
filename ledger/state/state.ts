/**
 * The ledger state: an immutable authenticated map (StateTrie) from string keys
 * to DAG-CBOR values, plus the height it reflects. Execution never mutates a
 * LedgerState: it reads through an overlay, and the block's writes produce a new
 * state, so a failed transaction or a rejected block leaves nothing behind.
 */
import { decode, encode } from '../../primitives/index.ts'
import { StateTrie } from './trie.ts'

export class LedgerState {
  readonly trie: StateTrie
  /** height of the last block applied (0 = genesis) */
  readonly height: number

  constructor(trie: StateTrie, height: number) {
    this.trie = trie
    this.height = height
  }

  static empty(): LedgerState {
    return new LedgerState(StateTrie.empty(), 0)
  }

  get root(): Uint8Array {
    return this.trie.root
  }

  getRaw(key: string): Uint8Array | undefined {
    return this.trie.get(key)
  }

  get<T>(key: string): T | undefined {
    const raw = this.trie.get(key)
    return raw === undefined ? undefined : decode<T>(raw)
  }

  /** Applies raw writes (undefined deletes) and returns the new state at `height`. */
  apply(writes: Iterable<[string, Uint8Array | undefined]>, height: number): LedgerState {
    return new LedgerState(this.trie.applyBatch(writes), height)
  }
}

/** Read access shared by states and overlays. */
export interface StateReader {
  getRaw(key: string): Uint8Array | undefined
}

/**
 * Buffered writes over a reader. Overlays nest: a transaction runs in a child of
 * the block's overlay and is merged into it only if the transaction succeeds.
 */
export class StateOverlay implements StateReader {
  private readonly base: StateReader
  private readonly writes = new Map<string, Uint8Array | undefined>()

  constructor(base: StateReader) {
    this.base = base
  }

  getRaw(key: string): Uint8Array | undefined {
    return this.writes.has(key) ? this.writes.get(key) : this.base.getRaw(key)
  }

  get<T>(key: string): T | undefined {
    const raw = this.getRaw(key)
    return raw === undefined ? undefined : decode<T>(raw)
  }

  put(key: string, value: unknown): void {
    this.writes.set(key, encode(value))
  }

  delete(key: string): void {
    this.writes.set(key, undefined)
  }

  /** Moves this overlay's writes into `parent` (which must be this overlay's base). */
  mergeInto(parent: StateOverlay): void {
    for (const [k, v] of this.writes) parent.writes.set(k, v)
  }

  /** The buffered writes, in key order (deterministic). */
  changes(): Array<[string, Uint8Array | undefined]> {
    return [...this.writes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }
}
