// TxMempool.take (per-sender contiguous nonce runs, arrival order, exclude, caps), oldest (what is relayed) and verifiedUnder (what execution need not verify again).
import { describe, expect, it } from 'vitest'
import { commandKey } from '../../../consensus/index.ts'
import { Fixture, keysOf, label } from './fixture.ts'
import { keysFor } from '../../ledger/harness.ts'
import { txId } from '../../../ledger/index.ts'

const ALL = Number.MAX_SAFE_INTEGER
const NONE: ReadonlySet<string> = new Set()

describe('TxMempool.take', () => {
  it('hands out a sender’s transactions in nonce order, whatever order they arrived in', () => {
    const fx = new Fixture()
    for (const n of [2, 0, 1]) fx.admit(fx.grant('s0', n))
    expect(label(fx.pool.take(ALL, ALL, NONE))).toEqual(['s0:0', 's0:1', 's0:2'])
    expect(fx.pool.size()).toBe(3) // take does not remove
  })

  it('holds a transaction behind a nonce gap until the gap fills', () => {
    const fx = new Fixture()
    fx.admit(fx.grant('s0', 0))
    fx.admit(fx.grant('s0', 2))
    fx.admit(fx.grant('s0', 3))
    expect(label(fx.pool.take(ALL, ALL, NONE))).toEqual(['s0:0'])
    expect(fx.pool.stats()).toMatchObject({ ready: 1, waiting: 2 })
    fx.admit(fx.grant('s1', 1)) // s1's next nonce is 0: nothing of s1 is takeable
    expect(label(fx.pool.take(ALL, ALL, NONE))).toEqual(['s0:0'])
    fx.admit(fx.grant('s0', 1))
    expect(label(fx.pool.take(ALL, ALL, NONE))).toEqual(['s0:0', 's0:1', 's0:2', 's0:3'])
    expect(fx.pool.stats()).toMatchObject({ ready: 4, waiting: 1 })
  })

  it('interleaves senders by arrival, oldest first, within each sender’s nonce order', () => {
    const fx = new Fixture()
    fx.admit(fx.grant('s0', 1)) // oldest, but waits for s0:0
    fx.admit(fx.grant('s1', 0))
    fx.admit(fx.grant('s2', 0))
    fx.admit(fx.grant('s0', 0))
    fx.admit(fx.grant('s1', 1))
    expect(label(fx.pool.take(ALL, ALL, NONE))).toEqual(['s1:0', 's2:0', 's0:0', 's0:1', 's1:1'])
  })

  it('continues a sender’s run after its transactions already in pending blocks (exclude)', () => {
    const fx = new Fixture()
    const txs = [0, 1, 2, 3].map((n) => fx.grant('s0', n))
    for (const t of txs) fx.admit(t)
    fx.admit(fx.grant('s1', 0))
    // the branch being extended already holds s0:0 and s0:1
    const exclude = keysOf(txs.slice(0, 2))
    const taken = fx.pool.take(ALL, ALL, exclude)
    expect(label(taken)).toEqual(['s0:2', 's0:3', 's1:0'])
    expect(taken.some((t) => exclude.has(commandKey(t)))).toBe(false)
    // Executing the pending block and then the new one: the ledger accepts every transaction.
    expect(fx.commit(txs.slice(0, 2)).map((r) => r.code)).toEqual(['OK', 'OK'])
    expect(fx.commit(taken).map((r) => r.code)).toEqual(['OK', 'OK', 'OK'])
    expect(fx.pool.size()).toBe(0)
  })

  it('stops a sender at an excluded-but-unknown gap: only held transactions advance the run', () => {
    const fx = new Fixture()
    fx.admit(fx.grant('s0', 1))
    // s0:0 is in a pending block this pool never saw: its key says nothing about its nonce
    expect(fx.pool.take(ALL, ALL, keysOf([fx.grant('s0', 0)]))).toEqual([])
  })

  it('never exceeds maxCount or maxBytes; a transaction too big for the rest ends only its sender’s run', () => {
    const fx = new Fixture()
    const big = fx.chain.tx('s0', 'member.revoke', { member: 'bank-a', reason: 'x'.repeat(400), evidence: { kind: 'governance' } }, { nonce: 0 })
    fx.admit(big)
    fx.admit(fx.grant('s0', 1))
    const small = [0, 1, 2].map((n) => fx.grant('s1', n))
    for (const t of small) fx.admit(t)
    expect(label(fx.pool.take(2, ALL, NONE))).toEqual(['s0:0', 's0:1'])
    const budget = small[0]!.length + small[1]!.length + small[2]!.length
    expect(big.length).toBeGreaterThan(budget)
    const taken = fx.pool.take(ALL, budget, NONE)
    expect(label(taken)).toEqual(['s1:0', 's1:1', 's1:2']) // s0:1 is not taken without s0:0
    expect(fx.pool.take(ALL, budget - 1, NONE).length).toBe(2)
    expect(fx.pool.take(0, ALL, NONE)).toEqual([])
    expect(fx.pool.take(ALL, 0, NONE)).toEqual([])
  })

  it('starts from the committed nonce after onCommit', () => {
    const fx = new Fixture()
    const txs = [0, 1, 2].map((n) => fx.grant('s0', n))
    for (const t of txs) fx.admit(t)
    fx.commit([txs[0]!])
    expect(label(fx.pool.take(ALL, ALL, NONE))).toEqual(['s0:1', 's0:2'])
  })
})

