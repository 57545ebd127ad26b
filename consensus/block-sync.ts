/**
 * The serving side of block sync, shared by block responses and syncs: how much a
 * block weighs in a sync message, the newest-first walk that collects what a peer
 * lacks under a byte cap, and the per-peer allowance that keeps a peer from making
 * us send without bound. Pure: time comes in as `now`.
 */
import type { Block, Hash, ValidatorIndex } from './types.ts'

/** block requests answered per peer per window (see ServeAllowance) */
const SERVED_PER_WINDOW = 16
/** block bytes answered per peer per window, in units of maxSyncBytes (see ServeAllowance) */
const SERVED_BYTES_PER_WINDOW = 2
/** block bytes held while walking back from a far-ahead chain to ours, in units of maxSyncBytes; a longer gap needs state sync */
export const MAX_FETCHED_SYNCS = 64

/** a block's share of a sync message: its payload, plus an allowance for header, QC signatures and framing */
export function syncBytes(b: Block): number {
  let bytes = 512 + b.justify.votes.signers.length + b.justify.votes.signature.length
  for (const c of b.payload) bytes += c.length + 8
  return bytes
}

/**
 * From each of `tops` down by parent, the blocks above `knownHeight`, newest first:
 * at least one block, at most `maxBytes` (syncBytes) and 1,000 blocks in all.
 */
export function collectDown(get: (id: Hash) => Block | undefined, tops: readonly Hash[], knownHeight: number, maxBytes: number): { blocks: Block[]; bytes: number } {
  const blocks: Block[] = []
  let bytes = 0
  for (const id of tops) {
    let b = get(id)
    while (b !== undefined && b.height > knownHeight && blocks.length < 1000 && (blocks.length === 0 || bytes + syncBytes(b) <= maxBytes)) {
      blocks.push(b)
      bytes += syncBytes(b)
      b = get(b.parent)
    }
  }
  return { blocks, bytes }
}

/**
 * Block requests answered per peer and window (the base timeout): at most
 * SERVED_PER_WINDOW answers and SERVED_BYTES_PER_WINDOW × maxSyncBytes of blocks.
 * A peer fetching a long gap asks once per (cut) response, so it needs several in
 * a row; replayed or flooded requests still cannot make us send without bound.
 */
export class ServeAllowance {
  private readonly windows = new Map<ValidatorIndex, { start: number; count: number; bytes: number }>()
  private readonly windowMs: number
  private readonly maxSyncBytes: number

  constructor(windowMs: number, maxSyncBytes: number) {
    this.windowMs = windowMs
    this.maxSyncBytes = maxSyncBytes
  }

  /** Counts one answer to `peer`; returns the bytes it may carry (0: none). */
  take(peer: ValidatorIndex, now: number): number {
    let w = this.windows.get(peer)
    if (w === undefined || now - w.start >= this.windowMs) {
      w = { start: now, count: 0, bytes: 0 }
      this.windows.set(peer, w)
    }
    if (++w.count > SERVED_PER_WINDOW) return 0
    return Math.max(0, SERVED_BYTES_PER_WINDOW * this.maxSyncBytes - w.bytes)
  }

  /** Records the bytes an answer to `peer` carried (after take). */
  spent(peer: ValidatorIndex, bytes: number): void {
    const w = this.windows.get(peer)
    if (w !== undefined) w.bytes += bytes
  }
}
