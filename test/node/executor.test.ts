// The block executor: committed blocks run in height order beside the consensus queue;
// while they wait, proposals must not take their commands again; a stop leaves the rest
// recorded for the next start; a block the app refuses stops the node.
import { describe, expect, it } from 'vitest'
import { FifoMempool, type Block } from '../../consensus/index.ts'
import type { App } from '../../node/app.ts'
import type { ConsensusStore } from '../../node/consensus-store.ts'
import { BlockExecutor } from '../../node/executor.ts'
import { silentLogger } from '../../node/index.ts'

const cmd = (s: string) => new TextEncoder().encode(s)
const block = (height: number, payload: Uint8Array[] = []) => ({ height, time: 0, payload }) as unknown as Block

/** An app whose executions wait for `gate()` each; it drops executed commands from `pool`. */
function fixture(pool: FifoMempool, opts: { refuse?: number } = {}) {
  let height = 0
  const executed: number[] = []
  const fatal: unknown[] = []
  const gates: Array<() => void> = []
  const app = {
    kind: 'noop',
    mempool: pool,
    height: () => height,
    commit: async (b: Block) => {
      await new Promise<void>((r) => gates.push(r))
      if (b.height === opts.refuse) throw new Error(`refused block ${b.height}`)
      height = b.height
      executed.push(b.height)
      pool.removeCommitted([b])
      return { txs: b.payload.length }
    },
    mempoolSize: () => pool.size(),
  } as unknown as App
  const store = { pruneBelow: async () => {} } as unknown as ConsensusStore
  const executor = new BlockExecutor({ app, store, logger: silentLogger, now: () => 0, onCommandsLeft: () => {}, onFatal: (e) => fatal.push(e) })
  /** lets the block in hand finish executing */
  const step = async () => {
    await until(() => gates.length > 0)
    gates.shift()!()
    await new Promise((r) => setTimeout(r, 1))
  }
  return { executor, executed, fatal, step, inHand: () => gates.length > 0, view: executor.mempoolView(pool) }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2))
  if (!cond()) throw new Error('condition not reached in 1 s')
}

describe('BlockExecutor', () => {
  it('keeps the commands of committed, unexecuted blocks out of proposals until they are executed', async () => {
    const pool = new FifoMempool()
    for (const c of ['a', 'b', 'c', 'd']) pool.add(cmd(c))
    const { executor, step, view, executed } = fixture(pool)
    executor.push([block(1, [cmd('a'), cmd('b')]), block(2, [cmd('c')])])
    // the pool still holds a, b and c (the app prunes it when it executes them)
    expect(pool.size()).toBe(4)
    expect(view.take(10, 1 << 20, new Set()).map((c) => new TextDecoder().decode(c))).toEqual(['d'])
    expect(view.size()).toBe(1)
    await step()
    expect(executed).toEqual([1])
    expect(view.take(10, 1 << 20, new Set()).map((c) => new TextDecoder().decode(c))).toEqual(['d'])
    await step()
    await executor.drain()
    expect(executed).toEqual([1, 2])
    // the caller's own exclusions still apply
    expect(view.take(10, 1 << 20, new Set(['x'])).length).toBe(1)
    expect(view.size()).toBe(1)
  })

  it('executes in height order, and skips blocks it was given already', async () => {
    const pool = new FifoMempool()
    const { executor, step, executed } = fixture(pool)
    executor.push([block(1), block(2)])
    executor.push([block(2), block(3)])
    for (let i = 0; i < 3; i++) await step()
    await executor.drain()
    expect(executed).toEqual([1, 2, 3])
  })

  it('stops after the block in hand; the rest stays for the next start', async () => {
    const pool = new FifoMempool()
    const { executor, step, executed, inHand } = fixture(pool)
    executor.push([block(1), block(2), block(3)])
    await until(inHand)
    const stopped = executor.stop()
    await step()
    await stopped
    expect(executed).toEqual([1])
    // blocks 2 and 3 stay recorded, unexecuted; nothing more is taken
    expect(executor.backlog).toBe(2)
    executor.push([block(4)])
    expect(executor.backlog).toBe(2)
  })

  it('reports a block the app refuses as fatal and executes nothing after it', async () => {
    const pool = new FifoMempool()
    const { executor, step, executed, fatal } = fixture(pool, { refuse: 2 })
    executor.push([block(1), block(2), block(3)])
    await step()
    await step()
    await executor.drain()
    expect(executed).toEqual([1])
    expect(String(fatal[0])).toMatch(/refused block 2/)
  })
})
