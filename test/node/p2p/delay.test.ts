/**
 * The "delay" fault: OutboundDelay on its own (validation, FIFO order even when
 * the delay is lowered, drop on stop) and P2PHost.setDelay on real hosts on
 * 127.0.0.1 (send, request and publish leave no sooner than the delay; 0 makes
 * delivery prompt again; stop drops what waits).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { bytes, connected, Hosts, sleep, text, waitFor } from './helpers.ts'
import { isP2PError, P2PError, type P2PHost } from '../../../node/p2p/index.ts'
import { MAX_DELAY_MS, OutboundDelay } from '../../../node/p2p/delay.ts'

const TOPIC = '/fedledger/test/delay'
const PROTOCOL = '/fedledger/test/delay-in/1'
const ECHO = '/fedledger/test/delay-echo/1'
const DELAY = 400
const hosts = new Hosts()
afterEach(() => hosts.stopAll())

const BAD_DELAYS: unknown[] = [-1, 1.5, MAX_DELAY_MS + 1, Number.NaN, Number.POSITIVE_INFINITY, '5', null]

describe('OutboundDelay', () => {
  it('validates the delay: an integer 0..10000, else INVALID_ARGUMENT and unchanged', () => {
    const d = new OutboundDelay()
    d.set(MAX_DELAY_MS)
    d.set(7)
    for (const bad of BAD_DELAYS) {
      let err: unknown
      try {
        d.set(bad as number)
      } catch (e) {
        err = e
      }
      expect([bad, isP2PError(err, 'INVALID_ARGUMENT')]).toEqual([bad, true])
    }
    expect(d.ms).toBe(7)
  })

  it('runs at once with no delay, later with one, and keeps call order when the delay is lowered', async () => {
    const d = new OutboundDelay()
    const ran: string[] = []
    const act = (name: string) => async () => {
      ran.push(name)
      return name
    }
    void d.later(act('now'))
    expect(ran).toEqual(['now']) // synchronous: no timer when nothing waits and the delay is 0
    d.set(150)
    const t0 = performance.now()
    const first = d.later(act('a'))
    d.set(0)
    const second = d.later(act('b')) // would leave at once, but must not overtake 'a'
    d.set(20)
    const third = d.later(act('c'))
    expect(ran).toEqual(['now'])
    expect(d.pending).toBe(3)
    expect(await first).toBe('a')
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150)
    await Promise.all([second, third])
    expect(ran).toEqual(['now', 'a', 'b', 'c'])
    expect(d.pending).toBe(0)
  })

  it('passes on the action\'s own failure, and drop rejects what waits without running it', async () => {
    const d = new OutboundDelay()
    d.set(30)
    await expect(d.later(async () => { throw new Error('boom') })).rejects.toThrow('boom')
    d.set(5_000)
    let ran = false
    const waiting = d.later(async () => void (ran = true))
    const t0 = performance.now()
    d.drop(new P2PError('NOT_STARTED', 'stopped'))
    await expect(waiting).rejects.toMatchObject({ code: 'NOT_STARTED' })
    expect(performance.now() - t0).toBeLessThan(1_000)
    expect(d.pending).toBe(0)
    await sleep(50)
    expect(ran).toBe(false)
  })
})

/** Two connected hosts; b records when each direct message and gossip message arrives (performance.now()). */
async function pair(): Promise<{ a: P2PHost; b: P2PHost; arrived: Map<string, number> }> {
  const a = await hosts.started(1)
  const b = await hosts.started(2, { peers: a.addresses() })
  await connected([a, b])
  const arrived = new Map<string, number>()
  b.handle(PROTOCOL, (_from, data) => void arrived.set(text(data), performance.now()))
  b.handle(ECHO, (_from, data) => data)
  b.subscribe(TOPIC, () => 'accept', (_from, data) => void arrived.set(text(data), performance.now()))
  a.subscribe(TOPIC, () => 'accept', () => {})
  let n = 0
  await waitFor('gossip to flow', async () => {
    await a.publish(TOPIC, bytes(`warm-${n++}`))
    return [...arrived.keys()].some((k) => k.startsWith('warm-'))
  }, 8000, 100)
  return { a, b, arrived }
}

/** ms from the call until b saw `name` (undefined if it never arrived within the wait) */
async function latency(arrived: Map<string, number>, name: string, send: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now()
  await send()
  await waitFor(`${name} to arrive`, () => arrived.has(name), 8000, 10)
  return arrived.get(name)! - t0
}

