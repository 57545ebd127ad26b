/**
 * Gossip over real libp2p hosts on 127.0.0.1: a full mesh from static peers,
 * validator results mapped onto gossipsub (reject stops propagation and bans the
 * sender, ignore stops it without penalty), and publishing to nobody.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { bytes, connected, Hosts, text, waitFor, sleep } from './helpers.ts'
import type { P2PHost } from '../../../node/p2p/index.ts'

const TOPIC = '/fedledger/test/votes'
const hosts = new Hosts()
afterEach(() => hosts.stopAll())

type Seen = Array<{ from: string; data: string; origin: string | undefined }>

function listen(host: P2PHost, validate: (data: string) => 'accept' | 'ignore' | 'reject' = () => 'accept'): Seen {
  const seen: Seen = []
  host.subscribe(
    TOPIC,
    async (_from, data) => validate(text(data)),
    (from, data, info) => seen.push({ from, data: text(data), origin: info.origin }),
  )
  return seen
}

describe('P2PHost gossip', () => {
  it('forms a full mesh from static peers and delivers a published message to every other host', { timeout: 20_000 }, async () => {
    const a = await hosts.started(1)
    const b = await hosts.started(2, { peers: a.addresses() })
    const c = await hosts.started(3, { peers: [...a.addresses(), ...b.addresses()] })
    await connected([a, b, c])
    expect(a.connectedPeers().sort()).toEqual([b.peerId, c.peerId].sort())

    const seenA = listen(a)
    const seenB = listen(b)
    const seenC = listen(c)
    // wait until the subscriptions have propagated, then one message must reach both
    let n = 0
    await waitFor('b and c to receive a message from a', async () => {
      await a.publish(TOPIC, bytes(`hello-${n++}`))
      return seenB.length > 0 && seenC.length > 0
    }, 8000, 100)
    const first = seenB[0]
    expect(first?.data).toMatch(/^hello-/)
    // `from` is the propagation source: in a full mesh usually the publisher itself,
    // or c if c's forwarded copy won the race; the origin is always a
    expect([a.peerId, c.peerId]).toContain(first?.from)
    expect(first?.origin).toBe(a.peerId)
    expect(seenA).toEqual([]) // no emitSelf

    await b.publish(TOPIC, bytes('from-b'))
    await waitFor('a and c to receive from-b', () =>
      seenA.some((m) => m.data === 'from-b') && seenC.some((m) => m.data === 'from-b'))
    // delivered once per host even though c also hears it via a (deduplicated)
    await sleep(300)
    expect(seenC.filter((m) => m.data === 'from-b')).toHaveLength(1)
  })

  it("'ignore' stops propagation without penalty; 'reject' stops it and bans the sender", { timeout: 20_000 }, async () => {
    // a line a — b — c: c only hears a's messages through b
    const b = await hosts.started(2)
    const a = await hosts.started(1, { peers: b.addresses() })
    const c = await hosts.started(3, { peers: b.addresses() })
    await connected([a, b])
    await connected([b, c])
    expect(c.connectedPeers()).toEqual([b.peerId])

    const verdicts: string[] = []
    listen(a)
    const seenB = listen(b, (data) => {
      const verdict = data.startsWith('bad') ? 'reject' : data.startsWith('meh') ? 'ignore' : 'accept'
      verdicts.push(`${data}:${verdict}`)
      return verdict
    })
    const seenC = listen(c)

    // the path a → b → c works for accepted messages
    let n = 0
    await waitFor('c to receive a forwarded message', async () => {
      await a.publish(TOPIC, bytes(`good-${n++}`))
      return seenC.length > 0
    }, 8000, 150)
    expect(seenC[0]?.from).toBe(b.peerId) // propagation source, not the origin
    expect(seenC[0]?.origin).toBe(a.peerId)

    // ignore: not delivered at b, not forwarded to c, no penalty, a stays connected
    await a.publish(TOPIC, bytes('meh-1'))
    await waitFor('b to validate meh-1', () => verdicts.includes('meh-1:ignore'))
    await a.publish(TOPIC, bytes('good-after-meh'))
    await waitFor('c to receive good-after-meh', () => seenC.some((m) => m.data === 'good-after-meh'))
    expect(seenB.some((m) => m.data === 'meh-1')).toBe(false)
    expect(seenC.some((m) => m.data === 'meh-1')).toBe(false)
    expect(b.penalties().has(a.peerId)).toBe(false)
    expect(b.connectedPeers()).toContain(a.peerId)

    // reject: not delivered, not forwarded, a is penalised, disconnected and refused
    await a.publish(TOPIC, bytes('bad-1'))
    await waitFor('b to ban a', () => b.penalties().get(a.peerId)?.bannedUntil)
    const record = b.penalties().get(a.peerId)
    expect(record?.lastReason).toBe('gossip-reject')
    expect(record?.count).toBe(1)
    await waitFor('a to be disconnected from b', () => !b.connectedPeers().includes(a.peerId))
    // a keeps redialling b (static peer): wait until b's gater has refused it twice more
    const refusedBefore = b.refusedConnections(a.peerId)
    await waitFor("b's gater to refuse a's redials", () => b.refusedConnections(a.peerId) >= refusedBefore + 2, 8000)
    expect(b.connectedPeers()).not.toContain(a.peerId)
    expect(seenB.some((m) => m.data === 'bad-1')).toBe(false)
    expect(seenC.some((m) => m.data === 'bad-1')).toBe(false)
  })

  it('publishing with no subscribed peers resolves with 0 recipients', { timeout: 10_000 }, async () => {
    const lonely = await hosts.started(9)
    await expect(lonely.publish(TOPIC, bytes('anyone?'))).resolves.toBe(0)
    await expect(lonely.publish(TOPIC, new Uint8Array(5 * 1024 * 1024))).rejects.toMatchObject({ code: 'OVERSIZED' })
  })

  it('an oversized message is rejected, penalised, and seen by gossipsub scoring', { timeout: 20_000 }, async () => {
    // severeThreshold 2: the first reject is recorded without a ban, so the
    // connection (and gossipsub's view of the peer) stays up to be inspected
    const small = await hosts.started(4, { maxMessageBytes: 1024, penalty: { severeThreshold: 2 } })
    const big = await hosts.started(5, { peers: small.addresses() })
    await connected([small, big])
    const seen = listen(small)
    listen(big)
    await waitFor('small to receive a small message', async () => {
      await big.publish(TOPIC, bytes('tiny'))
      return seen.length > 0
    }, 8000, 100)
    expect(small.gossipScore(big.peerId)).toBeGreaterThanOrEqual(0)
    await big.publish(TOPIC, new Uint8Array(4096))
    await waitFor('small to penalise big', () => small.penalties().get(big.peerId))
    expect(small.penalties().get(big.peerId)).toMatchObject({ lastReason: 'gossip-reject', severeSinceBan: 1, bans: 0 })
    // gossipsub's own score saw the reject (topic params: −100 per invalid message;
    // scores are cached for one heartbeat)
    await waitFor('gossipsub to score big down', () => (small.gossipScore(big.peerId) ?? 0) < -50, 3000)
    expect(seen.every((m) => m.data.length < 1024)).toBe(true)
    expect(small.connectedPeers()).toEqual([big.peerId])
  })
})
