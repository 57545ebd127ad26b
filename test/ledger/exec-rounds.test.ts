// The round lifecycle (docs/ARCHITECTURE.md §2): open, round key, commits, result, close; budgets; re-aggregation; checkpoints.
import { describe, expect, it } from 'vitest'
import { computeEpsilon, genesisState, StateKey, type BudgetRecord, type CheckpointRecord, type CommitRecord, type RoundRecord, type TxBody } from '../../ledger/index.ts'
import { DomainTag, sha256, signPayload } from '../../primitives/index.ts'
import { codes, defaultGenesis, keysFor, MEASUREMENT, modelCid, PARTICIPANTS, TestChain, testEvidence } from './harness.ts'

const training = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }
const roundKey = keysFor('round-key-r1').publicKey // an x25519 key in reality; any 32 bytes for the ledger

async function openBody(over: Partial<TxBody<'round.open'>> = {}, c?: TestChain): Promise<TxBody<'round.open'>> {
  return {
    round: 'r1',
    baseModel: modelCid('model-0'),
    training,
    aggregation: { rule: 'multi-krum', f: 1, m: 4 },
    eligible: PARTICIPANTS,
    deadline: (c?.state.height ?? 0) + 20,
    enclave: 'enclave-1',
    ...over,
  }
}

/** enclave.round-key's body with evidence for `round`, binding `keys` and the genesis hash of the chain (default: defaultGenesis()'s). */
function keyBody(round = 'r1', keys: Uint8Array[] = [roundKey, keysFor('enclave-1').publicKey], genesis?: Uint8Array) {
  return { round, publicKey: roundKey, attestation: testEvidence({ keys, for: ['enclave.round-key', round], ...(genesis === undefined ? {} : { genesis }) }) }
}

function commitBody(c: TestChain, member: string, round = 'r1', norm = 0.9) {
  return { round, ciphertext: modelCid(`${round}/${member}`), ...c.statement(round, member, norm) }
}

async function resultBody(included: string[], excluded: Array<{ member: string; reason: string }>, over: Partial<TxBody<'round.result'>> = {}): Promise<TxBody<'round.result'>> {
  return {
    round: 'r1',
    model: modelCid('model-1'),
    included,
    excluded,
    dp: { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, steps: 100 },
    aggregation: { f: 1, m: Math.max(1, included.length), centralNoiseMultiplier: 1.1 },
    transcriptHash: sha256(new TextEncoder().encode('transcript')),
    ...over,
  }
}

/** A chain with round r1 open and keyed, and the first four participants committed. */
async function keyedRound(): Promise<TestChain> {
  const c = new TestChain()
  expect(codes(c.exec(c.tx('coord', 'round.open', await openBody({}, c))))).toEqual(['OK'])
  expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody())))).toEqual(['OK'])
  expect(codes(c.exec(...PARTICIPANTS.slice(0, 4).map((p) => c.tx(p, 'round.commit', commitBody(c, p)))))).toEqual(['OK', 'OK', 'OK', 'OK'])
  return c
}

const round = (c: TestChain, id = 'r1') => c.get<RoundRecord>(StateKey.round(id))!
const budget = (c: TestChain, id: string) => c.get<BudgetRecord>(StateKey.budget(id))!

