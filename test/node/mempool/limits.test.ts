// TxMempool limits: per-sender cap, per-sender token bucket on an injected clock, FULL (for clients, and by count or bytes) and the eviction policy.
import { describe, expect, it } from 'vitest'
import { txId } from '../../../ledger/index.ts'
import { RETRY_AFTER_MS, TokenBuckets } from '../../../node/mempool/index.ts'
import { Fixture } from './fixture.ts'

const idOf = (b: Uint8Array) => txId(b).toString()

describe('TxMempool limits', () => {
  it('SENDER_LIMIT once a sender holds maxPerSender transactions; other senders are unaffected', () => {
    const fx = new Fixture({ maxPerSender: 3 })
    for (const n of [0, 1, 2]) fx.admit(fx.grant('s0', n))
    const r = fx.pool.add(fx.grant('s0', 3))
    expect(r.ok ? 'admitted' : r.error.code).toBe('SENDER_LIMIT')
    expect(fx.pool.add(fx.grant('s1', 0)).ok).toBe(true)
    fx.commit([fx.grant('s0', 0)]) // one leaves: room again
    expect(fx.pool.add(fx.grant('s0', 3)).ok).toBe(true)
  })

  it('RATE_LIMITED by a token bucket that refills with the injected clock', () => {
    const fx = new Fixture({ rateLimit: { burst: 2, perSecond: 1 } })
    fx.admit(fx.grant('s0', 0))
    fx.admit(fx.grant('s0', 1))
    const r = fx.pool.add(fx.grant('s0', 2))
    expect(r.ok ? 'admitted' : r.error.code).toBe('RATE_LIMITED')
    expect(fx.pool.add(fx.grant('s1', 0)).ok).toBe(true) // buckets are per sender
    fx.clock.t += 999
    expect(fx.pool.add(fx.grant('s0', 2)).ok).toBe(false)
    fx.clock.t += 1
    expect(fx.pool.add(fx.grant('s0', 2)).ok).toBe(true)
    expect(fx.pool.add(fx.grant('s0', 3)).ok).toBe(false)
    fx.clock.t += 60_000 // refills to the burst, not beyond
    expect(fx.pool.add(fx.grant('s0', 3)).ok).toBe(true)
    expect(fx.pool.add(fx.grant('s0', 4)).ok).toBe(true)
    expect(fx.pool.add(fx.grant('s0', 5)).ok).toBe(false)
    expect(fx.pool.stats().refused.RATE_LIMITED).toBe(4)
  })

  it('spends a token only for a verified signature: forgeries cannot drain a sender’s bucket', () => {
    const fx = new Fixture({ rateLimit: { burst: 1, perSecond: 0.001 } })
    for (let n = 0; n < 5; n++) {
      const r = fx.pool.add(fx.grant('s0', n, { key: 'mallory' }))
      expect(r.ok ? 'admitted' : r.error.code).toBe('BAD_SIGNATURE')
    }
    fx.admit(fx.grant('s0', 0))
    // refusals before the signature (duplicates, stale nonces) spend nothing either, but the genuine one did
    const r = fx.pool.add(fx.grant('s0', 1))
    expect(r.ok ? 'admitted' : r.error.code).toBe('RATE_LIMITED')
  })

  it('FULL by count: evicts the newest (highest-nonce) transaction of the sender holding the most, only while it holds more', () => {
    const fx = new Fixture({ maxCount: 4 })
    const s0 = [0, 1, 2].map((n) => fx.grant('s0', n))
    for (const t of s0) fx.admit(t)
    fx.admit(fx.grant('s1', 0))
    // s0 holds 3 > 1 that s2 would hold: s0's highest nonce goes
    fx.admit(fx.grant('s2', 0))
    expect(fx.pool.has(idOf(s0[2]!))).toBe(false)
    expect(fx.pool.size()).toBe(4)
    expect(fx.pool.stats().removed.evicted).toBe(1)
    // s0 holds 2, s3 would hold 1: s0:1 goes
    fx.admit(fx.grant('s3', 0))
    expect(fx.pool.has(idOf(s0[1]!))).toBe(false)
    expect([0, 1, 2, 3].map((i) => fx.pool.pendingOf(`s${i}`))).toEqual([1, 1, 1, 1])
    // everyone holds 1; a second from s1 would hold 2: nobody holds more, so FULL
    const r = fx.pool.add(fx.grant('s1', 1))
    expect(r.ok ? 'admitted' : r.error.code).toBe('FULL')
    if (!r.ok) expect([r.error.message, r.error.retryAfterMs]).toEqual([expect.stringMatching(/mempool is full \(4 transactions/), RETRY_AFTER_MS])
    expect(fx.pool.size()).toBe(4)
    expect(fx.pool.stats().refused.FULL).toBe(1)
  })

  it('FULL (retry later) for clients once maxHeldForClients transactions ready for a block are held, whoever sent them, before any decoding; peers’ transactions still enter', () => {
    const fx = new Fixture({ maxHeldForClients: 3, maxCount: 10 })
    const mine = [fx.grant('s0', 0), fx.grant('s0', 1)]
    for (const t of mine) fx.admit(t, 'local')
    fx.admit(fx.grant('s1', 0), 'peer')
    // three held, two of them from clients: peers' transactions count too (every validator holds about the same set)
    const r = fx.pool.add(fx.grant('s2', 0), { from: 'local' })
    expect(r.ok ? 'admitted' : [r.error.code, r.error.retryAfterMs]).toEqual(['FULL', RETRY_AFTER_MS])
    if (!r.ok) expect(r.error.message).toMatch(/holds 3 transactions ready for a block, as many as it takes from clients; retry later/)
    expect(fx.pool.clientRefusal()?.code).toBe('FULL')
    // refused at the door: not even malformed bytes are looked at …
    const junk = fx.pool.add(new Uint8Array([0xff]), { from: 'local' })
    expect(junk.ok ? 'admitted' : junk.error.code).toBe('FULL')
    // … but a client re-sending what is held learns that it is held
    const again = fx.pool.add(mine[0]!, { from: 'local' })
    expect(again.ok ? 'admitted' : again.error.code).toBe('DUPLICATE')
    // peers' transactions (another validator took them at its own door) enter up to maxCount
    fx.admit(fx.grant('s1', 1), 'peer')
    fx.admit(fx.grant('s2', 0), 'peer')
    expect(fx.pool.size()).toBe(5)
    // whatever leaves frees room for clients once fewer than maxHeldForClients are held
    fx.commit([fx.grant('s1', 0), fx.grant('s1', 1)])
    expect(fx.pool.add(fx.grant('s3', 0), { from: 'local' }).ok).toBe(false)
    fx.commit([mine[0]!])
    expect(fx.pool.clientRefusal()).toBeUndefined()
    fx.admit(fx.grant('s3', 0), 'local')
  })

  it('counts at the door only what could go into a block: transactions stuck behind a nonce gap never shut clients out', () => {
    const fx = new Fixture({ maxHeldForClients: 3, maxCount: 10 })
    // s0 skipped nonce 0: its 1..4 are held (a peer relayed them) but can never be ordered until 0 comes
    for (let n = 1; n <= 4; n++) fx.admit(fx.grant('s0', n), 'peer')
    expect([fx.pool.size(), fx.pool.ready()]).toEqual([4, 0])
    expect(fx.pool.clientRefusal()).toBeUndefined()
    fx.admit(fx.grant('s1', 0), 'local')
    fx.admit(fx.grant('s1', 1), 'local')
    // the client transaction that fills the gap gets in, and with it s0's whole run is ready
    fx.admit(fx.grant('s0', 0), 'local')
    expect(fx.pool.ready()).toBe(7)
    expect(fx.pool.add(fx.grant('s2', 0), { from: 'local' }).ok).toBe(false)
    // what commits leaves the count; a gap reopened by an eviction or a commit elsewhere is taken out of it
    fx.commit([fx.grant('s0', 0), fx.grant('s0', 1), fx.grant('s0', 2)])
    expect([fx.pool.size(), fx.pool.ready()]).toEqual([4, 4])
    expect(fx.pool.stats()).toMatchObject({ ready: 4, waiting: 0 })
  })

  it('does not evict from a sender that would then hold no more than the newcomer (no back-and-forth)', () => {
    const fx = new Fixture({ maxCount: 3 })
    const s0 = [0, 1].map((n) => fx.grant('s0', n))
    for (const t of s0) fx.admit(t)
    fx.admit(fx.grant('s1', 0))
    // s1 would hold 2, as many as s0 holds: evicting s0:1 would only swap their shares
    const r = fx.pool.add(fx.grant('s1', 1))
    expect(r.ok ? 'admitted' : r.error.code).toBe('FULL')
    expect(fx.pool.has(idOf(s0[1]!))).toBe(true)
  })

  it('between senders holding equally many, evicts from the one admitted to most recently', () => {
    const fx = new Fixture({ maxCount: 5 })
    const s0 = [0, 1].map((n) => fx.grant('s0', n))
    const s1 = [0, 1].map((n) => fx.grant('s1', n))
    for (const t of [...s0, ...s1]) fx.admit(t)
    fx.admit(fx.grant('s2', 0))
    fx.admit(fx.grant('s3', 0))
    expect(fx.pool.has(idOf(s1[1]!))).toBe(false)
    expect(fx.pool.pendingOf('s0')).toBe(2)
  })

  it('a sender never evicts its own transactions', () => {
    const fx = new Fixture({ maxCount: 2 })
    fx.admit(fx.grant('s0', 0))
    fx.admit(fx.grant('s0', 1))
    const r = fx.pool.add(fx.grant('s0', 2))
    expect(r.ok ? 'admitted' : r.error.code).toBe('FULL')
    expect(fx.pool.size()).toBe(2)
  })

  it('FULL by bytes: evicts as many as needed to fit, and refuses what could never fit', () => {
    const s = new Fixture().grant('s0', 0).length
    const fx = new Fixture({ maxBytes: 4 * s + 8 })
    const s0 = [0, 1, 2, 3].map((n) => fx.grant('s0', n))
    for (const t of s0) fx.admit(t)
    // a bigger transaction from s1 needs two of s0's to leave
    const big = fx.chain.tx('s1', 'member.revoke', { member: 'bank-a', reason: 'y'.repeat(20), evidence: { kind: 'governance' } }, { nonce: 0 })
    expect(big.length).toBeGreaterThan(s + 8)
    expect(big.length).toBeLessThan(2 * s)
    fx.admit(big)
    expect(fx.pool.has(idOf(s0[3]!)) || fx.pool.has(idOf(s0[2]!))).toBe(false)
    expect(fx.pool.pendingOf('s0')).toBe(2)
    expect(fx.pool.stats().bytes).toBeLessThanOrEqual(4 * s + 8)
    const huge = fx.chain.tx('s2', 'member.revoke', { member: 'bank-a', reason: 'z'.repeat(5 * s), evidence: { kind: 'governance' } }, { nonce: 0 })
    const r = fx.pool.add(huge)
    expect(r.ok ? 'admitted' : r.error.code).toBe('FULL')
    if (!r.ok) expect(r.error.message).toMatch(/larger than the byte limit/)
    // it can never fit, so it is not a "retry later" (a pool full of others' transactions is: see above)
    expect(r.ok ? 'admitted' : r.error.retryAfterMs).toBeUndefined()
  })

  it('evicts nothing for a newcomer whose signature fails', () => {
    const fx = new Fixture({ maxCount: 3 })
    for (const n of [0, 1, 2]) fx.admit(fx.grant('s0', n))
    const r = fx.pool.add(fx.grant('s1', 0, { key: 's0' }))
    expect(r.ok ? 'admitted' : r.error.code).toBe('BAD_SIGNATURE')
    expect(fx.pool.pendingOf('s0')).toBe(3)
    expect(fx.pool.stats().removed.evicted).toBe(0)
  })
})

describe('TokenBuckets', () => {
  it('refills with time, caps at the burst, ignores a clock stepping back, and prunes full buckets', () => {
    let t = 0
    const b = new TokenBuckets({ burst: 3, perSecond: 2 }, () => t)
    t = 1_000
    for (let i = 0; i < 3; i++) b.spend('a')
    expect(b.allows('a')).toBe(false)
    expect(b.allows('b')).toBe(true)
    t = 1_500
    expect(b.tokens('a')).toBe(1)
    t = 400 // backwards: no refill, no negative tokens
    expect(b.tokens('a')).toBe(0)
    t = 10_000
    expect(b.tokens('a')).toBe(3)
    expect(b.size).toBe(1)
    b.prune()
    expect(b.size).toBe(0)
  })
})
