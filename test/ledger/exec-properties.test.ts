// Property-based tests over encoding and execution (fast-check).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeTx, encodeTx, txSigningBytes, executeBlock, isLedgerError, LedgerError, StateKey, type BudgetRecord, type TxBody, type TxType } from '../../ledger/index.ts'
import { DomainTag, signPayload } from '../../primitives/index.ts'
import { CHAIN, keysFor, modelCid, PARTICIPANTS, TestChain, testEvidence, testVerifier } from './harness.ts'

const SENDERS = ['gov-1', 'gov-2', 'coord', 'auditor', 'enclave-1', 'stranger', ...PARTICIPANTS]
const ROUNDS = ['r1', 'r2']
const pick = <T>(xs: readonly T[]) => fc.constantFrom(...xs)

/** Bodies that are well-formed for their type, with values chosen to hit both the allowed and the refused paths. */
const bodyArb: fc.Arbitrary<{ type: TxType; body: TxBody<TxType> }> = fc.oneof(
  fc.record({ type: fc.constant('budget.grant' as const), body: fc.record({ member: pick([...PARTICIPANTS, 'ghost']), epsilon: fc.double({ min: 0.01, max: 20, noNaN: true }), delta: fc.constantFrom(1e-5, 1e-6) }) }),
  fc.record({ type: fc.constant('member.revoke' as const), body: fc.record({ member: pick(PARTICIPANTS), reason: fc.string({ maxLength: 10 }), evidence: fc.constant({ kind: 'governance' as const }) }) }),
  fc.record({
    type: fc.constant('round.open' as const),
    body: fc.record({
      round: pick(ROUNDS),
      baseModel: fc.constant(modelCid('m0')),
      training: fc.record({ clipNorm: fc.constant(1), noiseMultiplier: fc.constantFrom(0.8, 1.1, 3), samplingRate: fc.constantFrom(0.01, 0.1), localEpochs: fc.constantFrom(1, 5) }),
      aggregation: fc.record({ rule: fc.constant('multi-krum' as const), f: fc.integer({ min: 0, max: 2 }), m: fc.integer({ min: 1, max: 5 }) }),
      eligible: fc.subarray(PARTICIPANTS, { minLength: 3 }),
      deadline: fc.integer({ min: 2, max: 12 }),
      enclave: pick(['enclave-1', 'enclave-x']),
    }),
  }),
  fc.record({
    type: fc.constant('enclave.round-key' as const),
    body: pick(ROUNDS).map((round) => ({ round, publicKey: keysFor('rk').publicKey, attestation: testEvidence({ keys: [keysFor('rk').publicKey, keysFor('enclave-1').publicKey], for: ['enclave.round-key', round] }) })),
  }),
  fc.record({ type: fc.constant('round.close' as const), body: fc.record({ round: pick(ROUNDS) }) }),
  fc.record({
    type: fc.constant('round.commit' as const),
    body: fc.tuple(pick(ROUNDS), pick(PARTICIPANTS), fc.constantFrom(0.5, 2)).map(([round, member, declaredNorm]) => {
      const statement = { chain: CHAIN, round, member, plaintextHash: new Uint8Array(32), declaredNorm }
      return { round, ciphertext: modelCid(`${round}/${member}`), statement, statementSig: signPayload(keysFor(member).secretKey, DomainTag.UPDATE_STATEMENT, statement) }
    }),
  }),
  fc.record({
    type: fc.constant('round.result' as const),
    body: fc.record({
      round: pick(ROUNDS),
      model: fc.constant(modelCid('m1')),
      included: fc.subarray(PARTICIPANTS),
      excluded: fc.subarray(PARTICIPANTS).map((ms) => ms.map((member) => ({ member, reason: 'multi-krum' }))),
      dp: fc.constantFrom({ clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, steps: 100 }, { clipNorm: 1, noiseMultiplier: 3, samplingRate: 0.1, steps: 50 }),
      aggregation: fc.record({ f: fc.constantFrom(0, 1), m: fc.integer({ min: 1, max: 4 }), centralNoiseMultiplier: fc.constantFrom(0, 1.1, 3) }),
      transcriptHash: fc.constant(new Uint8Array(32)),
    }),
  }),
  fc.record({ type: fc.constant('round.discard' as const), body: fc.record({ round: pick(ROUNDS), reason: fc.constant('test') }) }),
  fc.record({ type: fc.constant('checkpoint' as const), body: fc.record({ round: pick(ROUNDS), model: fc.constant(modelCid('m1')), snapshot: fc.constant(modelCid('s')), stateRoot: fc.constant(new Uint8Array(32)), height: fc.nat({ max: 40 }) }) }),
)