describe('round.open', () => {
  it('opens a round, reserving every eligible member budget', async () => {
    const c = new TestChain()
    expect(codes(c.exec(c.tx('coord', 'round.open', await openBody({}, c))))).toEqual(['OK'])
    expect(round(c)).toMatchObject({ status: 'open', steps: 100, coordinator: 'coord', commitCount: 0 })
    expect(budget(c, 'bank-a').reservations).toEqual(['r1'])
  })

  it('refuses bad openers and configurations with typed codes', async () => {
    const c = new TestChain(defaultGenesis({ enclaves: [{ id: 'enclave-1', platform: 'sim', measurement: MEASUREMENT, publicKey: keysFor('enclave-1').publicKey }] }))
    c.exec(c.tx('gov-1', 'member.register', { id: 'bank-z', org: 'z', roles: ['participant'], publicKey: keysFor('bank-z').publicKey }))
    const cases: Array<[string, Partial<TxBody<'round.open'>>, string]> = [
      ['bank-a', {}, 'FORBIDDEN_ROLE'],
      ['coord', { deadline: 1 }, 'INVALID_CONFIG'],
      ['coord', { deadline: 20_000 }, 'INVALID_CONFIG'], // beyond the chain's maxRoundBlocks: reservations could be held forever
      ['coord', { enclave: 'enclave-9' }, 'UNKNOWN_ENCLAVE'],
      ['coord', { eligible: [...PARTICIPANTS, 'ghost'] }, 'UNKNOWN_MEMBER'],
      ['coord', { eligible: [...PARTICIPANTS, 'auditor'] }, 'FORBIDDEN_ROLE'],
      ['coord', { eligible: [...PARTICIPANTS, 'bank-z'] }, 'NO_BUDGET'],
      ['coord', { eligible: ['bank-a', 'bank-a', 'bank-b', 'bank-c', 'bank-d'] }, 'INVALID_CONFIG'],
      ['coord', { aggregation: { rule: 'multi-krum', f: 2, m: 2 } }, 'INVALID_CONFIG'], // needs n > 6
      ['coord', { aggregation: { rule: 'multi-krum', f: 1, m: 7 } }, 'INVALID_CONFIG'],
      ['coord', { aggregation: { rule: 'multi-krum', f: 1, m: 6 } }, 'INVALID_CONFIG'], // m ≤ n − f = 5
      ['coord', { training: { ...training, samplingRate: 1e-9 } }, 'INVALID_CONFIG'], // 1e9 steps
    ]
    for (const [sender, over, code] of cases) {
      expect([sender, over, codes(c.exec(c.tx(sender, 'round.open', await openBody(over, c))))[0]]).toEqual([sender, over, code])
    }
    expect(codes(c.exec(c.tx('coord', 'round.open', await openBody({}, c))))).toEqual(['OK'])
    expect(codes(c.exec(c.tx('coord', 'round.open', await openBody({}, c))))).toEqual(['ALREADY_EXISTS'])
  })

  it('refuses a round whose worst-case spend does not fit a member budget, naming the member', async () => {
    const c = new TestChain()
    c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-c', epsilon: 0.05, delta: 1e-5 }))
    const r = c.exec(c.tx('coord', 'round.open', await openBody({}, c)))
    expect(codes(r)).toEqual(['OUT_OF_BUDGET'])
    expect(r[0]!.message).toMatch(/bank-c/)
    expect(budget(c, 'bank-a').reservations).toEqual([])
  })

  it('counts open rounds as reserved: concurrent rounds cannot overspend together', async () => {
    const one = computeEpsilon({ q: 0.01, sigma: 1.1, steps: 100, delta: 1e-5 }).epsilon
    const two = computeEpsilon({ q: 0.01, sigma: 1.1, steps: 200, delta: 1e-5 }).epsilon
    const cap = (one + two) / 2
    const c = new TestChain(defaultGenesis({ budgets: PARTICIPANTS.map((member) => ({ member, epsilon: cap, delta: 1e-5 })) }))
    expect(codes(c.exec(c.tx('coord', 'round.open', await openBody({}, c))))).toEqual(['OK'])
    expect(codes(c.exec(c.tx('coord', 'round.open', await openBody({ round: 'r2' }, c))))).toEqual(['OUT_OF_BUDGET'])
    expect(codes(c.exec(c.tx('coord', 'round.close', { round: 'r1' })))).toEqual(['OK']) // nobody committed: cancelled at once, releasing the reservation
    expect(round(c).status).toBe('aborted')
    expect(codes(c.exec(c.tx('coord', 'round.open', await openBody({ round: 'r2' }, c))))).toEqual(['OK'])
  })
})