describe('P2PHost.setDelay', () => {
  it('holds back send, request and publish by the delay, and 0 restores prompt delivery', { timeout: 30_000 }, async () => {
    const { a, b, arrived } = await pair()
    expect(a.delay()).toBe(0)
    const prompt = async (tag: string): Promise<{ send: number; publish: number; request: number }> => {
      const send: number[] = []
      const publish: number[] = []
      const request: number[] = []
      for (let i = 0; i < 3; i++) {
        send.push(await latency(arrived, `${tag}-s${i}`, () => a.send(b.peerId, PROTOCOL, bytes(`${tag}-s${i}`))))
        publish.push(await latency(arrived, `${tag}-p${i}`, () => a.publish(TOPIC, bytes(`${tag}-p${i}`))))
        const t0 = performance.now()
        await a.request(b.peerId, ECHO, bytes('x'))
        request.push(performance.now() - t0)
      }
      return { send: Math.min(...send), publish: Math.min(...publish), request: Math.min(...request) }
    }
    const baseline = await prompt('base')
    // generous: the machine may be busy, but an undelayed loopback message is far below the delay
    expect(baseline.send).toBeLessThan(DELAY - 100)
    expect(baseline.publish).toBeLessThan(DELAY - 100)

    a.setDelay(DELAY)
    expect(a.delay()).toBe(DELAY)
    const sent = await latency(arrived, 'slow-send', async () => {
      const result = await a.send(b.peerId, PROTOCOL, bytes('slow-send'))
      expect(result).toEqual({ ok: true })
    })
    const published = await latency(arrived, 'slow-pub', () => a.publish(TOPIC, bytes('slow-pub')))
    const t0 = performance.now()
    expect(text(await a.request(b.peerId, ECHO, bytes('slow-req')))).toBe('slow-req')
    const requested = performance.now() - t0
    for (const [what, ms] of [['send', sent], ['publish', published], ['request', requested]] as const) {
      expect([what, ms >= DELAY]).toEqual([what, true])
      expect([what, ms < DELAY + 5_000]).toEqual([what, true])
    }
    // b's own traffic is not delayed
    expect(b.delay()).toBe(0)

    // equal delays keep order: gossip published back to back arrives in call order
    const order: string[] = []
    b.subscribe(`${TOPIC}/order`, () => 'accept', (_from, data) => void order.push(text(data)))
    a.subscribe(`${TOPIC}/order`, () => 'accept', () => {})
    await waitFor('a to see b on the order topic', async () => {
      a.setDelay(0)
      await a.publish(`${TOPIC}/order`, bytes('probe'))
      return order.length > 0
    }, 8000, 100)
    a.setDelay(150)
    await Promise.all(Array.from({ length: 5 }, (_, i) => a.publish(`${TOPIC}/order`, bytes(`o${i}`))))
    const ordered = () => order.filter((m) => m !== 'probe')
    await waitFor('the ordered messages', () => ordered().length === 5, 8000, 10)
    expect(ordered()).toEqual(['o0', 'o1', 'o2', 'o3', 'o4'])

    a.setDelay(0)
    expect(a.delay()).toBe(0)
    const after = await prompt('after')
    expect(after.send).toBeLessThan(DELAY - 100)
    expect(after.publish).toBeLessThan(DELAY - 100)
    expect(after.request).toBeLessThan(DELAY - 100)
  })

  it('refuses a bad delay with INVALID_ARGUMENT and keeps the old one', async () => {
    const a = await hosts.make(1)
    a.setDelay(250)
    for (const bad of BAD_DELAYS) {
      expect(() => a.setDelay(bad as number)).toThrow(P2PError)
      try {
        a.setDelay(bad as number)
      } catch (e) {
        expect([bad, (e as P2PError).code]).toEqual([bad, 'INVALID_ARGUMENT'])
      }
    }
    expect(a.delay()).toBe(250)
  })

  it('stop drops what still waits (send resolves, publish and request reject, NOT_STARTED); the delay survives a restart', { timeout: 30_000 }, async () => {
    const { a, b, arrived } = await pair()
    a.setDelay(3_000)
    const t0 = performance.now()
    const sending = a.send(b.peerId, PROTOCOL, bytes('never-sent'))
    const publishing = a.publish(TOPIC, bytes('never-published')).then(() => 'published', (e: unknown) => e)
    const requesting = a.request(b.peerId, ECHO, bytes('never-asked')).then(() => 'answered', (e: unknown) => e)
    await sleep(50)
    await a.stop()
    const sent = await sending
    expect(sent.ok).toBe(false)
    expect(sent.ok ? undefined : sent.error.code).toBe('NOT_STARTED')
    expect(isP2PError(await publishing, 'NOT_STARTED')).toBe(true)
    expect(isP2PError(await requesting, 'NOT_STARTED')).toBe(true)
    expect(performance.now() - t0).toBeLessThan(2_500) // dropped, not waited out
    expect(a.delay()).toBe(3_000)
    await a.start()
    expect(a.delay()).toBe(3_000)
    await sleep(200)
    expect(arrived.has('never-sent') || arrived.has('never-published')).toBe(false)
  })
})
