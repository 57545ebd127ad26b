/**
 * The block tree: every block a replica knows above its pruning point, by id.
 * Blocks are added only when their parent is known, so every block's ancestry
 * down to the committed chain is present. On commit, branches that do not
 * extend the committed block are dropped, and committed blocks are kept only
 * for a window (`retainCommitted`) to serve peers that are catching up.
 */
import { blockId, hashKey } from './signing.ts'
import type { Block, Hash } from './types.ts'

export class BlockTree {
  private readonly blocks = new Map<string, Block>()
  private readonly retain: number
  /** the highest committed block */
  committed: Block
  /** committed blocks by height, for the retention window */
  private readonly committedByHeight = new Map<number, Block>()

  constructor(root: Block, retainCommitted: number) {
    this.retain = retainCommitted
    this.committed = root
    this.blocks.set(hashKey(blockId(root)), root)
    this.committedByHeight.set(root.height, root)
  }

  get(id: Hash): Block | undefined {
    return this.blocks.get(hashKey(id))
  }

  has(id: Hash): boolean {
    return this.blocks.has(hashKey(id))
  }

  /** Adds a block whose parent is known; returns false if the parent is missing or the block is below the commit point. */
  add(block: Block): boolean {
    const key = hashKey(blockId(block))
    if (this.blocks.has(key)) return true
    const parent = this.get(block.parent)
    if (parent === undefined || parent.height + 1 !== block.height || block.height <= this.committed.height) return false
    this.blocks.set(key, block)
    return true
  }

  parentOf(block: Block): Block | undefined {
    return this.get(block.parent)
  }

  /** True iff `descendant` is `ancestor` or extends it. */
  extends(descendant: Block, ancestor: Hash): boolean {
    const target = hashKey(ancestor)
    const ancestorBlock = this.blocks.get(target)
    let b: Block | undefined = descendant
    while (b !== undefined && (ancestorBlock === undefined || b.height >= ancestorBlock.height)) {
      if (hashKey(blockId(b)) === target) return true
      b = this.get(b.parent)
    }
    return false
  }

  /** Blocks from just above the committed block up to `head`, oldest first; undefined if `head` does not extend it. */
  pathFromCommitted(head: Block): Block[] | undefined {
    const path: Block[] = []
    let b: Block | undefined = head
    const committedKey = hashKey(blockId(this.committed))
    while (b !== undefined && b.height > this.committed.height) {
      path.push(b)
      b = this.get(b.parent)
    }
    if (b === undefined || hashKey(blockId(b)) !== committedKey) return undefined
    return path.reverse()
  }

  /** Marks `head` and its uncommitted ancestors committed; returns them oldest first, and prunes. */
  commit(head: Block): Block[] {
    const path = this.pathFromCommitted(head)
    if (path === undefined) throw new Error(`commit of block at height ${head.height} that does not extend the committed chain (safety violation)`)
    for (const b of path) this.committedByHeight.set(b.height, b)
    this.committed = head
    this.prune()
    return path
  }

  /** A committed block by height, if still retained. */
  committedAt(height: number): Block | undefined {
    return this.committedByHeight.get(height)
  }

  /** Blocks above the committed one, lowest first (what a restart needs besides the committed block). */
  uncommitted(): Block[] {
    return [...this.blocks.values()].filter((b) => b.height > this.committed.height).sort((a, b) => a.height - b.height)
  }

  get size(): number {
    return this.blocks.size
  }

  private prune(): void {
    const floor = this.committed.height - this.retain
    for (const [h, b] of this.committedByHeight) {
      if (h < floor && h !== this.committed.height) {
        this.committedByHeight.delete(h)
        this.blocks.delete(hashKey(blockId(b)))
      }
    }
    // drop every uncommitted block that does not extend the committed head
    for (const [key, b] of this.blocks) {
      if (b.height > this.committed.height && !this.extends(b, blockId(this.committed))) this.blocks.delete(key)
      else if (b.height <= this.committed.height && this.committedByHeight.get(b.height) !== b) this.blocks.delete(key)
    }
  }
}
