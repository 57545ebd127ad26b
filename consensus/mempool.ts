/**
 * The mempool port, as the consensus core sees it: commands in arrival order to
 * fill a block with, excluding those already in uncommitted blocks of the branch
 * being extended. `FifoMempool` is the in-memory implementation the simulator
 * and benchmarks use; the node's mempool (dedup, nonce order, limits) comes with
 * the node issue.
 */
import { commandKey } from './genesis.ts'
import type { Block } from './types.ts'

/** The commands a proposal must leave out, by commandKey (a Set, or a view over several). */
export interface KeySet {
  has(key: string): boolean
}

export interface Mempool {
  /** up to `maxCount` commands and `maxBytes` bytes, oldest first, skipping keys in `exclude` */
  take(maxCount: number, maxBytes: number, exclude: KeySet): Uint8Array[]
  /** commands waiting */
  size(): number
}

export class FifoMempool implements Mempool {
  private readonly commands = new Map<string, Uint8Array>()

  add(command: Uint8Array): boolean {
    const key = commandKey(command)
    if (this.commands.has(key)) return false
    this.commands.set(key, command)
    return true
  }

  take(maxCount: number, maxBytes: number, exclude: KeySet): Uint8Array[] {
    const out: Uint8Array[] = []
    let bytes = 0
    for (const [key, c] of this.commands) {
      if (out.length >= maxCount) break
      if (exclude.has(key)) continue
      if (bytes + c.length > maxBytes) break
      out.push(c)
      bytes += c.length
    }
    return out
  }

  size(): number {
    return this.commands.size
  }

  /** Drops committed commands. */
  removeCommitted(blocks: readonly Block[]): void {
    for (const b of blocks) for (const c of b.payload) this.commands.delete(commandKey(c))
  }
}
