// A leader's restart: its vote on its own proposal is persisted before the proposal leaves,
// and after a restart it neither proposes again in that view nor starts below its highest QC.
import { describe, expect, it } from 'vitest'
import { FifoMempool, makeGenesis, Replica, type Block, type Output, type SafetyState } from '../../consensus/index.ts'
import { simScheme, simSecrets, simSigner } from './sim/sim-scheme.ts'

describe('leader restart', () => {
  const secrets = simSecrets(4, 5)
  const scheme = simScheme(secrets)
  const genesis = makeGenesis(0, 4)
  /** validator 1, the round-robin leader of view 1, with one command to propose */
  const replica = (safety?: SafetyState, pending?: Block[]) => {
    const mempool = new FifoMempool()
    mempool.add(new TextEncoder().encode('a command'))
    return new Replica(1, { scheme, signer: simSigner(1, secrets[1]!), mempool }, { epoch: 0, genesis, leaderElection: 'round-robin', safety, pending })
  }

  it('persists the vote on its own block before broadcasting the proposal, and never proposes twice in a view', () => {
    const outs: Output[] = replica().handle({ type: 'start', nowMs: 0 })
    const persist = outs.findIndex((o) => o.type === 'persist-safety')
    const proposal = outs.findIndex((o) => o.type === 'broadcast' && o.message.kind === 'proposal')
    expect(persist).toBeGreaterThanOrEqual(0)
    expect(proposal).toBeGreaterThan(persist)
    const saved = outs[persist] as Extract<Output, { type: 'persist-safety' }>
    expect(saved.blocks.map((b) => b.view)).toEqual([1]) // its own block is persisted with the vote
    // crash after the safety write: the restarted leader is in view 1 again but proposes nothing new
    const again = replica(saved.state, saved.blocks)
    const outs2 = again.handle({ type: 'start', nowMs: 10 })
    expect(outs2.some((o) => o.type === 'broadcast' && o.message.kind === 'proposal')).toBe(false)
    expect(again.view).toBe(1)
  })
})
