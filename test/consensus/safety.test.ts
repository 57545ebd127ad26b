// The safety rules (consensus/safety.ts), condition by condition.
import { describe, expect, it } from 'vitest'
import { blockId, genesisQC, isFresh, makeGenesis, release, SafetyError, SafetyRules, type Block, type QuorumCertificate, type SafetyState, type Signed, type Timeout, type Vote } from '../../consensus/index.ts'
import { simSecrets, simSigner } from './sim/sim-scheme.ts'

const genesis = makeGenesis(0, 4)
const gqc = genesisQC(genesis)
const signer = simSigner(1, simSecrets(4)[1]!)
const fresh = (): SafetyState => ({ epoch: 0, lastVotedView: 0, lastVote: null, lastTimeoutView: 0, lastTimeout: null, lockedQC: gqc })

function block(view: number, parent: Block, justify: QuorumCertificate, tag = ''): Block {
  return { epoch: 0, view, height: parent.height + 1, parent: blockId(parent), justify, proposer: view % 4, timeSec: 0, payload: tag ? [new TextEncoder().encode(tag)] : [] }
}
/** Opens a signed vote or timeout; returns it with the records handed over to persist (none for a stored one). */
function opened<M extends Vote | Timeout>(signed: Signed<M>): { message: M; persisted: SafetyState[] } {
  const persisted: SafetyState[] = []
  const message = release(signed, (record) => persisted.push(record))
  return { message, persisted }
}
const qcFor = (b: Block): QuorumCertificate => ({ epoch: 0, view: b.view, block: blockId(b), height: b.height, votes: { signers: new Uint8Array(1), signature: new Uint8Array(0) } })

describe('SafetyRules', () => {
  it('S1: votes once per view, never backwards; re-asking returns the stored vote', () => {
    const s = new SafetyRules(fresh(), signer)
    const b2 = block(2, genesis, gqc)
    const first = s.voteFor(b2, true)
    if (!first.ok) throw first.error
    expect(isFresh(first.signed)).toBe(true)
    const vote = opened(first.signed)
    // a fresh vote comes with the record that says so, to persist before it leaves
    expect(vote.persisted).toEqual([s.state])
    expect(vote.persisted[0]).toMatchObject({ lastVotedView: 2, lastVote: vote.message })
    const again = s.voteFor(b2, true)
    if (!again.ok) throw again.error
    expect(isFresh(again.signed)).toBe(false)
    const stored = opened(again.signed)
    expect(stored.message).toBe(vote.message)
    expect(stored.persisted).toEqual([])
    expect(s.voteFor(block(2, genesis, gqc, 'conflicting'), true)).toMatchObject({ ok: false, error: { code: 'ALREADY_VOTED', message: expect.stringMatching(/^S1/) } })
    expect(s.voteFor(block(1, genesis, gqc), true)).toMatchObject({ ok: false, error: { code: 'ALREADY_VOTED' } })
    expect(s.state.lastVotedView).toBe(2)
  })

  it('S2: no vote in a view it timed out in', () => {
    const s = new SafetyRules(fresh(), signer)
    const t = s.timeoutFor(0, 3, gqc)
    expect(t.ok && isFresh(t.signed)).toBe(true)
    expect(s.voteFor(block(3, genesis, gqc), true)).toMatchObject({ ok: false, error: { code: 'TIMED_OUT', message: expect.stringMatching(/^S2/) } })
    expect(s.voteFor(block(4, genesis, gqc), true)).toMatchObject({ ok: true })
  })

  it('S3: votes for a block off the locked branch only with a justify newer than the lock', () => {
    const b1 = block(1, genesis, gqc)
    const lock = qcFor(b1)
    const s = new SafetyRules({ ...fresh(), lockedQC: lock }, signer)
    const fork = block(5, genesis, gqc, 'fork') // does not extend b1, justify view 0 < 1
    expect(s.voteFor(fork, false)).toMatchObject({ ok: false, error: { code: 'NOT_SAFE', message: expect.stringMatching(/^S3/) } })
    const other = block(2, genesis, gqc, 'other')
    const forkWithNewerQC = block(6, other, qcFor(other)) // justify view 2 > lock view 1
    expect(s.voteFor(forkWithNewerQC, false)).toMatchObject({ ok: true })
  })

  it('locks only forwards', () => {
    const b1 = block(1, genesis, gqc)
    const b2 = block(2, b1, qcFor(b1))
    const s = new SafetyRules(fresh(), signer)
    expect(s.observeTwoChain(qcFor(b2))).toBe(true)
    expect(s.observeTwoChain(qcFor(b1))).toBe(false)
    expect(s.lockedQC.view).toBe(2)
  })

  it('T1: timeouts only forwards; re-asking returns the stored timeout', () => {
    const s = new SafetyRules(fresh(), signer)
    const t = s.timeoutFor(0, 5, gqc)
    if (!t.ok) throw t.error
    const first = opened(t.signed)
    expect(first.persisted).toEqual([s.state])
    expect(first.persisted[0]).toMatchObject({ lastTimeoutView: 5, lastTimeout: first.message })
    const again = s.timeoutFor(0, 5, gqc)
    if (!again.ok) throw again.error
    expect(opened(again.signed)).toEqual({ message: first.message, persisted: [] })
    const behind = s.timeoutFor(0, 4, gqc)
    expect(behind).toMatchObject({ ok: false, error: { code: 'BEHIND', message: expect.stringMatching(/^T1/) } })
    expect(!behind.ok && behind.error).toBeInstanceOf(SafetyError)
  })

  it('a restarted replica with the persisted state never signs a second vote in a view', () => {
    const s = new SafetyRules(fresh(), signer)
    s.voteFor(block(3, genesis, gqc, 'a'), true)
    const restarted = new SafetyRules(s.state, signer)
    expect(restarted.voteFor(block(3, genesis, gqc, 'b'), true)).toMatchObject({ ok: false })
  })
})
