/**
 * Connection gating and lifecycle on real hosts (127.0.0.1): allowedPeers,
 * block/unblock partitions that heal, bans that expire, and stop().
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createConnection } from 'node:net'
import { pino } from 'pino'
import { bytes, connected, Hosts, idOf, recordingLogger, sleep, text, waitFor } from './helpers.ts'
import { isP2PError, P2PHost, peerKeyFromSeed } from '../../../node/p2p/index.ts'

const TOPIC = '/fedledger/test/blocks'
const hosts = new Hosts()
afterEach(() => hosts.stopAll())

describe('P2PHost gating and lifecycle', () => {
  it('allowedPeers: a host with an unknown key cannot connect, an allowed one can', { timeout: 20_000 }, async () => {
    const allowed = await idOf(2)
    const guarded = await hosts.make(1, { allowedPeers: [allowed] })
    const seenPeers: string[] = []
    guarded.onPeer((peer, up) => seenPeers.push(`${peer}:${up}`))
    let served = 0
    guarded.handle('/fedledger/test/x/1', () => {
      served++
      return bytes('ok')
    })
    await guarded.start()
    const stranger = await hosts.started(3, { peers: guarded.addresses() })
    const friend = await hosts.started(2, { peers: guarded.addresses() })
    await connected([guarded, friend])
    await expect(friend.request(guarded.peerId, '/fedledger/test/x/1', bytes('x'))).resolves.toEqual(bytes('ok'))
    // the stranger redials all along: wait until the gater has refused it a few times
    await waitFor('the stranger to be refused three times', () => guarded.refusedConnections(stranger.peerId) >= 3, 8000)
    // the stranger's dialer may briefly believe an optimistic upgrade succeeded, but
    // the guarded host never admits it and it can never get a stream through
    expect(guarded.connectedPeers()).toEqual([friend.peerId])
    expect(seenPeers).toEqual([`${friend.peerId}:true`])
    const refused = await stranger.request(guarded.peerId, '/fedledger/test/x/1', bytes('x')).catch((e: unknown) => e)
    expect(isP2PError(refused)).toBe(true)
    expect(served).toBe(1)
    await waitFor('the stranger to hold no connection', () => stranger.connectedPeers().length === 0)
    // outbound too: the guarded host refuses to reach the stranger
    const err = await guarded.request(stranger.peerId, '/fedledger/test/x/1', bytes('x')).catch((e: unknown) => e)
    expect(isP2PError(err, 'DENIED')).toBe(true)
  })

  it('block/unblock: a partition stops messages and heals after unblock', { timeout: 20_000 }, async () => {
    const a = await hosts.started(1)
    const b = await hosts.started(2, { peers: a.addresses() })
    await connected([a, b])
    const events: string[] = []
    a.onPeer((peer, up) => events.push(`${peer === b.peerId ? 'b' : peer}:${up ? 'up' : 'down'}`))
    const seen: string[] = []
    b.subscribe(TOPIC, () => 'accept', (_from, data) => seen.push(text(data)))
    a.subscribe(TOPIC, () => 'accept', () => {})
    b.handle('/fedledger/test/echo/1', (_from, data) => data)
    let n = 0
    await waitFor('gossip to flow', async () => {
      await a.publish(TOPIC, bytes(`m${n++}`))
      return seen.length > 0
    }, 8000, 100)

    await a.block([b.peerId])
    expect(a.blocked()).toEqual([b.peerId])
    await waitFor('the connection to close', () => a.connectedPeers().length === 0 && b.connectedPeers().length === 0)
    await waitFor('the disconnect event', () => events.includes('b:down'))
    await a.publish(TOPIC, bytes('during-partition')) // no peers: resolves, goes nowhere
    await expect(a.request(b.peerId, '/fedledger/test/echo/1', bytes('x'))).rejects.toMatchObject({ code: 'DENIED' })
    // b keeps redialling a (a is its static peer); wait until a's gater has refused it twice more
    const refusedBefore = a.refusedConnections(b.peerId)
    await waitFor("a's gater to refuse b's redials", () => a.refusedConnections(b.peerId) >= refusedBefore + 2, 8000)
    expect(a.connectedPeers()).toEqual([])
    expect(seen).not.toContain('during-partition')

    a.unblock([b.peerId])
    await connected([a, b])
    expect(events.filter((e) => e === 'b:up').length).toBeGreaterThanOrEqual(1)
    await waitFor('gossip to flow again', async () => {
      await a.publish(TOPIC, bytes(`healed-${n++}`))
      return seen.some((m) => m.startsWith('healed-'))
    }, 8000, 100)
    expect(text(await a.request(b.peerId, '/fedledger/test/echo/1', bytes('back')))).toBe('back')
  })

  it('blocked static peers are not redialled until unblocked; bans expire after the cool-down', { timeout: 20_000 }, async () => {
    const a = await hosts.started(1)
    const log = recordingLogger()
    const b = await hosts.started(2, { peers: a.addresses(), penalty: { coolDownMs: 800 } }, log)
    const dialFailures = (): number => log.lines.filter((l) => l.msg === 'static peer dial failed').length
    await connected([a, b])
    await b.block([a.peerId])
    await waitFor('the connection to close', () => b.connectedPeers().length === 0)
    await sleep(500) // several redial periods (100–400 ms)
    expect(b.connectedPeers()).toEqual([])
    expect(dialFailures()).toBe(0) // b did not even try: a refused dial would have been logged
    b.unblock([a.peerId])
    await connected([a, b]) // b redials its static peer at once

    b.penalise(a.peerId, 'test-offence', 'minor')
    expect(b.penalties().get(a.peerId)).toMatchObject({ count: 1, minorSinceBan: 1, lastReason: 'test-offence' })
    expect(b.connectedPeers()).toEqual([a.peerId]) // one minor offence is below the threshold
    b.penalise(a.peerId, 'equivocation')
    expect(b.penalties().get(a.peerId)?.bannedUntil).toBeGreaterThan(Date.now())
    await waitFor('the ban to disconnect a', () => b.connectedPeers().length === 0)
    await connected([a, b]) // after 800 ms the ban expires and b redials a
    expect(b.penalties().get(a.peerId)).toMatchObject({ count: 2, bans: 1 })
    expect(b.penalties().get(a.peerId)?.bannedUntil).toBeUndefined()
  })

  it('stop() closes listeners and connections, is idempotent, and the host can restart', { timeout: 20_000 }, async () => {
    const a = await hosts.started(1)
    const b = await hosts.started(2, { peers: a.addresses(), redialMinMs: 5_000, redialMaxMs: 5_000 })
    await connected([a, b])
    const addr = a.addresses()
    expect(addr[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${a.peerId}$`))
    await Promise.all([a.stop(), a.stop()])
    await a.stop()
    expect(a.started).toBe(false)
    expect(a.connectedPeers()).toEqual([])
    await waitFor('b to see a gone', () => b.connectedPeers().length === 0)
    expect(() => a.addresses()).toThrow(/not started/)
    await expect(a.publish(TOPIC, bytes('x'))).rejects.toMatchObject({ code: 'NOT_STARTED' })
    expect((await a.send(b.peerId, '/x/1', bytes('x'))).ok).toBe(false)

    // nothing listens on the old port any more: a plain TCP connect is refused
    const port = Number(/\/tcp\/(\d+)\//.exec(addr[0] ?? '')?.[1])
    const refused = await new Promise<string>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port })
      socket.once('connect', () => {
        socket.destroy()
        resolve('connected')
      })
      socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'))
    })
    expect(refused).toBe('ECONNREFUSED')
    // and a libp2p dial to the old address fails with a typed error
    const logger = pino({ level: 'silent' }) // a pino logger is accepted as is
    const probe = new P2PHost({ privateKey: await peerKeyFromSeed(new Uint8Array(32).fill(3)), logger }, {
      listen: '/ip4/127.0.0.1/tcp/0',
      peers: addr,
      dialTimeoutMs: 1000,
    })
    hosts.all.push(probe)
    await probe.start()
    const err = await probe.request(a.peerId, '/fedledger/test/x/1', bytes('x'), { timeoutMs: 2000 }).catch((e: unknown) => e)
    expect(isP2PError(err, 'NO_CONNECTION')).toBe(true)

    await Promise.all([a.start(), a.start()]) // restartable (concurrent starts serialise), on a new port
    expect(a.addresses()[0]).not.toBe(addr[0])
    // a port in use is a typed start failure, and the host stays stopped
    const clash = await hosts.make(4, { listen: a.addresses()[0]?.replace(/\/p2p\/.*$/, '') ?? '' })
    await expect(clash.start()).rejects.toMatchObject({ code: 'START_FAILED' })
    expect(clash.started).toBe(false)
    await a.stop()
  })
})
