// Property-based tests over encoding and execution (fast-check).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeTx, encodeTx, executeBlock, isLedgerError, LedgerError, StateKey, type BudgetRecord, type TxBody, type TxType } from '../../ledger/index.ts'
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
      aggregation: fc.record({ rule: fc.constant('multi-krum' as const), f: fc.integer({ min: 0, max: 2 }), m: fc.integer({ min: 1, max: 6 }) }),
      eligible: fc.subarray(PARTICIPANTS, { minLength: 1 }),
      deadline: fc.integer({ min: 0, max: 30 }),
      enclave: pick(['enclave-1', 'enclave-x']),
    }),
  }),
  fc.record({
    type: fc.constant('enclave.round-key' as const),
    body: pick(ROUNDS).map((round) => ({ round, publicKey: keysFor('rk').publicKey, attestation: testEvidence({ keys: [keysFor('rk').publicKey, keysFor('enclave-1').publicKey], for: ['enclave.round-key', round] }) })),
  }),
  fc.record({ type: fc.constant('round.close' as const), body: fc.record({ round: pick(ROUNDS) }) }),
)

/** A transaction: usually correctly signed with the right nonce, sometimes not. */
const txArb = fc.record({ sender: pick(SENDERS), tx: bodyArb, nonceSkew: fc.constantFrom(0, 0, 0, 0, 1, -1) })

describe('execution properties', () => {
  it('no transaction stream yields an internal error; execution is deterministic', () => {
    const seen = new Map<string, number>()
    fc.assert(
      fc.property(fc.array(fc.array(txArb, { maxLength: 6 }), { minLength: 1, maxLength: 8 }), (blocks) => {
        const a = new TestChain()
        const b = new TestChain()
        for (const blockTxs of blocks) {
          const txs = blockTxs.map(({ sender, tx, nonceSkew }) => {
            const nonce = Math.max(0, (a.get<number>(StateKey.nonce(sender)) ?? 0) + nonceSkew)
            return a.tx(sender, tx.type, tx.body as never, { nonce })
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
        const out = executeBlock(c.state, { height: 2, time: 0, txs: txs.map(({ sender, tx }) => c.tx(sender, tx.type, tx.body as never, { chain: 'elsewhere', nonce: 0 })) }, { attestation: testVerifier })
        expect(out.receipts.every((r) => r.code === 'WRONG_CHAIN' || r.code === 'MALFORMED')).toBe(true)
        expect(out.stateRoot).toEqual(before)
      }),
      { numRuns: 50 },
    )
  })
})

describe('encoding properties', () => {
  it('signed transactions round-trip through DAG-CBOR with a stable id', () => {
    fc.assert(
      fc.property(pick(SENDERS), bodyArb, fc.nat({ max: 1_000_000 }), (sender, { type, body }, nonce) => {
        const c = new TestChain()
        const bytes = c.tx(sender, type, body as never, { nonce })
        const decoded = decodeTx(bytes)
        expect(decoded.signed.tx).toMatchObject({ chain: CHAIN, type, sender, nonce })
        expect(encodeTx(decoded.signed)).toEqual(bytes)
        expect(decodeTx(bytes).id.equals(decoded.id)).toBe(true)
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