/** Who may send each type; the generator uses them four times in five, so streams get past the role checks. */
function rightfulSender(tx: { type: TxType; body: TxBody<TxType> }): string {
  switch (tx.type) {
    case 'round.open':
    case 'round.close':
    case 'checkpoint':
      return 'coord'
    case 'enclave.round-key':
    case 'round.result':
      return 'enclave-1'
    case 'round.commit':
      return (tx.body as TxBody<'round.commit'>).statement.member
    default:
      return 'gov-1'
  }
}

/** A transaction: usually from its rightful sender with the right nonce, sometimes not. */
const txArb = fc
  .record({ anySender: pick(SENDERS), rightful: fc.integer({ min: 0, max: 4 }), tx: bodyArb, nonceSkew: fc.constantFrom(0, 0, 0, 0, 1, -1), fromState: fc.boolean() })
  .map(({ anySender, rightful, tx, nonceSkew, fromState }) => ({ sender: rightful > 0 ? rightfulSender(tx) : anySender, tx, nonceSkew, fromState }))

/**
 * Results and checkpoints that fit the chain's current state (the committed set of the
 * round, the previous block's root), so that streams reach accepted ones too.
 */
function consistentBody(c: TestChain, tx: { type: TxType; body: TxBody<TxType> }): TxBody<TxType> {
  if (tx.type === 'round.result') {
    const body = tx.body as TxBody<'round.result'>
    const committed = PARTICIPANTS.filter((p) => c.get(StateKey.commit(body.round, p)) !== undefined)
    return { ...body, included: committed.slice(0, 3), excluded: committed.slice(3).map((member) => ({ member, reason: 'multi-krum' })) }
  }
  if (tx.type === 'checkpoint') {
    const body = tx.body as TxBody<'checkpoint'>
    const round = c.get<{ result: { model: TxBody<'checkpoint'>['model'] } | null }>(StateKey.round(body.round))
    return { ...body, model: round?.result?.model ?? body.model, stateRoot: c.state.root, height: c.state.height }
  }
  return tx.body
}