describe('enclave.round-key and round.commit', () => {
  it('accepts the round key only from the assigned enclave, bound into verified evidence', async () => {
    const genesis = defaultGenesis()
    genesis.enclaves = [...(genesis.enclaves ?? []), { id: 'enclave-2', platform: 'sim', measurement: MEASUREMENT, publicKey: keysFor('enclave-2').publicKey }]
    const c = new TestChain(genesis)
    const g = genesisState(genesis).root
    c.exec(c.tx('coord', 'round.open', await openBody({}, c)))
    const e1 = keysFor('enclave-1').publicKey
    expect(codes(c.exec(c.tx('enclave-2', 'enclave.round-key', keyBody('r1', [roundKey, keysFor('enclave-2').publicKey], g))))).toEqual(['ENCLAVE_NOT_ASSIGNED'])
    expect(codes(c.exec(c.tx('bank-a', 'enclave.round-key', keyBody(undefined, undefined, g))))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody('r1', [e1], g))))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody('r1', [roundKey], g))))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', { ...keyBody(), attestation: testEvidence({ keys: [roundKey, e1], debug: true, for: ['enclave.round-key', 'r1'], genesis: g }) })))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', { ...keyBody(), attestation: testEvidence({ keys: [roundKey, e1], measurement: new Uint8Array(32), for: ['enclave.round-key', 'r1'], genesis: g }) })))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', { ...keyBody(), attestation: testEvidence({ keys: [roundKey, e1], for: ['enclave.round-key', 'r0'], genesis: g }) })))).toEqual(['ATTESTATION_REJECTED']) // evidence made for another round
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', { ...keyBody(), attestation: testEvidence({ keys: [roundKey, e1], platform: 'other', for: ['enclave.round-key', 'r1'], genesis: g }) })))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody('r9', undefined, g))))).toEqual(['UNKNOWN_ROUND'])
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody(undefined, undefined, g))))).toEqual(['OK'])
    expect(round(c)).toMatchObject({ status: 'keyed', roundKey })
    expect(codes(c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody(undefined, undefined, g))))).toEqual(['ROUND_STATE'])
  })

  it('accepts commits from eligible participants between the key and the deadline, once each', async () => {
    const c = await keyedRound()
    expect(round(c).commitCount).toBe(4)
    expect(PARTICIPANTS.slice(0, 4).map((p) => c.get<CommitRecord>(StateKey.commit('r1', p))!.seq)).toEqual([0, 1, 2, 3])
    c.exec(c.tx('gov-1', 'member.register', { id: 'bank-z', org: 'z', roles: ['participant'], publicKey: keysFor('bank-z').publicKey }))
    expect(codes(c.exec(c.tx('bank-a', 'round.commit', commitBody(c, 'bank-a'))))).toEqual(['DUPLICATE_COMMIT'])
    expect(codes(c.exec(c.tx('bank-z', 'round.commit', commitBody(c, 'bank-z'))))).toEqual(['NOT_ELIGIBLE'])
    expect(codes(c.exec(c.tx('coord', 'round.commit', { ...commitBody(c, 'bank-e') })))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('bank-e', 'round.commit', { ...commitBody(c, 'bank-e'), statementSig: new Uint8Array(64) })))).toEqual(['BAD_SIGNATURE'])
    expect(codes(c.exec(c.tx('bank-e', 'round.commit', { ...commitBody(c, 'bank-f') })))).toEqual(['BAD_ARGUMENT'])
    expect(codes(c.exec(c.tx('bank-e', 'round.commit', commitBody(c, 'bank-e', 'r1', 1.5))))).toEqual(['BAD_ARGUMENT'])
    const otherChain = { chain: 'other-chain', round: 'r1', member: 'bank-e', plaintextHash: new Uint8Array(32), declaredNorm: 0.5 }
    const signedElsewhere = { round: 'r1', ciphertext: modelCid('x'), statement: otherChain, statementSig: signPayload(keysFor('bank-e').secretKey, DomainTag.UPDATE_STATEMENT, otherChain) }
    expect(codes(c.exec(c.tx('bank-e', 'round.commit', signedElsewhere)))).toEqual(['BAD_ARGUMENT'])
    c.advanceTo(round(c).deadline)
    expect(codes(c.exec(c.tx('bank-e', 'round.commit', commitBody(c, 'bank-e'))))).toEqual(['DEADLINE_PASSED'])
  })

  it('refuses commits before the round key', async () => {
    const c = new TestChain()
    c.exec(c.tx('coord', 'round.open', await openBody({}, c)))
    expect(codes(c.exec(c.tx('bank-a', 'round.commit', commitBody(c, 'bank-a'))))).toEqual(['ROUND_STATE'])
  })
})

