// A leader that timed out of its view before it had anything to propose still proposes
// when commands reach it (only it may have them: a noop chain's commands stay where they
// were submitted), under the safety record of its timeout; and never before that record.
import { describe, expect, it } from 'vitest'
import { FifoMempool, genesisQC, makeGenesis, Replica, type Output, type Timeout } from '../../consensus/index.ts'
import { simScheme, simSecrets, simSigner } from './sim/sim-scheme.ts'

describe('a leader that has timed out of its view', () => {
  const n = 7 // f = 2: f + 1 = 3 timeouts make it join, 5 form a TC
  const secrets = simSecrets(n, 9)
  const scheme = simScheme(secrets)
  const genesis = makeGenesis(0, n)
  const gqc = genesisQC(genesis)
  const timeout = (voter: number): Timeout => ({ kind: 'timeout', epoch: 0, view: 1, highQC: gqc, tc: null, voter, signature: simSigner(voter, secrets[voter]!).sign(new Uint8Array([voter])) })

  it('still broadcasts its proposal when commands arrive, and only after the timeout it is covered by was persisted', () => {
    const mempool = new FifoMempool()
    // validator 1 leads view 1 (round-robin); nothing to propose yet
    const leader = new Replica(1, { scheme, signer: simSigner(1, secrets[1]!), mempool }, { epoch: 0, genesis, leaderElection: 'round-robin' })
    const outs: Output[] = [...leader.handle({ type: 'start', nowMs: 0 })]
    expect(outs.some((o) => o.type === 'broadcast')).toBe(false)
    // three others give up on view 1: the leader joins them (its timeout, persisted first), but no TC forms
    for (const v of [2, 3, 4]) outs.push(...leader.handle({ type: 'message', from: v, message: timeout(v), nowMs: 10 }))
    const persisted = outs.findIndex((o) => o.type === 'persist-safety' && o.state.lastTimeoutView === 1)
    const own = outs.findIndex((o) => o.type === 'broadcast' && o.message.kind === 'timeout')
    expect(persisted).toBeGreaterThanOrEqual(0)
    expect(own).toBeGreaterThan(persisted)
    expect(leader.view).toBe(1)
    // a client's command reaches the leader alone
    mempool.add(new TextEncoder().encode('a command'))
    const later = leader.handle({ type: 'commands-available', nowMs: 20 })
    const proposal = later.find((o) => o.type === 'broadcast' && o.message.kind === 'proposal')
    expect(proposal).toBeDefined()
    // its own vote is refused (S2): no vote leaves, and no second safety write is needed
    expect(later.some((o) => o.type === 'send' && o.message.kind === 'vote')).toBe(false)
    expect(leader.safetyState.lastTimeoutView).toBe(1)
    // and it proposes only once in the view
    expect(leader.handle({ type: 'commands-available', nowMs: 30 }).some((o) => o.type === 'broadcast' && o.message.kind === 'proposal')).toBe(false)
  })
})
