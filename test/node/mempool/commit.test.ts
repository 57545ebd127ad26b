// TxMempool.onCommit against real executed blocks, and the MempoolState port over a ledger StateReader.
import { describe, expect, it } from 'vitest'
import { LedgerState, txId } from '../../../ledger/index.ts'
import { mempoolStateFrom } from '../../../node/mempool/index.ts'
import { CHAIN, keysFor, TestChain } from '../../ledger/harness.ts'
import { Fixture, label } from './fixture.ts'

const ALL = Number.MAX_SAFE_INTEGER
const idOf = (b: Uint8Array) => txId(b).toString()

describe('TxMempool.onCommit', () => {
  it('removes committed transactions, including those the ledger refused', () => {
    const fx = new Fixture()
    const ok = fx.grant('s0', 0)
    // a participant may not grant budgets: the ledger refuses it with a receipt, and it is gone all the same
    const refused = fx.chain.tx('bank-a', 'budget.grant', { member: 'bank-a', epsilon: 9, delta: 1e-5 }, { nonce: 0 })
    const keep = fx.grant('s1', 0)
    for (const t of [ok, refused, keep]) fx.admit(t)
    expect(fx.commit([ok, refused]).map((r) => r.code)).toEqual(['OK', 'FORBIDDEN_ROLE'])
    expect(fx.pool.has(idOf(ok))).toBe(false)
    expect(fx.pool.has(idOf(refused))).toBe(false)
    expect(fx.pool.has(idOf(keep))).toBe(true)
    expect(fx.pool.stats()).toMatchObject({ count: 1, bytes: keep.length, removed: { committed: 2, stale: 0 } })
  })

  it('does not admit a committed transaction again: a refused one consumed its nonce, and the next nonce is free', () => {
    const fx = new Fixture()
    const refused = fx.chain.tx('bank-a', 'budget.grant', { member: 'bank-a', epsilon: 9, delta: 1e-5 }, { nonce: 0 })
    fx.admit(refused)
    expect(fx.commit([refused]).map((r) => r.code)).toEqual(['FORBIDDEN_ROLE'])
    // a lagging peer gossips it back
    const replay = fx.pool.add(refused)
    expect(replay.ok ? 'admitted' : replay.error.code).toBe('DUPLICATE')
    const sameNonce = fx.pool.add(fx.chain.tx('bank-a', 'budget.grant', { member: 'bank-a', epsilon: 8, delta: 1e-5 }, { nonce: 0 }))
    expect(sameNonce.ok ? 'admitted' : sameNonce.error.code).toBe('STALE_NONCE')
    expect(fx.pool.add(fx.chain.tx('bank-a', 'budget.grant', { member: 'bank-a', epsilon: 8, delta: 1e-5 }, { nonce: 1 })).ok).toBe(true)
  })

  it('drops transactions whose nonce another committed transaction used, keeps and re-anchors later ones', () => {
    const fx = new Fixture()
    const mine = [0, 1, 2].map((n) => fx.grant('s0', n))
    for (const t of mine) fx.admit(t)
    // another validator's block carried different s0 transactions at nonces 0 and 1
    const theirs = [fx.grant('s0', 0, { epsilon: 50 }), fx.grant('s0', 1, { epsilon: 51 })]
    expect(fx.commit(theirs).map((r) => r.code)).toEqual(['OK', 'OK'])
    expect(fx.pool.has(idOf(mine[0]!))).toBe(false)
    expect(fx.pool.has(idOf(mine[1]!))).toBe(false)
    expect(fx.pool.stats().removed).toMatchObject({ committed: 0, stale: 2 })
    expect(label(fx.pool.take(ALL, ALL, new Set()))).toEqual(['s0:2'])
    // and now the stale nonce is refused at the door
    const again = fx.pool.add(mine[0]!)
    expect(again.ok ? 'admitted' : again.error.code).toBe('STALE_NONCE')
  })

  it('drops every pending transaction of a sender revoked by the committed block', () => {
    const fx = new Fixture()
    for (const n of [0, 1, 2]) fx.admit(fx.grant('s2', n))
    fx.admit(fx.grant('s3', 0))
    const revoke = fx.chain.tx('gov-1', 'member.revoke', { member: 's2', reason: 'attestation revoked', evidence: { kind: 'governance' } }, { nonce: 0 })
    expect(fx.commit([revoke]).map((r) => r.code)).toEqual(['OK'])
    expect(fx.pool.pendingOf('s2')).toBe(0)
    expect(fx.pool.pendingOf('s3')).toBe(1)
    expect(fx.pool.stats()).toMatchObject({ count: 1, senders: 1, removed: { revoked: 3 } })
    expect(label(fx.pool.take(ALL, ALL, new Set()))).toEqual(['s3:0'])
  })

  it('everything the pool hands out for a block executes OK, block after block', () => {
    const fx = new Fixture({ maxNonceGap: 8 })
    const order = [3, 0, 5, 1, 2, 4]
    for (const n of order) for (const s of ['s0', 's1', 's2']) fx.admit(fx.grant(s, n))
    let blocks = 0
    while (fx.pool.size() > 0) {
      const txs = fx.pool.take(4, ALL, new Set())
      expect(txs.length).toBeGreaterThan(0)
      expect(fx.commit(txs).every((r) => r.code === 'OK')).toBe(true)
      blocks++
    }
    expect(blocks).toBe(5) // 18 transactions, 4 a block
    expect(fx.pool.stats().removed.committed).toBe(18)
  })
})

describe('mempoolStateFrom', () => {
  it('reads chain id, nonces, members and enclaves through the ledger key layout', () => {
    const chain = new TestChain()
    chain.exec(chain.tx('bank-a', 'round.close', { round: 'none' }, { nonce: 0 }), chain.tx('gov-1', 'budget.grant', { member: 'bank-b', epsilon: 9, delta: 1e-5 }, { nonce: 0 }))
    const state = mempoolStateFrom(chain.state)
    expect(state.chainId).toBe(CHAIN)
    expect(state.nonce('gov-1')).toBe(1)
    expect(state.nonce('bank-a')).toBe(1) // its transaction was refused by its handler: the nonce is consumed all the same
    expect(state.nonce('nobody')).toBe(0)
    expect(state.sender('bank-a')).toEqual({ kind: 'member', publicKey: keysFor('bank-a').publicKey, revokedAt: null })
    expect(state.sender('enclave-1')).toEqual({ kind: 'enclave', publicKey: keysFor('enclave-1').publicKey, revokedAt: null })
    expect(state.sender('nobody')).toBeUndefined()
    expect(() => mempoolStateFrom(LedgerState.empty())).toThrow(/no chain parameters/)
  })
})