describe('round.result and round.close', () => {
  it('refuses a result whose Multi-Krum f, m or central noise is not the round\'s (a host cannot have had σ set to 0 unseen)', async () => {
    const c = await keyedRound() // f = 1, m = 4, training σ = 1.1 and no central σ of its own
    c.advanceTo(round(c).deadline + 1)
    const ex = [{ member: 'bank-d', reason: 'MULTI_KRUM' }]
    const body = (aggregation: { f: number; m: number; centralNoiseMultiplier: number }) => resultBody(['bank-a', 'bank-b', 'bank-c'], ex, { aggregation })
    for (const bad of [{ f: 0, m: 3, centralNoiseMultiplier: 1.1 }, { f: 1, m: 3, centralNoiseMultiplier: 0 }, { f: 1, m: 5, centralNoiseMultiplier: 1.1 }, { f: 1, m: 2, centralNoiseMultiplier: 1.1 }]) {
      expect(codes(c.exec(c.tx('enclave-1', 'round.result', await body(bad))))).toEqual(['RESULT_MISMATCH'])
    }
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await body({ f: 1, m: 3, centralNoiseMultiplier: 1.1 }))))).toEqual(['OK'])
    expect(round(c).result!.aggregation).toEqual({ f: 1, m: 3, centralNoiseMultiplier: 1.1 })
  })

  it('does not charge a member whose update the enclave never opened', async () => {
    const c = await keyedRound()
    c.advanceTo(round(c).deadline + 1)
    const body = await resultBody(['bank-a', 'bank-b'], [{ member: 'bank-c', reason: 'DECRYPT_FAILED' }, { member: 'bank-d', reason: 'NOT_FINITE' }])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', body)))).toEqual(['OK'])
    expect(budget(c, 'bank-c').epsilonSpent).toBe(0) // never decrypted
    expect(budget(c, 'bank-d').epsilonSpent).toBeGreaterThan(0) // decrypted, then excluded
    expect(budget(c, 'bank-d').epsilonSpent).toBe(budget(c, 'bank-a').epsilonSpent)
  })

  it('accepts a result matching the committed set after the deadline and charges every member whose update was opened', async () => {
    const c = await keyedRound()
    const ok = await resultBody(['bank-a', 'bank-b', 'bank-c'], [{ member: 'bank-d', reason: 'MULTI_KRUM' }])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', ok)))).toEqual(['DEADLINE_NOT_REACHED'])
    c.advanceTo(round(c).deadline + 1)
    const bad: Array<[TxBody<'round.result'>, string]> = [
      [await resultBody(['bank-a', 'bank-b', 'bank-c'], []), 'RESULT_MISMATCH'], // omits bank-d
      [await resultBody(['bank-a', 'bank-b', 'bank-c', 'bank-d', 'bank-e'], []), 'RESULT_MISMATCH'], // bank-e did not commit
      [await resultBody(['bank-a', 'bank-b', 'bank-c'], [{ member: 'bank-c', reason: 'x' }, { member: 'bank-d', reason: 'x' }]), 'RESULT_MISMATCH'],
      [await resultBody(['bank-a', 'bank-b', 'bank-c'], [{ member: 'bank-d', reason: 'x' }], { dp: { clipNorm: 1, noiseMultiplier: 0.5, samplingRate: 0.01, steps: 100 } }), 'RESULT_MISMATCH'],
      [await resultBody(['bank-a', 'bank-b', 'bank-c'], [{ member: 'bank-d', reason: 'x' }], { round: 'r9' }), 'UNKNOWN_ROUND'],
    ]
    for (const [body, code] of bad) expect(codes(c.exec(c.tx('enclave-1', 'round.result', body)))).toEqual([code])
    expect(codes(c.exec(c.tx('coord', 'round.result', ok)))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', ok)))).toEqual(['OK'])
    const eps = computeEpsilon({ q: 0.01, sigma: 1.1, steps: 100, delta: 1e-5 }).epsilon
    expect(budget(c, 'bank-a').epsilonSpent).toBeCloseTo(eps, 12)
    // excluded by Multi-Krum: its update was decrypted and shaped the selection, so it is charged
    expect(budget(c, 'bank-d').epsilonSpent).toBeCloseTo(eps, 12)
    expect(budget(c, 'bank-f').epsilonSpent).toBe(0) // never committed
    for (const p of PARTICIPANTS) expect(budget(c, p).reservations).toEqual([])
    expect(round(c)).toMatchObject({ status: 'resulted', result: { included: ['bank-a', 'bank-b', 'bank-c'] } })
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', ok)))).toEqual(['ROUND_STATE'])
    expect(codes(c.exec(c.tx('coord', 'round.close', { round: 'r1' })))).toEqual(['OK'])
    expect(round(c)).toMatchObject({ status: 'closed', roundKey: null })
    expect(codes(c.exec(c.tx('coord', 'round.close', { round: 'r1' })))).toEqual(['ROUND_STATE'])
  })

  it('accepts a result before the deadline once every eligible member has committed', async () => {
    const c = await keyedRound()
    const rest = PARTICIPANTS.slice(4)
    c.exec(...rest.slice(0, -1).map((p) => c.tx(p, 'round.commit', commitBody(c, p))))
    const all = (included: string[]) => resultBody(included, PARTICIPANTS.filter((p) => !included.includes(p) && c.get(StateKey.commit('r1', p)) !== undefined).map((member) => ({ member, reason: 'multi-krum' })))
    // one eligible member has not committed yet: the deadline still holds
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await all(['bank-a', 'bank-b', 'bank-c']))))).toEqual(['DEADLINE_NOT_REACHED'])
    c.exec(c.tx(rest.at(-1)!, 'round.commit', commitBody(c, rest.at(-1)!)))
    expect(c.state.height).toBeLessThan(round(c).deadline)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await all(['bank-a', 'bank-b', 'bank-c']))))).toEqual(['OK'])
  })

  it('refuses a result with more than m updates', async () => {
    const c = await keyedRound()
    c.exec(...['bank-e'].map((p) => c.tx(p, 'round.commit', commitBody(c, p))))
    c.advanceTo(round(c).deadline + 1)
    const five = await resultBody(PARTICIPANTS.slice(0, 5), [])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', five)))).toEqual(['RESULT_MISMATCH'])
  })

  it('aborts a round with commits only after the grace period, by any coordinator; cancels one without commits by its own', async () => {
    const genesis = defaultGenesis()
    genesis.members = [...genesis.members, { id: 'coord-2', org: 'x', roles: ['coordinator'], publicKey: keysFor('coord-2').publicKey }]
    const c = new TestChain(genesis)
    const g = genesisState(genesis).root
    c.exec(c.tx('coord', 'round.open', await openBody({}, c)))
    c.exec(c.tx('coord', 'round.open', await openBody({ round: 'r2' }, c)))
    c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody(undefined, undefined, g)))
    c.exec(...PARTICIPANTS.slice(0, 4).map((p) => c.tx(p, 'round.commit', commitBody(c, p))))
    // r2 has no commits: only its coordinator may cancel it (until the grace period ends)
    expect(codes(c.exec(c.tx('coord-2', 'round.close', { round: 'r2' })))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('coord', 'round.close', { round: 'r2' })))).toEqual(['OK'])
    expect(round(c, 'r2').status).toBe('aborted')
    // r1 has commits: nobody may end it before the enclave's turn is over
    expect(codes(c.exec(c.tx('coord', 'round.close', { round: 'r1' })))).toEqual(['ROUND_STATE'])
    c.advanceTo(round(c).deadline + 9) // the next block is at deadline + resultGraceBlocks: still the enclave's turn
    expect(codes(c.exec(c.tx('coord-2', 'round.close', { round: 'r1' })))).toEqual(['ROUND_STATE'])
    // then any coordinator may abort it (its own might have been revoked)
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'coord', reason: 'left', evidence: { kind: 'governance' } }))
    expect(codes(c.exec(c.tx('coord-2', 'round.close', { round: 'r1' })))).toEqual(['OK'])
    expect(round(c).status).toBe('aborted')
    // the four who committed are charged (an enclave may have released an aggregate its host kept), the others not
    const committed = PARTICIPANTS.slice(0, 4)
    for (const p of PARTICIPANTS) expect(budget(c, p).reservations).toEqual([])
    for (const p of committed) expect(budget(c, p).epsilonSpent).toBeGreaterThan(0)
    for (const p of PARTICIPANTS.slice(4)) expect(budget(c, p).epsilonSpent).toBe(0)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-a', 'bank-b', 'bank-c'], [{ member: 'bank-d', reason: 'x' }]))))).toEqual(['ROUND_STATE'])
  })

  it('refuses a result that includes nobody', async () => {
    const c = await keyedRound()
    c.advanceTo(round(c).deadline + 1)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody([], PARTICIPANTS.slice(0, 4).map((member) => ({ member, reason: 'x' }))))))).toEqual(['RESULT_MISMATCH'])
  })

  it('refuses a budget grant that would put spent plus reserved over the new cap', async () => {
    const c = await keyedRound() // r1 reserves its curve for every participant
    expect(codes(c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 0.05, delta: 1e-5 })))).toEqual(['OUT_OF_BUDGET'])
    expect(codes(c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 9, delta: 1e-5 })))).toEqual(['OK'])
  })
})