describe('TxMempool.oldest (what a node relays to its peers)', () => {
  it('includes transactions a nonce gap holds back here, in arrival order, within the count and byte caps', () => {
    const fx = new Fixture()
    // this pool's state says s0's next nonce is 0; a peer that is ahead may already be at 1
    fx.admit(fx.grant('s0', 1))
    fx.admit(fx.grant('s1', 0))
    fx.admit(fx.grant('s0', 2))
    expect(label(fx.pool.take(ALL, ALL, NONE))).toEqual(['s1:0'])
    expect(label(fx.pool.oldest(ALL, ALL))).toEqual(['s0:1', 's1:0', 's0:2'])
    const one = fx.pool.oldest(1, ALL)[0]!.length
    // the first transaction always goes, even alone over the byte cap
    expect(fx.pool.oldest(ALL, one).length).toBe(1)
    expect(fx.pool.oldest(ALL, 1).length).toBe(1)
  })

  it('continues where the last call stopped and wraps around, so stuck transactions cannot crowd out the rest', () => {
    const fx = new Fixture()
    for (const [s, n] of [['s0', 5], ['s0', 6], ['s1', 0], ['s2', 0], ['s3', 0]] as const) fx.admit(fx.grant(s, n))
    expect(label(fx.pool.oldest(2, ALL))).toEqual(['s0:5', 's0:6'])
    expect(label(fx.pool.oldest(2, ALL))).toEqual(['s1:0', 's2:0'])
    expect(label(fx.pool.oldest(2, ALL))).toEqual(['s3:0', 's0:5'])
    expect(label(fx.pool.oldest(ALL, ALL))).toEqual(['s0:6', 's1:0', 's2:0', 's3:0', 's0:5'])
    fx.commit(fx.pool.take(ALL, ALL, NONE)) // s1, s2, s3 commit; the stuck s0 ones stay
    expect(label(fx.pool.oldest(ALL, ALL))).toEqual(['s0:6', 's0:5'])
  })
})

describe('TxMempool.verifiedUnder (execution skips signatures the mempool checked)', () => {
  it('vouches only for a held transaction, and only under the key its sender had when it was verified', () => {
    const fx = new Fixture()
    const tx = fx.grant('s0', 0)
    const id = txId(tx).toString()
    const key = keysFor('s0').publicKey
    expect(fx.pool.verifiedUnder(id, key)).toBe(false) // not admitted yet
    fx.admit(tx)
    expect(fx.pool.verifiedUnder(id, key)).toBe(true)
    expect(fx.pool.verifiedUnder(id, keysFor('s1').publicKey)).toBe(false)
    expect(fx.pool.verifiedUnder(txId(fx.grant('s0', 1)).toString(), key)).toBe(false)
    // and execution may reuse its decoding of exactly those bytes
    expect(fx.pool.decodedOf(tx)?.id.toString()).toBe(id)
    expect(fx.pool.decodedOf(fx.grant('s0', 1))).toBeUndefined()
    fx.commit([tx])
    expect(fx.pool.verifiedUnder(id, key)).toBe(false) // gone once committed
    expect(fx.pool.decodedOf(tx)).toBeUndefined()
  })
})
