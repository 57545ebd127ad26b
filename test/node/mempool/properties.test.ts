// TxMempool properties: random interleavings of adds, takes and commits on a real ledger keep take's nonce-order and cap guarantees; plus a 10,000-transaction sanity run.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { commandKey } from '../../../consensus/index.ts'
import { txId } from '../../../ledger/index.ts'
import { Fixture, label, SENDERS } from './fixture.ts'

const ALL = Number.MAX_SAFE_INTEGER
const NONCES = 10

type Op =
  | { op: 'add'; sender: number; nonce: number; variant: number }
  | { op: 'take'; maxCount: number; maxBytes: number; excludeMask: number }
  | { op: 'commit'; count: number }
  | { op: 'foreign'; sender: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('add' as const), sender: fc.nat(SENDERS.length - 1), nonce: fc.nat(NONCES - 1), variant: fc.nat(1) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('take' as const), maxCount: fc.nat(12), maxBytes: fc.nat(2_500), excludeMask: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('commit' as const), count: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('foreign' as const), sender: fc.nat(SENDERS.length - 1) }) },
)

describe('TxMempool properties', () => {
  const signed = new Map<string, Uint8Array>()
  const meta = new Map<string, { sender: string; nonce: number }>() // by commandKey
  const txFor = (fx: Fixture, sender: string, nonce: number, variant: number): Uint8Array => {
    const k = `${sender}:${nonce}:${variant}`
    let b = signed.get(k)
    if (b === undefined) {
      b = fx.grant(sender, nonce, { epsilon: 1 + nonce + variant * 100 })
      signed.set(k, b)
      meta.set(commandKey(b), { sender, nonce })
    }
    return b
  }

  it('take never breaks a sender’s nonce order, never leaves a gap, never exceeds its caps; blocks it fills execute OK', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 4, max: 30 }), (ops, maxCount) => {
        const fx = new Fixture({ maxCount, maxNonceGap: 6, rateLimit: null })
        const held = new Set<string>() // commandKeys the pool holds, per its own answers
        for (const o of ops) {
          if (o.op === 'add') {
            const b = txFor(fx, SENDERS[o.sender]!, o.nonce, o.variant)
            fx.pool.add(b)
          } else if (o.op === 'foreign') {
            // another validator's block: the sender's next nonce, in the variant the pool may not hold
            const s = SENDERS[o.sender]!
            const next = fx.chain.state.get<number>(`nonce/${s}`) ?? 0
            if (next < NONCES) expect(fx.commit([txFor(fx, s, next, 1)]).map((r) => r.code)).toEqual(['OK'])
          } else if (o.op === 'commit') {
            const txs = fx.pool.take(o.count, ALL, new Set())
            expect(txs.length).toBeLessThanOrEqual(o.count)
            expect(fx.commit(txs).map((r) => r.code)).toEqual(txs.map(() => 'OK'))
          } else {
            held.clear()
            for (const b of signed.values()) if (fx.pool.has(txId(b).toString())) held.add(commandKey(b))
            const heldList = [...held].sort()
            const exclude = new Set(heldList.filter((_, i) => i < 31 && (o.excludeMask >>> i) & 1))
            const out = fx.pool.take(o.maxCount, o.maxBytes, exclude)
            expect(out.length).toBeLessThanOrEqual(o.maxCount)
            expect(out.reduce((n, b) => n + b.length, 0)).toBeLessThanOrEqual(o.maxBytes)
            const used = new Map<string, Set<number>>() // per sender: nonces in pending blocks or already taken
            for (const k of exclude) {
              const m = meta.get(k)!
              used.set(m.sender, (used.get(m.sender) ?? new Set()).add(m.nonce))
            }
            const last = new Map<string, number>()
            for (const b of out) {
              const k = commandKey(b)
              expect(exclude.has(k)).toBe(false)
              expect(held.has(k)).toBe(true)
              const { sender, nonce } = meta.get(k)!
              expect(nonce).toBeGreaterThan(last.get(sender) ?? -1)
              last.set(sender, nonce)
              const next = fx.chain.state.get<number>(`nonce/${sender}`) ?? 0
              const u = used.get(sender) ?? new Set()
              for (let m = next; m < nonce; m++) expect(u.has(m)).toBe(true)
              used.set(sender, u.add(nonce))
            }
          }
          const st = fx.pool.stats()
          expect(st.count).toBe(fx.pool.size())
          expect(st.count).toBeLessThanOrEqual(maxCount)
          expect(st.ready + st.waiting).toBe(st.count)
          // with no caps and nothing excluded, take hands out exactly the ready transactions
          expect(fx.pool.take(ALL, ALL, new Set()).length).toBe(st.ready)
        }
      }),
      { numRuns: 60 },
    )
  })

  it('admits 10,000 valid transactions and hands them all out in per-sender nonce order', () => {
    const senders = Array.from({ length: 200 }, (_, i) => `m${i}`)
    const fx = new Fixture({ maxHeldForClients: 10_000 }, senders)
    const txs: Uint8Array[] = []
    for (let n = 0; n < 50; n++) for (const s of senders) txs.push(fx.grant(s, n))
    for (const t of txs) fx.admit(t, 'local')
    const st = fx.pool.stats()
    expect(st).toMatchObject({ count: 10_000, senders: 200, ready: 10_000, waiting: 0, admitted: { local: 10_000, peer: 0 } })
    expect(st.bytes).toBe(txs.reduce((n, b) => n + b.length, 0))
    const out = fx.pool.take(ALL, ALL, new Set())
    expect(out.length).toBe(10_000)
    expect(label(out.slice(0, 3))).toEqual(['m0:0', 'm1:0', 'm2:0'])
    const last = new Map<string, number>()
    for (const l of label(out)) {
      const [s, n] = l.split(':') as [string, string]
      expect(Number(n)).toBe((last.get(s) ?? -1) + 1)
      last.set(s, Number(n))
    }
  })
})