describe('revocation, re-aggregation and checkpoints', () => {
  async function resultedRound(): Promise<TestChain> {
    const c = await keyedRound()
    c.advanceTo(round(c).deadline + 1)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-a', 'bank-b', 'bank-c'], [{ member: 'bank-d', reason: 'multi-krum' }]))))).toEqual(['OK'])
    return c
  }

  it('marks rounds since the checkpoint for re-aggregation when an included member is revoked', async () => {
    const c = await resultedRound()
    const spentBefore = budget(c, 'bank-b').spent
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'attestation revoked', evidence: { kind: 'governance' } }))
    expect(round(c).reaggregate).toEqual(['bank-a'])
    const model0 = round(c).result!.model
    const cp = { round: 'r1', model: model0, snapshot: modelCid('snap'), stateRoot: c.state.root, height: c.state.height }
    expect(codes(c.exec(c.tx('coord', 'checkpoint', cp)))).toEqual(['CHECKPOINT'])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-a', 'bank-b'], [{ member: 'bank-c', reason: 'x' }, { member: 'bank-d', reason: 'x' }]))))).toEqual(['RESULT_MISMATCH'])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-b', 'bank-c', 'bank-d'], [{ member: 'bank-a', reason: 'revoked' }]))))).toEqual(['RESULT_MISMATCH']) // bank-d was not in the original
    // a host that also drops bank-c, never revoked, to difference the two releases: refused
    const released = { aggregation: { f: 1, m: 3, centralNoiseMultiplier: 1.1 } } // as the release the re-aggregation redoes
    const tooMany = await resultBody(['bank-b'], [{ member: 'bank-a', reason: 'REVOKED' }, { member: 'bank-c', reason: 'MULTI_KRUM' }, { member: 'bank-d', reason: 'MULTI_KRUM' }], released)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', tooMany)))).toEqual(['RESULT_MISMATCH'])
    expect(c.last!.receipts[0]!.message).toMatch(/drops 'bank-c', who is not pending revocation/)
    // … or calls bank-c revoked
    const claimed = await resultBody(['bank-b'], [{ member: 'bank-a', reason: 'REVOKED' }, { member: 'bank-c', reason: 'REVOKED' }, { member: 'bank-d', reason: 'MULTI_KRUM' }], released)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', claimed)))).toEqual(['RESULT_MISMATCH'])
    expect(c.last!.receipts[0]!.message).toMatch(/'bank-c' is excluded as revoked but is not revoked/)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-b', 'bank-c'], [{ member: 'bank-a', reason: 'REVOKED' }, { member: 'bank-d', reason: 'MULTI_KRUM' }]))))).toEqual(['RESULT_MISMATCH']) // m other than the release's
    const again = await resultBody(['bank-b', 'bank-c'], [{ member: 'bank-a', reason: 'revoked' }, { member: 'bank-d', reason: 'multi-krum' }], { model: modelCid('model-1b'), ...released })
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', again)))).toEqual(['OK'])
    expect(round(c).reaggregate).toEqual([])
    expect(round(c).result!.superseded.map(String)).toEqual([model0.toString()])
    expect(budget(c, 'bank-b').spent).toEqual(spentBefore) // not charged twice
    const cp2 = { round: 'r1', model: again.model, snapshot: modelCid('snap'), stateRoot: c.state.root, height: c.state.height }
    expect(codes(c.exec(c.tx('coord', 'checkpoint', cp2)))).toEqual(['OK'])
  })

  it('anchors a checkpoint of the previous block state and starts a new re-aggregation window', async () => {
    const c = await resultedRound()
    const model = round(c).result!.model
    const snapshot = modelCid('snap')
    const wrongModel = { round: 'r1', model: modelCid('other'), snapshot, stateRoot: c.state.root, height: c.state.height }
    const wrongRoot = { round: 'r1', model, snapshot, stateRoot: new Uint8Array(32), height: c.state.height }
    const ok = { round: 'r1', model, snapshot, stateRoot: c.state.root, height: c.state.height }
    expect(codes(c.exec(c.tx('coord', 'checkpoint', wrongModel)))).toEqual(['CHECKPOINT'])
    expect(codes(c.exec(c.tx('coord', 'checkpoint', wrongRoot)))).toEqual(['CHECKPOINT'])
    expect(codes(c.exec(c.tx('coord', 'checkpoint', ok)))).toEqual(['CHECKPOINT']) // the root is no longer the previous block's
    expect(codes(c.exec(c.tx('coord', 'checkpoint', { ...ok, stateRoot: c.state.root, height: c.state.height })))).toEqual(['OK'])
    expect(c.get<CheckpointRecord>(StateKey.checkpointLatest)).toMatchObject({ seq: 1, round: 'r1', height: c.state.height - 1 })
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'x', evidence: { kind: 'governance' } }))
    expect(round(c).reaggregate).toEqual([]) // before the checkpoint: lineage continues from it
  })

  it('lets governance discard a round that can no longer be re-aggregated, and checkpoints only the newest round', async () => {
    const c = await resultedRound()
    c.exec(c.tx('gov-1', 'enclave.revoke', { enclave: 'enclave-1', reason: 'compromised', evidence: { kind: 'governance' } }))
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'x', evidence: { kind: 'governance' } }))
    expect(round(c).reaggregate).toEqual(['bank-a']) // and the enclave that could re-aggregate is gone
    const cp = () => ({ round: 'r1', model: round(c).result!.model, snapshot: modelCid('snap'), stateRoot: c.state.root, height: c.state.height })
    expect(codes(c.exec(c.tx('coord', 'checkpoint', cp())))).toEqual(['CHECKPOINT'])
    expect(codes(c.exec(c.tx('coord', 'round.discard', { round: 'r1', reason: 'enclave revoked' })))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('gov-1', 'round.discard', { round: 'r1', reason: 'enclave revoked' })))).toEqual(['OK'])
    expect(round(c)).toMatchObject({ status: 'discarded', reaggregate: [] })
    expect(codes(c.exec(c.tx('coord', 'checkpoint', cp())))).toEqual(['CHECKPOINT']) // a discarded round is not a lineage point
    expect(budget(c, 'bank-b').epsilonSpent).toBeGreaterThan(0) // what was spent stays spent
  })

  it('checkpoints only the newest round since the last checkpoint', async () => {
    const c = await resultedRound()
    // a second round, resulted after r1
    c.exec(c.tx('coord', 'round.open', await openBody({ round: 'r2', eligible: PARTICIPANTS.slice(0, 5) }, c)))
    c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody('r2')))
    c.exec(...PARTICIPANTS.slice(0, 4).map((p) => c.tx(p, 'round.commit', commitBody(c, p, 'r2'))))
    c.advanceTo(round(c, 'r2').deadline + 1)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(PARTICIPANTS.slice(0, 4), [], { round: 'r2', model: modelCid('model-2') }))))).toEqual(['OK'])
    const cp = (r: string) => ({ round: r, model: round(c, r).result!.model, snapshot: modelCid('snap'), stateRoot: c.state.root, height: c.state.height })
    expect(codes(c.exec(c.tx('coord', 'checkpoint', cp('r1'))))).toEqual(['CHECKPOINT']) // stale: r2 is newer
    expect(codes(c.exec(c.tx('coord', 'checkpoint', cp('r2'))))).toEqual(['OK'])
    expect(codes(c.exec(c.tx('coord', 'checkpoint', cp('r2'))))).toEqual(['CHECKPOINT']) // nothing new since
  })

  it('a discarded round is never marked for re-aggregation again, so it cannot block checkpoints', async () => {
    const c = await resultedRound()
    expect(codes(c.exec(c.tx('gov-1', 'round.discard', { round: 'r1', reason: 'sealed inputs lost' })))).toEqual(['OK'])
    expect(round(c)).toMatchObject({ status: 'discarded', discardReason: 'sealed inputs lost', roundKey: null })
    expect(codes(c.exec(c.tx('gov-1', 'round.discard', { round: 'r1', reason: 'again' })))).toEqual(['ROUND_STATE'])
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'x', evidence: { kind: 'governance' } }))
    expect(round(c).reaggregate).toEqual([])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-b', 'bank-c'], [{ member: 'bank-a', reason: 'revoked' }, { member: 'bank-d', reason: 'x' }]))))).toEqual(['ROUND_STATE'])
    // a later round checkpoints normally
    c.exec(c.tx('coord', 'round.open', await openBody({ round: 'r2', eligible: PARTICIPANTS.slice(1, 6) }, c)))
    c.exec(c.tx('enclave-1', 'enclave.round-key', keyBody('r2')))
    c.exec(...PARTICIPANTS.slice(1, 5).map((p) => c.tx(p, 'round.commit', commitBody(c, p, 'r2'))))
    c.advanceTo(round(c, 'r2').deadline + 1)
    c.exec(c.tx('enclave-1', 'round.result', await resultBody(PARTICIPANTS.slice(1, 5), [], { round: 'r2', model: modelCid('model-2') })))
    expect(codes(c.exec(c.tx('coord', 'checkpoint', { round: 'r2', model: modelCid('model-2'), snapshot: modelCid('snap'), stateRoot: c.state.root, height: c.state.height })))).toEqual(['OK'])
  })

  it('re-aggregates to the base model when every included member is revoked', async () => {
    const c = await keyedRound()
    c.advanceTo(round(c).deadline + 1)
    const others = PARTICIPANTS.slice(1, 4).map((member) => ({ member, reason: 'multi-krum' }))
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-a'], others))))).toEqual(['OK'])
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'x', evidence: { kind: 'governance' } }))
    const nobody = [{ member: 'bank-a', reason: 'revoked' }, ...others]
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody([], nobody, { model: modelCid('model-x') }))))).toEqual(['RESULT_MISMATCH'])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody([], nobody, { model: modelCid('model-0') }))))).toEqual(['OK'])
    expect(round(c).reaggregate).toEqual([])
  })

  it('takes a result that includes a member revoked since the enclave computed it, and marks that member for re-aggregation at once', async () => {
    const c = await keyedRound()
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'x', evidence: { kind: 'governance' } }))
    c.advanceTo(round(c).deadline + 1)
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-a', 'bank-b', 'bank-c'], [{ member: 'bank-d', reason: 'x' }]))))).toEqual(['OK'])
    expect(round(c).reaggregate).toEqual(['bank-a'])
    // no checkpoint while it is pending
    const cp = { round: 'r1', model: round(c).result!.model, snapshot: modelCid('snap'), stateRoot: c.state.root, height: c.state.height }
    expect(codes(c.exec(c.tx('coord', 'checkpoint', cp)))).toEqual(['CHECKPOINT'])
  })

  it('does not charge a member the enclave excluded as revoked, and refuses that reason for a member who is not revoked', async () => {
    const c = await keyedRound()
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'x', evidence: { kind: 'governance' } }))
    c.advanceTo(round(c).deadline + 1)
    const notRevoked = await resultBody(['bank-b', 'bank-c'], [{ member: 'bank-a', reason: 'REVOKED' }, { member: 'bank-d', reason: 'REVOKED' }])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', notRevoked)))).toEqual(['RESULT_MISMATCH'])
    expect(codes(c.exec(c.tx('enclave-1', 'round.result', await resultBody(['bank-b', 'bank-c'], [{ member: 'bank-a', reason: 'REVOKED' }, { member: 'bank-d', reason: 'x' }]))))).toEqual(['OK'])
    expect(budget(c, 'bank-a').epsilonSpent).toBe(0) // never opened
    expect(budget(c, 'bank-d').epsilonSpent).toBe(budget(c, 'bank-b').epsilonSpent) // excluded after opening: charged
    expect(budget(c, 'bank-b').epsilonSpent).toBeGreaterThan(0)
  })
})
