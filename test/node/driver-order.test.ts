// The order in which ConsensusDriver carries out the core's outputs: a committed block
// is recorded where the core emitted it, but executed only after the vote and the
// proposal of the same input have left (block execution off a view's critical path),
// and before the next input; an epoch-end executes what is pending first.
import { describe, expect, it } from 'vitest'
import type { Block, EpochOutput, Epochs } from '../../consensus/index.ts'
import type { App } from '../../node/app.ts'
import type { ConsensusStore } from '../../node/consensus-store.ts'
import { ConsensusDriver } from '../../node/driver.ts'
import { silentLogger } from '../../node/index.ts'
import type { P2PHost } from '../../node/p2p/index.ts'

const block = (height: number) => ({ height, timeSec: 0, payload: [] }) as unknown as Block
const vote = { kind: 'vote' } as unknown as EpochOutput extends { message: infer M } ? M : never

/** Runs one input whose outputs are `outputs` through a driver over recording fakes; returns what happened, in order. */
async function carryOut(outputs: EpochOutput[]): Promise<string[]> {
  const events: string[] = []
  let height = 0
  let given = false
  const epochs = {
    // the first input (start) gets `outputs`; any later one (the next epoch's start) nothing
    handle: () => (given ? [] : ((given = true), outputs)),
    get replica() {
      return null
    },
    setup: { validators: [] },
  } as unknown as Epochs
  const store = {
    saveSafety: async () => void events.push('persist safety'),
    saveBlocks: async (blocks: Block[]) => void events.push(`record ${blocks.map((b) => b.height).join(',')}`),
    saveEpoch: async () => void events.push('save epoch'),
    pruneBelow: async () => {},
  } as unknown as ConsensusStore
  const app = {
    kind: 'noop',
    height: () => height,
    commit: async (b: Block) => {
      await new Promise((r) => setTimeout(r, 5)) // execution takes a while
      height = b.height
      events.push(`execute ${b.height}`)
      return { txs: 0 }
    },
    mempoolSize: () => 0,
    validators: () => [],
    lastHeight: () => Number.POSITIVE_INFINITY,
    proveValidators: () => undefined,
  } as unknown as App
  const host = {
    subscribe: () => () => {},
    handle: () => () => {},
    publish: async () => void events.push('broadcast'),
    send: async () => void events.push('send vote'),
    penalise: () => {},
  } as unknown as P2PHost
  const driver = new ConsensusDriver({ epochs, store, app, host, peerIdOf: (v) => v.id, logger: silentLogger, now: () => 0, onFatal: (e) => events.push(`fatal ${String(e)}`) }, { chainId: 'order-test' })
  await driver.start() // the start input's outputs are `outputs`
  await driver.stop()
  return events
}

describe('ConsensusDriver output order', () => {
  it('records a committed block where the core emitted it, and executes it after the vote of the same input has left', async () => {
    // what a replica emits on a proposal whose QC commits ancestors: the commits, then its vote
    const outputs: EpochOutput[] = [
      { type: 'commit', blocks: [block(7)] },
      { type: 'persist-safety', state: {} as never, blocks: [] },
      { type: 'send', to: 'next-leader', message: vote },
      { type: 'commit', blocks: [block(8)] },
    ]
    expect(await carryOut(outputs)).toEqual(['record 7', 'persist safety', 'send vote', 'record 8', 'execute 7', 'execute 8'])
  })

  it('executes what is pending before an epoch ends (the next set is read from the executed state)', async () => {
    const outputs: EpochOutput[] = [
      { type: 'commit', blocks: [block(1)] },
      { type: 'send', to: 'next-leader', message: vote },
      { type: 'epoch-end', epoch: 0, block: block(1), proof: {} as never },
    ]
    const events = await carryOut(outputs)
    expect(events.slice(0, 3)).toEqual(['record 1', 'send vote', 'execute 1'])
    expect(events.indexOf('execute 1')).toBeLessThan(events.findIndex((e) => e === 'save epoch' || e.startsWith('fatal')))
  })
})
