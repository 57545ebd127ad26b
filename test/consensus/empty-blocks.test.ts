// emptyBlockIntervalMs: an idle chain keeps producing (empty) blocks about once per
// interval, so the ledger's deadline heights are reached without traffic; without the
// option the same idle chain stops once its commands are committed.
import { describe, expect, it } from 'vitest'
import { blockId, proposalMessage, type EpochOutput } from '../../consensus/index.ts'
import { simulate, type Behaviour } from './sim/simulator.ts'

const base = { n: 4, gst: 0, delay: [2, 10] as [number, number], commands: 3, injectUntil: 100, expectLiveness: true }

describe('empty blocks on an idle chain', () => {
  it('without the option, heights stop once the commands are committed', () => {
    const r = simulate({ ...base, seed: 1, duration: 20_000 })
    expect(r.violations).toEqual([])
    // 3 commands in at most a few blocks, plus the empty blocks that commit them
    expect(Math.max(...r.committedHeight)).toBeLessThan(10)
  })

  it('with a 1 s interval, heights keep advancing about once per second, safely', () => {
    const r = simulate({ ...base, seed: 2, duration: 20_000, emptyBlockIntervalMs: 1_000 })
    expect(r.violations).toEqual([])
    const h = Math.min(...r.committedHeight)
    // block times are whole seconds, so "1 s since the parent" means the next second boundary:
    // about one block per second (20 s → ~20), the last three not yet committed
    expect(h).toBeGreaterThanOrEqual(15)
    expect(h).toBeLessThanOrEqual(30)
    // the empty blocks add no view timeouts to those of the command phase
    expect(r.timedOutViews).toBeLessThanOrEqual(simulate({ ...base, seed: 2, duration: 20_000 }).timedOutViews)
  })

  it('keeps advancing with a crashed validator (its views time out and are skipped)', () => {
    const r = simulate({ ...base, seed: 3, duration: 30_000, emptyBlockIntervalMs: 1_000, crashes: [{ replica: 1, at: 500 }] })
    expect(r.violations).toEqual([])
    const live = r.committedHeight.filter((_, i) => i !== 1)
    expect(Math.min(...live)).toBeGreaterThanOrEqual(6)
  })
})

/** As leader, stamps its blocks an hour ahead (re-signed with its own key). */
const clockAhead: Behaviour = (ctx, outputs) =>
  outputs.map((o): EpochOutput => {
    if (o.type !== 'broadcast' || o.message.kind !== 'proposal') return o
    const block = { ...o.message.block, timeSec: o.message.block.timeSec + 3_600 }
    return { ...o, message: { ...o.message, block, signature: ctx.sign(proposalMessage(block.epoch, blockId(block))) } }
  })

describe('block times from the future', () => {
  it('are not voted for: a leader whose clock is an hour ahead cannot push block time away and stall the empty blocks', () => {
    const r = simulate({ ...base, seed: 4, duration: 30_000, emptyBlockIntervalMs: 1_000, leaderElection: 'round-robin', byzantine: { 3: clockAhead } })
    expect(r.violations).toEqual([])
    const honest = r.committedHeight.slice(0, 3)
    // without the rule one certified future block would hold every honest leader's empty blocks back for an hour
    expect(Math.min(...honest)).toBeGreaterThanOrEqual(15)
  })
})

/** A leader that stamps its blocks with the epoch's start: the time the ledger judges evidence and deadlines at would go back. */
const backDating: Behaviour = (ctx, outputs) =>
  outputs.map((o): EpochOutput => {
    if (o.type !== 'broadcast' || o.message.kind !== 'proposal') return o
    const block = { ...o.message.block, timeSec: 0 }
    return { ...o, message: { ...o.message, block, signature: ctx.sign(proposalMessage(block.epoch, blockId(block))) } }
  })

describe('back-dated block times', () => {
  it('are not voted for: block time never goes backwards on the committed chain, and the chain goes on', () => {
    const r = simulate({ ...base, seed: 5, duration: 30_000, emptyBlockIntervalMs: 1_000, leaderElection: 'round-robin', byzantine: { 3: backDating } })
    // the simulator's invariant: no honest replica commits a block older than its parent
    expect(r.violations).toEqual([])
    expect(Math.min(...r.committedHeight.slice(0, 3))).toBeGreaterThanOrEqual(15)
  })
})
