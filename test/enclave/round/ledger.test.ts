// The pipeline's outcome, submitted as round.result on a ledger TestChain, is accepted:
// it accounts for exactly the committed set, respects m and echoes the round's DP parameters.
import { describe, expect, it } from 'vitest'
import { aggregateRound, MULTI_KRUM, NO_UPDATE, REVOKED, type AggregatedRound } from '../../../enclave/round/index.ts'
import { UpdateRejectionCode } from '../../../enclave/updates/index.ts'
import { seededRandom } from '../../../enclave/noise/index.ts'
import { StateKey, UNOPENED_EXCLUSIONS, type BudgetRecord, type CommitRecord, type RoundRecord } from '../../../ledger/index.ts'
import { CHAIN, codes, defaultGenesis, keysFor, modelCid, TestChain, testEvidence } from '../../ledger/harness.ts'
import { DIM, farAway, honest, memberId, newRoundKey, seal, sealLiar, type Submission } from './fixtures.ts'

const MEMBERS = Array.from({ length: 10 }, (_, i) => memberId(i))

function chainWithMembers(): TestChain {
  const g = defaultGenesis()
  g.members = [...g.members.filter((m) => !m.roles.includes('participant')), ...MEMBERS.map((id) => ({ id, org: `${id} org`, roles: ['participant' as const], publicKey: keysFor(id).publicKey }))]
  g.budgets = MEMBERS.map((member) => ({ member, epsilon: 8, delta: 1e-5 }))
  return new TestChain(g)
}

describe('aggregateRound against the ledger', () => {
  it('produces a round.result the ledger accepts', () => {
    const c = chainWithMembers()
    const roundKey = newRoundKey()
    const training = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }
    const open = { round: 'r1', baseModel: modelCid('model-0'), training, aggregation: { rule: 'multi-krum' as const, f: 2, m: 5 }, eligible: MEMBERS, deadline: c.state.height + 20, enclave: 'enclave-1' }
    expect(codes(c.exec(c.tx('coord', 'round.open', open)))).toEqual(['OK'])
    const attestation = testEvidence({ keys: [roundKey.publicKey, keysFor('enclave-1').publicKey], for: ['enclave.round-key', 'r1'], genesis: c.state.get<Uint8Array>(StateKey.genesis)! })
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', { round: 'r1', publicKey: roundKey.publicKey, attestation })))).toEqual(['OK'])

    // 7 honest, one liar about its norm, one far-away update, one member whose envelope never arrives
    const subs: Submission[] = MEMBERS.map((id, i) => {
      if (i === 3) return sealLiar(roundKey, 'r1', id, honest(i).map((x) => x * 10), 0.9)
      if (i === 6) return seal(roundKey, 'r1', id, farAway(i))
      return seal(roundKey, 'r1', id, honest(i + 1))
    })
    // commit in an order other than the ids', in two blocks
    const order = [5, 2, 9, 0, 7, 3, 1, 8, 6, 4]
    const txs = order.map((i) => { const s = subs[i]!; return c.tx(s.member, 'round.commit', { round: 'r1', ciphertext: s.ciphertext, statement: s.statement, statementSig: s.statementSig }) })
    expect(codes(c.exec(...txs.slice(0, 5)))).toEqual(Array(5).fill('OK'))
    expect(codes(c.exec(...txs.slice(5)))).toEqual(Array(5).fill('OK'))

    const round = c.get<RoundRecord>(StateKey.round('r1'))!
    const commits = MEMBERS.map((id) => c.get<CommitRecord>(StateKey.commit('r1', id))!).sort((a, b) => a.seq - b.seq)
    expect(commits.map((x) => x.member)).toEqual(order.map((i) => memberId(i)))
    const envelopes = new Map(subs.filter((_, i) => i !== 8).map((s) => [s.member, s.envelope]))
    const outcome = aggregateRound(
      { chain: CHAIN, round, dimension: DIM, commits, envelopes, memberKeys: new Map(MEMBERS.map((id) => [id, keysFor(id).publicKey])), roundSecretKey: roundKey.secretKey, scale: 2 ** 16 },
      seededRandom('ledger'),
    )
    expect(outcome.kind).toBe('aggregated')
    const o = outcome as AggregatedRound
    const why = Object.fromEntries(o.excluded.map((e) => [e.member, e.reason]))
    expect(why).toMatchObject({ [memberId(3)]: 'NORM_ABOVE_BOUND', [memberId(6)]: 'MULTI_KRUM', [memberId(8)]: 'NO_UPDATE' })
    expect(o.included).toHaveLength(5) // min(m = 5, 8 valid − f)

    c.advanceTo(round.deadline + 1)
    const body = { round: 'r1', model: modelCid('model-1'), included: o.included, excluded: o.excluded, dp: o.dp, aggregation: { f: 2, m: o.m, centralNoiseMultiplier: o.centralNoiseMultiplier }, transcriptHash: o.transcriptHash }
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', body)))).toEqual(['OK'])
    const after = c.get<RoundRecord>(StateKey.round('r1'))!
    expect(after.status).toBe('resulted')
    expect(after.result!.transcriptHash).toEqual(o.transcriptHash)
    // charged: the included, and the excluded whose update the enclave opened (the norm cheat, the poisoner); not the one that sent nothing
    for (const id of MEMBERS) {
      const spent = c.get<BudgetRecord>(StateKey.budget(id))!.epsilonSpent
      if (id === memberId(8)) expect(spent).toBe(0)
      else expect(spent).toBeGreaterThan(0)
    }
  })
})

describe('which excluded members the ledger charges', () => {
  it('every exclusion reason the enclave gives is classified: never opened (not charged) or opened (charged)', () => {
    // the checks before decryption (enclave/updates/check.ts steps 1–3 and 6), a missing update, and a member the ledger revoked
    const neverOpened = ['NO_UPDATE', 'NOT_COMMITTED', 'WRONG_ROUND', 'WRONG_MEMBER', 'BAD_STATEMENT_SIGNATURE', 'MALFORMED', 'DECRYPT_FAILED', 'REVOKED']
    const all = [...Object.values(UpdateRejectionCode), NO_UPDATE, MULTI_KRUM, REVOKED]
    expect([...UNOPENED_EXCLUSIONS].sort()).toEqual(neverOpened.sort())
    for (const code of neverOpened) expect(all).toContain(code)
    // a new reason lands in the charged group unless the ledger's list names it
    expect(all.filter((c) => !UNOPENED_EXCLUSIONS.has(c)).sort()).toEqual(['HASH_MISMATCH', 'MULTI_KRUM', 'NORM_ABOVE_BOUND', 'NORM_MISMATCH', 'NOT_FINITE', 'WRONG_LENGTH'])
  })
})
