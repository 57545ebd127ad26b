// LedgerApp's recent history: the states of the last RETAINED_HEIGHTS heights (snapshots), the roots behind
// checkpoint verification, and the roots refilled from the ChainStore after a restart.
import { describe, expect, it } from 'vitest'
import { MAX_CHECKPOINT_LAG_BLOCKS, StateKey, type CheckpointRecord } from '../../ledger/index.ts'
import { RETAINED_HEIGHTS } from '../../node/app.ts'
import { AppChain } from './ledger-app-fixture.ts'

describe('LedgerApp snapshots and checkpoint roots', () => {
  it('retains the committed states of the last RETAINED_HEIGHTS heights, each with the root the store recorded', async () => {
    expect(RETAINED_HEIGHTS).toBe(MAX_CHECKPOINT_LAG_BLOCKS)
    const chain = await AppChain.open()
    expect(chain.app.retainedSnapshots()).toEqual({ from: 0, to: 0 })
    expect(chain.app.snapshotAt(0)?.root).toEqual(chain.app.state.root)
    await chain.advanceTo(RETAINED_HEIGHTS + 5)
    const head = chain.height
    const from = head - RETAINED_HEIGHTS + 1
    expect(chain.app.retainedSnapshots()).toEqual({ from, to: head })
    expect(chain.app.snapshotAt(from - 1)).toBeUndefined()
    expect(chain.app.snapshotAt(head + 1)).toBeUndefined()
    expect(chain.app.snapshotAt(head)).toBe(chain.app.state)
    for (const h of [from, from + 1, head - 1]) {
      const s = chain.app.snapshotAt(h)!
      expect([h, s.height]).toEqual([h, h])
      expect(s.root).toEqual((await chain.store.commitAt(h))!.stateRoot)
      expect(s.getRaw(StateKey.member(`filler-${h}`))).toBeDefined()
      expect(s.getRaw(StateKey.member(`filler-${h + 1}`))).toBeUndefined()
    }
  })

  it('anchors a checkpoint of an older committed state through LedgerApp.commit', async () => {
    const chain = await AppChain.open()
    const resultHeight = await chain.resultedRound()
    await chain.advanceTo(resultHeight + 6)
    const snap = chain.app.snapshotAt(resultHeight + 2)!
    expect(snap.root).not.toEqual(chain.app.state.root)
    const [receipt] = await chain.commit(chain.tx('coord', 'checkpoint', chain.checkpointBody(snap.height, snap.root)))
    expect([receipt?.code, receipt?.message]).toEqual(['OK', ''])
    expect(chain.app.state.get<CheckpointRecord>(StateKey.checkpointLatest)).toMatchObject({ height: resultHeight + 2, stateRoot: snap.root })
  })

  it('after a restart refills the roots from the store, so an older checkpoint verifies as on a validator that kept running', async () => {
    const running = await AppChain.open()
    const resultHeight = await running.resultedRound()
    await running.advanceTo(resultHeight + 6)
    const head = running.height
    // its store, reopened: a restarted validator (a copy, so both can go on)
    const restarted = await AppChain.open(await running.copyOfStore(), running.time)
    expect(restarted.height).toBe(head)
    expect(restarted.app.retainedSnapshots()).toEqual({ from: head, to: head }) // states are not reloaded, roots are
    expect(restarted.app.snapshotAt(head - 1)).toBeUndefined()
    expect(restarted.app.snapshotAt(head)?.root).toEqual(running.app.state.root)

    const snap = running.app.snapshotAt(resultHeight + 1)!
    const tx = running.tx('coord', 'checkpoint', running.checkpointBody(snap.height, snap.root))
    // both execute the same next block: the outcome must be identical
    const [onRunning] = await running.commit(tx)
    const [onRestarted] = await restarted.commit(tx)
    expect(onRunning?.code).toBe('OK')
    expect(onRestarted).toEqual(onRunning)
    expect(restarted.app.state.root).toEqual(running.app.state.root)
    expect(restarted.app.retainedSnapshots()).toEqual({ from: head, to: head + 1 })
  })
})