describe('execution properties', () => {
  it('no transaction stream yields an internal error; execution is deterministic', () => {
    const seen = new Map<string, number>()
    fc.assert(
      fc.property(fc.array(fc.array(txArb, { maxLength: 6 }), { minLength: 1, maxLength: 8 }), (blocks) => {
        const a = new TestChain()
        const b = new TestChain()
        // every stream starts with round r1 open and keyed, so that commits, results and checkpoints can succeed
        for (const c of [a, b]) {
          c.exec(c.tx('coord', 'round.open', { round: 'r1', baseModel: modelCid('m0'), training: { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }, aggregation: { rule: 'multi-krum', f: 0, m: 3 }, eligible: PARTICIPANTS, deadline: 5, enclave: 'enclave-1' }))
          c.exec(c.tx('enclave-1', 'enclave.round-key', { round: 'r1', publicKey: keysFor('rk').publicKey, attestation: testEvidence({ keys: [keysFor('rk').publicKey, keysFor('enclave-1').publicKey], for: ['enclave.round-key', 'r1'] }) }))
        }
        for (const blockTxs of blocks) {
          const txs = blockTxs.map(({ sender, tx, nonceSkew, fromState }) => {
            const nonce = Math.max(0, (a.get<number>(StateKey.nonce(sender)) ?? 0) + nonceSkew)
            return a.tx(sender, tx.type, (fromState ? consistentBody(a, tx) : tx.body) as never, { nonce })
          })
          const ra = a.exec(...txs)
          const rb = b.exec(...txs)
          expect(ra.map((r) => r.code)).not.toContain('INTERNAL')
          for (const r of ra) seen.set(`${r.code}`, (seen.get(r.code) ?? 0) + 1)
          expect(rb).toEqual(ra)
          expect(b.state.root).toEqual(a.state.root)
        }
        // invariant: budgets never have spend over their cap, reservations only name open rounds
        for (const p of PARTICIPANTS) {
          const budget = a.get<BudgetRecord>(StateKey.budget(p))
          if (budget === undefined) continue
          for (const r of budget.reservations) expect(['open', 'keyed']).toContain(a.get<{ status: string }>(StateKey.round(r))!.status)
        }
      }),
      { numRuns: 60 },
    )
    // the generator must reach both sides of the rules, or the property says little
    for (const code of ['OK', 'BAD_NONCE', 'FORBIDDEN_ROLE', 'UNKNOWN_MEMBER']) expect(seen.get(code) ?? 0).toBeGreaterThan(0)
  })

  it('a block of only refused transactions leaves the state root unchanged', () => {
    fc.assert(
      fc.property(fc.array(txArb, { minLength: 1, maxLength: 8 }), (txs) => {
        const c = new TestChain()
        c.advanceTo(1)
        const before = c.state.root
        // wrong chain id: always refused, whatever the body
        const out = executeBlock(c.state, { height: 2, timeSec: 0, txs: txs.map(({ sender, tx }) => c.tx(sender, tx.type, tx.body as never, { chain: 'elsewhere', nonce: 0 })) }, { attestation: testVerifier })
        expect(out.receipts.every((r) => r.code === 'WRONG_CHAIN' || r.code === 'MALFORMED')).toBe(true)
        expect(out.stateRoot).toEqual(before)
      }),
      { numRuns: 50 },
    )
  })
})

describe('encoding properties', () => {
  it('signed transactions (with and without co-signers) round-trip through DAG-CBOR with a stable id and their signed bytes', () => {
    fc.assert(
      fc.property(pick(SENDERS), bodyArb, fc.nat({ max: 1_000_000 }), fc.subarray(['gov-1', 'gov-2', 'auditor']), (sender, { type, body }, nonce, approvers) => {
        const c = new TestChain()
        const bytes = c.tx(sender, type, body as never, { nonce, approvers: approvers.length > 0 ? approvers : undefined })
        const decoded = decodeTx(bytes)
        expect(decoded.signed.tx).toMatchObject({ chain: CHAIN, type, sender, nonce })
        expect(encodeTx(decoded.signed)).toEqual(bytes)
        expect(decodeTx(bytes).id.equals(decoded.id)).toBe(true)
        // the signed bytes, cut out of the envelope, are exactly what the signers signed
        expect(decoded.signing).toEqual(txSigningBytes(decoded.signed.tx))
      }),
      { numRuns: 100 },
    )
  })

  it('arbitrary or mutated bytes only ever produce typed ledger errors', () => {
    const c = new TestChain()
    const valid = c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 1, delta: 1e-5 })
    const mutated = fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const b = valid.slice()
      b[i]! ^= x
      return b
    })
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (bytes) => {
        try {
          decodeTx(bytes)
        } catch (e) {
          expect(isLedgerError(e)).toBe(true)
          expect((e as LedgerError).code).toMatch(/^(MALFORMED|OVERSIZED|UNKNOWN_TX_TYPE)$/)
        }
      }),
      { numRuns: 500 },
    )
  })
})
