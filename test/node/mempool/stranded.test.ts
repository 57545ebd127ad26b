// The overload collapse's stranded nonces, reproduced in-process: a client offers each
// sender's transactions in nonce order while the chain stalls and resumes, the pool
// refuses some of them, and blocks are taken from the pool and executed on the real
// ledger. Before the fix a refusal of nonce k could be followed by an admission of
// k+1 (k was too far ahead and, after a commit, k+1 no longer was; or k was refused
// for its rate), and k+1 then waited behind k forever: accepted, never committed.
// NONCE_GAP also said "never" when it meant "not now", so a client that followed the
// API dropped k.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { commandKey } from '../../../consensus/index.ts'
import { RETRY_AFTER_MS } from '../../../node/mempool/index.ts'
import { label, Fixture } from './fixture.ts'

const SENDERS = ['s0', 's1', 's2']
const PER_SENDER = 12
/** a small pool: clients are deferred (FULL) while 5 are held, nonces at most 3 ahead, a burst of 6 per sender */
const POOL = { maxHeldForClients: 5, maxNonceGap: 3, rateLimit: { burst: 6, perSecond: 1 } } as const
/** the same with a door that never closes: every refusal then has decoded its transaction */
const OPEN_DOOR = { ...POOL, maxHeldForClients: 10_000 } as const

type Step = { kind: 'offer'; sender: number; count: number } | { kind: 'block'; size: number }

/** How a client treats a refusal: drop the transaction, or keep it (at the head of its sender's queue) when the node says "not now". */
type Policy = 'drop-every-refusal' | 'retry-when-asked'

interface Run {
  fx: Fixture
  accepted: Set<string>
  committed: Set<string>
  /** transactions still queued in the client (not accepted, not dropped) */
  queued: number
}

function run(steps: readonly Step[], policy: Policy, pool: typeof POOL | typeof OPEN_DOOR = POOL): Run {
  const fx = new Fixture(pool, SENDERS)
  const queues = SENDERS.map((s) => Array.from({ length: PER_SENDER }, (_, n) => fx.grant(s, n)))
  const accepted = new Set<string>()
  const committed = new Set<string>()
  const offer = (s: number, count: number) => {
    for (let i = 0; i < count && queues[s]!.length > 0; i++) {
      const tx = queues[s]![0]!
      const r = fx.pool.add(tx, { from: 'local' })
      if (r.ok) accepted.add(commandKey(tx))
      else if (policy === 'retry-when-asked' && r.error.retryAfterMs !== undefined) break // offered again later, still first in line
      queues[s]!.shift()
    }
  }
  const block = (size: number): number => {
    fx.clock.t += 1_000 // a block a second: each sender regains a token
    const txs = fx.pool.take(size, Number.MAX_SAFE_INTEGER, new Set())
    if (txs.length === 0) return 0
    const receipts = fx.commit(txs)
    // the pool hands out only what the ledger runs: each sender's next nonces, in order
    expect(receipts.map((r) => r.code), label(txs).join(' ')).toEqual(txs.map(() => 'OK'))
    for (const t of txs) committed.add(commandKey(t))
    return txs.length
  }
  for (const step of steps) {
    if (step.kind === 'offer') offer(step.sender, step.count)
    else block(step.size)
  }
  // the load stops; the client offers what it still holds while the chain drains
  for (let round = 0; round < 4 * PER_SENDER * SENDERS.length; round++) {
    for (let s = 0; s < SENDERS.length; s++) offer(s, PER_SENDER)
    if (block(4) === 0 && queues.every((q) => q.length === 0)) break
  }
  return { fx, accepted, committed, queued: queues.reduce((n, q) => n + q.length, 0) }
}

const steps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('offer' as const), sender: fc.nat({ max: SENDERS.length - 1 }), count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('block' as const), size: fc.integer({ min: 1, max: 6 }) }),
  ),
  { maxLength: 40 },
)

describe('TxMempool under overload: no stranded nonces', () => {
  it('a refused nonce refuses the same sender’s later ones too, so nothing accepted waits behind it (a client that drops every refusal)', () => {
    // the collapse's pattern, by hand: the chain stalls and s0's nonce 4 is past the window (0 + 3);
    // a block commits 0 and 1, and nonce 5 is within the window again (2 + 3), but 4 was never admitted
    const stalled = run([{ kind: 'offer', sender: 0, count: 5 }, { kind: 'block', size: 2 }, { kind: 'offer', sender: 0, count: 1 }], 'drop-every-refusal', OPEN_DOOR)
    const waiting = [...stalled.accepted].filter((k) => !stalled.committed.has(k))
    expect(waiting, 'accepted but never committed').toEqual([])
    expect(stalled.fx.pool.size()).toBe(0)
    // (a client that drops a FULL answer from the door, which refuses before decoding, is not covered: the node cannot tell whose it was)
    fc.assert(
      fc.property(steps, (s) => {
        const r = run(s, 'drop-every-refusal', OPEN_DOOR)
        expect([...r.accepted].filter((k) => !r.committed.has(k))).toEqual([])
        expect(r.fx.pool.size()).toBe(0)
      }),
      { numRuns: 150 },
    )
  })

  it('every refusal of a valid transaction under load says "not now" (retryAfterMs), so a client that retries when asked loses nothing', () => {
    fc.assert(
      fc.property(steps, (s) => {
        const r = run(s, 'retry-when-asked')
        expect(r.queued).toBe(0)
        expect(r.committed.size).toBe(SENDERS.length * PER_SENDER)
      }),
      { numRuns: 150 },
    )
  })

  it('holds a client’s nonce gap that this node never refused (nonces sent through several validators), and a peer’s copy of a refused nonce releases the rest', () => {
    const fx = new Fixture({ ...OPEN_DOOR, rateLimit: null }, SENDERS)
    const s0 = Array.from({ length: 8 }, (_, n) => fx.grant('s0', n))
    // nonce 0 went to another validator: this node never saw it, so 1 waits here for 0 to arrive
    fx.admit(s0[1]!, 'local')
    // nonce 4 is past the window (next 0 + 3): refused, and 5 after it too, though 5 will be in the window …
    const far = fx.pool.add(s0[4]!, { from: 'local' })
    expect(far.ok ? 'admitted' : [far.error.code, far.error.retryAfterMs]).toEqual(['NONCE_GAP', RETRY_AFTER_MS])
    fx.admit(s0[0]!, 'peer')
    fx.admit(s0[2]!, 'local')
    fx.commit([s0[0]!, s0[1]!, s0[2]!]) // next is 3: 4 and 5 are within the window now
    const held = fx.pool.add(s0[5]!, { from: 'local' })
    expect(held.ok ? 'admitted' : [held.error.code, held.error.message]).toEqual(['NONCE_GAP', "nonce 4 of 's0' was refused here and is not held; offer it before nonce 5 (retry once 4 is accepted)"])
    // … until 4 is held: here from a peer that took it
    fx.admit(s0[3]!, 'local')
    fx.admit(s0[4]!, 'peer')
    fx.admit(s0[5]!, 'local')
    // other senders are not held back
    fx.admit(fx.grant('s1', 0), 'local')
    expect(label(fx.pool.take(10, Number.MAX_SAFE_INTEGER, new Set()))).toEqual(['s0:3', 's0:4', 's0:5', 's1:0'])
  })
})
