// TxMempool.add: every refusal of the verify-once edge, checked against what the real ledger says of the same bytes.
import { describe, expect, it } from 'vitest'
import { encodeTx, signTx, approveTx, txId, MAX_TX_BYTES } from '../../../ledger/index.ts'
import { encode } from '../../../primitives/index.ts'
import { isPeerFault, MempoolError, mempoolStateFrom, TxMempool } from '../../../node/mempool/index.ts'
import { CHAIN, keysFor, TestChain } from '../../ledger/harness.ts'
import { Fixture, ledgerCodes } from './fixture.ts'

function refusal(fx: Fixture, bytes: Uint8Array): MempoolError {
  const r = fx.pool.add(bytes)
  if (r.ok) throw new Error(`expected a refusal, admitted ${r.id}`)
  expect(r.error).toBeInstanceOf(MempoolError)
  return r.error
}

describe('TxMempool admission', () => {
  it('admits a valid transaction under its CID and holds it', () => {
    const fx = new Fixture()
    const tx = fx.grant('s0', 0)
    const r = fx.pool.add(tx, { from: 'local' })
    expect(r).toEqual({ ok: true, id: txId(tx).toString() })
    expect(fx.pool.size()).toBe(1)
    expect(fx.pool.has(txId(tx).toString())).toBe(true)
    expect(fx.pool.get(txId(tx).toString())).toMatchObject({ sender: 's0', nonce: 0, origin: 'local', bytes: tx })
    expect(fx.pool.stats()).toMatchObject({ count: 1, bytes: tx.length, senders: 1, ready: 1, waiting: 0, admitted: { local: 1, peer: 0 } })
  })

  it('DUPLICATE: the same bytes twice, or another transaction at a held (sender, nonce)', () => {
    const fx = new Fixture()
    const first = fx.grant('s0', 0)
    const id = fx.admit(first)
    const again = refusal(fx, first)
    expect(again.code).toBe('DUPLICATE')
    expect(again.message).toContain(id)
    // Same sender and nonce, other bytes: no replacement (no fees, so no replace-by-fee).
    const other = fx.grant('s0', 0, { epsilon: 7 })
    const e = refusal(fx, other)
    expect(e.code).toBe('DUPLICATE')
    expect(e.message).toMatch(/nonce 0/)
    expect(fx.pool.size()).toBe(1)
    expect(fx.pool.has(txId(other).toString())).toBe(false)
    expect(fx.pool.stats().refused.DUPLICATE).toBe(2)
  })

  it('MALFORMED: garbage, schema violations, unknown types and non-canonical encodings (with the ledger code)', () => {
    const fx = new Fixture()
    const garbage = refusal(fx, new Uint8Array([0xff, 0x00, 0x13]))
    expect([garbage.code, garbage.ledgerCode]).toEqual(['MALFORMED', 'MALFORMED'])
    expect(refusal(fx, encode({ hello: 'world' })).code).toBe('MALFORMED')
    const unknownType = encodeTx(signTx({ chain: CHAIN, type: 'member.teleport' as 'member.register', sender: 's0', nonce: 0, body: {} as never }, keysFor('s0').secretKey))
    const u = refusal(fx, unknownType)
    expect([u.code, u.ledgerCode]).toEqual(['MALFORMED', 'UNKNOWN_TX_TYPE'])
    // approvals out of member order: decodeTx refuses, so one transaction keeps one id
    const tx = { chain: CHAIN, type: 'budget.grant' as const, sender: 'gov-1', nonce: 0, body: { member: 'bank-a', epsilon: 2, delta: 1e-5 } }
    const unsorted = encode({ tx, sig: signTx(tx, keysFor('gov-1').secretKey).sig, approvals: [approveTx(tx, 's1', keysFor('s1').secretKey), approveTx(tx, 's0', keysFor('s0').secretKey)] })
    const nc = refusal(fx, unsorted)
    expect(nc.code).toBe('MALFORMED')
    expect(nc.message).toMatch(/canonical/)
    expect(refusal(fx, 'not bytes' as unknown as Uint8Array).code).toBe('MALFORMED')
    expect(fx.pool.size()).toBe(0)
    expect(fx.pool.stats().refused.MALFORMED).toBe(5)
  })

  it('OVERSIZED: over the configured transaction size, before any decoding', () => {
    const fx = new Fixture({ maxTxBytes: 120 })
    const tx = fx.grant('s0', 0)
    expect(tx.length).toBeGreaterThan(120)
    const e = refusal(fx, tx)
    expect(e.code).toBe('OVERSIZED')
    expect(e.message).toContain(`${tx.length} bytes, limit 120`)
    expect(new Fixture({ maxTxBytes: tx.length }).pool.add(tx).ok).toBe(true)
    // over this node's option only: not a peer's fault; over the ledger's limit: it is
    expect(isPeerFault(e)).toBe(false)
    const huge = refusal(fx, new Uint8Array(MAX_TX_BYTES + 1))
    expect([huge.code, huge.ledgerCode, isPeerFault(huge)]).toEqual(['OVERSIZED', 'OVERSIZED', true])
  })

  it('isPeerFault: bytes no honest relayer forwards, as opposed to races, limits and state differences', () => {
    const fx = new Fixture({ maxCount: 1 })
    const fault = (b: Uint8Array) => isPeerFault(refusal(fx, b))
    expect(fault(encode({ nope: 1 }))).toBe(true) // MALFORMED
    expect(fault(fx.grant('s1', 0, { chain: 'elsewhere' }))).toBe(true) // WRONG_CHAIN
    expect(fault(fx.grant('s1', 0, { key: 's2' }))).toBe(true) // BAD_SIGNATURE
    const ok = fx.grant('s0', 0)
    fx.admit(ok)
    expect(fault(ok)).toBe(false) // DUPLICATE
    expect(fault(fx.grant('s1', 0))).toBe(false) // FULL
    expect(fault(fx.grant('s1', 99))).toBe(false) // NONCE_GAP
    expect(fault(fx.chain.tx('newcomer', 'budget.grant', { member: 'x', epsilon: 1, delta: 1e-5 }, { nonce: 0 }))).toBe(false) // UNKNOWN_SENDER
  })

  it('WRONG_CHAIN, UNKNOWN_SENDER and BAD_SIGNATURE match the ledger refusals of the same bytes', () => {
    const fx = new Fixture()
    const cases: Array<[Uint8Array, string, string]> = [
      [fx.grant('s0', 0, { chain: 'another-chain' }), 'WRONG_CHAIN', 'WRONG_CHAIN'],
      [fx.chain.tx('mallory', 'budget.grant', { member: 'mallory', epsilon: 1, delta: 1e-5 }, { nonce: 0 }), 'UNKNOWN_SENDER', 'UNKNOWN_MEMBER'],
      [fx.grant('s0', 0, { key: 's1' }), 'BAD_SIGNATURE', 'BAD_SIGNATURE'],
    ]
    for (const [bytes, code, ledgerCode] of cases) {
      const e = refusal(fx, bytes)
      expect([e.code, e.ledgerCode]).toEqual([code, ledgerCode])
      expect(ledgerCodes(fx, [bytes])).toEqual([ledgerCode])
    }
    expect(fx.pool.size()).toBe(0)
    expect(fx.pool.stats().refused).toMatchObject({ WRONG_CHAIN: 1, UNKNOWN_SENDER: 1, BAD_SIGNATURE: 1 })
  })

  it('UNKNOWN_SENDER for a revoked member; enclaves are senders too, as in the ledger', () => {
    const fx = new Fixture()
    expect(fx.chain.exec(fx.chain.tx('gov-1', 'member.revoke', { member: 's2', reason: 'left', evidence: { kind: 'governance' } }))[0]!.code).toBe('OK')
    const pool = fx.newPool()
    const tx = fx.grant('s2', 0)
    const r = pool.add(tx)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect([r.error.code, r.error.ledgerCode]).toEqual(['UNKNOWN_SENDER', 'MEMBER_REVOKED'])
    expect(r.error.message).toMatch(/member 's2' was revoked at height 1/)
    expect(ledgerCodes(fx, [tx])).toEqual(['MEMBER_REVOKED'])
    // An enclave's transaction passes the sender check (its handler rules are the ledger's business).
    const fromEnclave = fx.chain.tx('enclave-1', 'round.close', { round: 'r1' }, { nonce: 0 })
    expect(pool.add(fromEnclave).ok).toBe(true)
    expect(ledgerCodes(fx, [fromEnclave])).not.toContain('UNKNOWN_MEMBER')
  })

  it('STALE_NONCE below the committed nonce; NONCE_GAP beyond maxNonceGap ahead', () => {
    const fx = new Fixture()
    fx.chain.exec(fx.grant('s0', 0), fx.grant('s0', 1))
    const pool = fx.newPool()
    fx.pool = pool
    const stale = fx.grant('s0', 1, { epsilon: 9 })
    const e = refusal(fx, stale)
    expect([e.code, e.ledgerCode]).toEqual(['STALE_NONCE', 'BAD_NONCE'])
    expect(e.message).toMatch(/replay/)
    expect(ledgerCodes(fx, [stale])).toEqual(['BAD_NONCE'])
    // next nonce is 2: 2 + 64 is the farthest held by default
    expect(refusal(fx, fx.grant('s0', 67)).code).toBe('NONCE_GAP')
    fx.admit(fx.grant('s0', 66))
    const small = new Fixture({ maxNonceGap: 0 })
    expect(small.pool.add(small.grant('s0', 1)).ok).toBe(false)
    expect(small.pool.add(small.grant('s0', 0)).ok).toBe(true)
  })

  it('never throws on input, and refuses bad options at construction', () => {
    const fx = new Fixture()
    for (const bytes of [new Uint8Array(0), new Uint8Array([0xa0]), encode([1, 2, 3]), encode({ tx: null, sig: new Uint8Array(64) })]) {
      expect(fx.pool.add(bytes).ok).toBe(false)
    }
    const chain = new TestChain()
    expect(() => new TxMempool({ state: mempoolStateFrom(chain.state), now: () => 0 }, { maxCount: 0 })).toThrow(RangeError)
    expect(() => new TxMempool({ state: mempoolStateFrom(chain.state), now: () => 0 }, { rateLimit: { burst: 0, perSecond: 1 } })).toThrow(RangeError)
  })
})
