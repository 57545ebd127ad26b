/**
 * The block executor: runs committed blocks through the app, in height order, on
 * its own loop beside the consensus queue. Consensus records a committed block
 * (consensus store) and hands it here; the next consensus input does not wait for
 * the block to execute, so votes, proposals and timeouts are not held behind an
 * execution and the awaits inside it (the ledger's synced write, and the
 * transaction admission that runs while it is pending).
 *
 * What the rest of the node must respect while blocks wait here:
 *  - their transactions are still in the mempool (the app prunes it when it
 *    executes them), so a proposal must leave them out: `mempoolView` wraps the
 *    app's mempool so that `take` skips them and `size` does not count them;
 *  - an epoch's next validator set is read from the executed state, so an
 *    epoch-end waits for `drain()`;
 *  - a crash loses nothing: a recorded block that was not executed is executed
 *    when the node starts again (node.ts).
 * It is not a second consensus queue: it never feeds inputs to the core.
 */
import { commandKey, type Block, type Mempool } from '../consensus/index.ts'
import type { NodeMetrics } from './api/index.ts'
import type { App } from './app.ts'
import type { ConsensusStore } from './consensus-store.ts'
import type { Logger } from './logger.ts'

export interface ExecutorComponents {
  app: App
  store: ConsensusStore
  metrics?: NodeMetrics
  logger: Logger
  now(): number
  /** called with blocks once they are executed (benchmarks, tools) */
  onCommitted?: (blocks: readonly Block[]) => void
  /** the mempool still holds commands after an execution: consensus may propose them */
  onCommandsLeft(): void
  /** the app refused a committed block (a broken invariant): the node must stop */
  onFatal(error: unknown): void
}

export class BlockExecutor {
  private readonly components: ExecutorComponents
  /** recorded committed blocks not yet executed, in height order */
  private readonly waiting: Block[] = []
  /** command keys of the waiting blocks and of the block being executed, with their multiplicity */
  private readonly pendingKeys = new Map<string, number>()
  private running: Promise<void> | null = null
  private failed = false
  private stopped = false
  /** when this node last executed a block (local ms) */
  lastCommitAt: number | undefined

  constructor(components: ExecutorComponents) {
    this.components = components
  }

  /** Blocks consensus committed and recorded, in height order after those already given. */
  push(blocks: readonly Block[]): void {
    if (this.failed || this.stopped) return
    for (const b of blocks) {
      const last = this.waiting.at(-1)?.height ?? this.components.app.height()
      if (b.height <= last) continue
      this.waiting.push(b)
      for (const c of b.payload) {
        const k = commandKey(c)
        this.pendingKeys.set(k, (this.pendingKeys.get(k) ?? 0) + 1)
      }
    }
    if (this.running === null && this.waiting.length > 0) this.running = this.loop()
  }

  /** How many blocks wait (the one being executed included). */
  get backlog(): number {
    return this.waiting.length
  }

  /** Resolves once every block given so far is executed (or execution has failed or stopped). */
  async drain(): Promise<void> {
    while (this.running !== null) await this.running
  }

  /** Executes no further block; waits for the one in hand. Blocks left waiting are recorded: the next start executes them. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.drain()
  }

  /** Whether `key` is a command of a committed block that is not executed yet. */
  isPending(key: string): boolean {
    return this.pendingKeys.has(key)
  }

  /**
   * The app's mempool as consensus should see it: without the commands of committed
   * blocks still waiting here (they are ordered already; proposing them again would
   * only fill a block with transactions the ledger refuses as replays).
   */
  mempoolView(inner: Mempool): Mempool {
    return {
      take: (maxCount, maxBytes, exclude) => inner.take(maxCount, maxBytes, { has: (k: string) => exclude.has(k) || this.pendingKeys.has(k) }),
      // an estimate: a waiting command this node never received was not counted by `inner` either
      size: () => Math.max(0, inner.size() - this.pendingKeys.size),
    }
  }

  private async loop(): Promise<void> {
    try {
      while (this.waiting.length > 0 && !this.failed && !this.stopped) {
        // let the consensus input in hand finish sending (its vote, its proposal) and
        // queued network input be read before this block's synchronous part runs
        await new Promise<void>((resolve) => setImmediate(resolve))
        if (this.stopped) break
        const block = this.waiting[0]!
        try {
          await this.execute(block)
        } catch (e) {
          this.failed = true
          this.components.logger.error({ height: block.height, err: e instanceof Error ? e.stack : String(e) }, 'executing a committed block failed; stopping')
          this.components.onFatal(e)
        }
        this.waiting.shift()
        for (const c of block.payload) {
          const k = commandKey(c)
          const n = this.pendingKeys.get(k)!
          if (n <= 1) this.pendingKeys.delete(k)
          else this.pendingKeys.set(k, n - 1)
        }
      }
    } finally {
      this.running = null
    }
  }

  private async execute(block: Block): Promise<void> {
    const { app, metrics } = this.components
    if (block.height <= app.height()) return
    const { txs } = await app.commit(block)
    const now = this.components.now()
    metrics?.onCommit(1, txs, Math.max(0, now - block.time * 1000), block.height)
    metrics?.setMempoolSize(app.mempoolSize())
    this.lastCommitAt = now
    this.components.onCommitted?.([block])
    // the ledger keeps its own blocks; a noop app has only these records, so they stay
    if (app.kind === 'ledger' && block.height % 1000 === 0) await this.components.store.pruneBelow(block.height - 5000)
    this.components.logger.debug({ height: block.height, txs }, 'committed')
    if (app.mempoolSize() > 0) this.components.onCommandsLeft()
  }
}
