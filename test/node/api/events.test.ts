// GET /v1/events/blocks: committed blocks as Server-Sent Events, keep-alives through the server's timeouts, unsubscribing, stop(), slow clients, limits.
import { connect, type Socket } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loggerOf } from '../../helpers/logger.ts'
import { txId } from '../../../ledger/index.ts'
import type { BlockFeed, CommittedBlock } from '../../../node/api/index.ts'
import { waitFor } from '../../helpers/wait.ts'
import { modelCid } from '../../ledger/harness.ts'
import { documentedSchema } from './documented.ts'
import { buildChain, startApi, type BuiltChain, type StartedApi, type StartOptions } from './fixture.ts'

/** A feed the test publishes to by hand; `listeners.size` is what the API holds subscribed. */
class TestFeed implements BlockFeed {
  readonly listeners = new Set<(b: CommittedBlock) => void>()
  subscribe(listener: (b: CommittedBlock) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
  publish(b: CommittedBlock): void {
    for (const l of this.listeners) l(b)
  }
}

/** A streaming client over fetch: collects the raw text and splits it into events and comments. */
class SseClient {
  text = ''
  done = false
  readonly response: Response
  private readonly abort: AbortController
  private readonly pump: Promise<void>

  private constructor(response: Response, abort: AbortController) {
    this.response = response
    this.abort = abort
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    this.pump = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          this.text += decoder.decode(value, { stream: true })
        }
      } catch {
        // aborted by close()
      }
      this.done = true
    })()
  }

  static async open(url: string): Promise<SseClient> {
    const abort = new AbortController()
    const res = await fetch(url, { signal: abort.signal })
    return new SseClient(res, abort)
  }

  /** The `data` of every `event: block` so far, parsed. */
  blocks(): any[] {
    return this.text
      .split('\n\n')
      .filter((e) => e.startsWith('event: block\n'))
      .map((e) => JSON.parse(e.split('\n').find((l) => l.startsWith('data: '))!.slice(6)))
  }

  comments(): string[] {
    return this.text.split('\n').filter((l) => l.startsWith(':'))
  }

  async close(): Promise<void> {
    this.abort.abort()
    await this.pump
  }

  /** Resolves once the server ends the stream. */
  ended(): Promise<void> {
    return this.pump
  }
}

const until = (what: string, cond: () => boolean, timeoutMs = 3_000): Promise<unknown> => waitFor(what, cond, timeoutMs, 5)

let built: BuiltChain
let api: StartedApi | undefined
const clients: SseClient[] = []
const sockets: Socket[] = []

beforeAll(async () => {
  built = await buildChain()
})
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await api?.server.stop()
  api = undefined
})

async function start(feed: BlockFeed | undefined, opts: StartOptions = {}): Promise<StartedApi> {
  api = await startApi(built, { blocks: feed, ...opts })
  return api
}

async function open(path = '/v1/events/blocks'): Promise<SseClient> {
  const c = await SseClient.open(api!.url + path)
  clients.push(c)
  return c
}

const block = (height: number, ntxs = 2): CommittedBlock => ({
  height,
  id: modelCid(`block-${height}`).toString(),
  time: 1_700_000_000 + height,
  txs: Array.from({ length: ntxs }, (_, i) => txId(new TextEncoder().encode(`${height}/${i}`)).toString()),
})

describe('GET /v1/events/blocks', () => {
  it('streams each committed block as one `event: block` with the documented JSON, in order', async () => {
    const feed = new TestFeed()
    await start(feed)
    const c = await open()
    expect(c.response.status).toBe(200)
    expect(c.response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(c.response.headers.get('cache-control')).toBe('no-store')
    await until('the subscription', () => feed.listeners.size === 1)
    const published = [block(5), block(6, 0), block(7, 3)]
    // whatever else the feed's objects carry stays out of the events
    for (const b of published) feed.publish({ ...b, secret: 'x' } as CommittedBlock)
    await until('three events', () => c.blocks().length === 3)
    expect(c.blocks()).toEqual(published.map((b) => ({ height: b.height, id: b.id, time: b.time, txs: [...b.txs] })))
    expect(c.text).toBe(published.map((b) => `event: block\ndata: ${JSON.stringify(b)}\n\n`).join(''))
    for (const data of c.blocks()) expect(documentedSchema('BlockEvent').safeParse(data).success).toBe(true)
  })

  it('leaves the transaction ids out with ?txs=false and refuses other values', async () => {
    const feed = new TestFeed()
    await start(feed)
    const withTxs = await open('/v1/events/blocks?txs=true')
    const without = await open('/v1/events/blocks?txs=false')
    await until('two subscriptions', () => feed.listeners.size === 2)
    const b = block(9, 4)
    feed.publish(b)
    await until('both events', () => withTxs.blocks().length === 1 && without.blocks().length === 1)
    expect(withTxs.blocks()[0].txs).toEqual(b.txs)
    expect(without.blocks()).toEqual([{ height: 9, id: b.id, time: b.time }])
    expect(documentedSchema('BlockEvent').safeParse(without.blocks()[0]).success).toBe(true)
    const bad = await fetch(`${api!.url}/v1/events/blocks?txs=no`)
    expect([bad.status, ((await bad.json()) as any).error.code]).toEqual([400, 'BAD_REQUEST'])
    expect(feed.listeners.size).toBe(2)
  })

  it('unsubscribes from the feed when the client disconnects', async () => {
    const feed = new TestFeed()
    await start(feed)
    const a = await open()
    const b = await open()
    await until('two subscriptions', () => feed.listeners.size === 2)
    await a.close()
    await until('one subscription left', () => feed.listeners.size === 1)
    feed.publish(block(1))
    await until('the event on the open stream', () => b.blocks().length === 1)
    await b.close()
    await until('no subscription left', () => feed.listeners.size === 0)
    feed.publish(block(2)) // nobody left to write to: no throw
  })

  it('keeps a healthy stream open past the request and idle timeouts with keep-alive comments', async () => {
    const feed = new TestFeed()
    await start(feed, { options: { requestTimeoutMs: 300, headersTimeoutMs: 200, idleTimeoutMs: 400, eventKeepAliveMs: 100 } })
    const c = await open()
    await new Promise((r) => setTimeout(r, 1_200))
    expect(c.done).toBe(false)
    expect(c.comments().length).toBeGreaterThanOrEqual(5)
    expect(new Set(c.comments())).toEqual(new Set([': keep-alive']))
    feed.publish(block(3))
    await until('the event after the wait', () => c.blocks().length === 1)
  })

  it('stop() ends open streams at once, without waiting for the grace period', async () => {
    const feed = new TestFeed()
    const a = await start(feed, { options: { shutdownGraceMs: 10_000 } })
    const c = await open()
    // and a connection that was opened but never sent a request (fetch's pool does this) does not hold stop() up either
    const unused = connect(a.server.address().port, '127.0.0.1')
    sockets.push(unused)
    unused.on('error', () => {})
    const unusedClosed = new Promise((resolve) => unused.once('close', resolve))
    await new Promise((resolve) => unused.once('connect', resolve))
    await until('the subscription', () => feed.listeners.size === 1)
    const started = Date.now()
    await a.server.stop()
    await c.ended()
    await unusedClosed
    expect(Date.now() - started).toBeLessThan(1_500)
    expect(c.text).toBe('')
    expect(feed.listeners.size).toBe(0)
    api = undefined
  })

  it('cuts off a client that stops reading instead of buffering for it, and keeps serving the others', async () => {
    const feed = new TestFeed()
    const warned: object[] = []
    const a = await start(feed, { options: { maxEventBufferedBytes: 1024 * 1024 }, logger: loggerOf({ warn: (obj) => warned.push(obj) }) })
    const reading = await open('/v1/events/blocks?txs=false')
    // a raw client that sends the request and never reads a byte of the answer
    const slow = connect(a.server.address().port, '127.0.0.1')
    sockets.push(slow)
    slow.on('error', () => {})
    slow.pause()
    slow.write('GET /v1/events/blocks HTTP/1.1\r\nHost: x\r\n\r\n')
    await until('two subscriptions', () => feed.listeners.size === 2)
    const big = block(0, 1_000) // about 60 KB per event
    let sent = 0
    while (feed.listeners.size === 2 && sent < 2_000) {
      feed.publish({ ...big, height: ++sent })
      await new Promise((r) => setTimeout(r, 1))
    }
    // cut off after kernel buffers plus the 1 MiB cap filled, far short of the 2,000 events (120 MB) tried
    expect(feed.listeners.size).toBe(1)
    expect(sent).toBeLessThan(2_000)
    expect(warned).toHaveLength(1)
    expect((warned[0] as { limit: number }).limit).toBe(1024 * 1024)
    await until('the reading client caught up', () => reading.blocks().length === sent)
    expect(reading.blocks().map((b) => b.height)).toEqual(Array.from({ length: sent }, (_, i) => i + 1))
  })

  it('answers 404 EVENTS_DISABLED without a feed, and 503 TOO_MANY_STREAMS past the stream cap', async () => {
    await start(undefined)
    const none = await fetch(`${api!.url}/v1/events/blocks`)
    expect([none.status, ((await none.json()) as any).error.code]).toEqual([404, 'EVENTS_DISABLED'])
    await api!.server.stop()
    const feed = new TestFeed()
    await start(feed, { options: { maxEventStreams: 1 } })
    const first = await open()
    await until('the subscription', () => feed.listeners.size === 1)
    const refused = await fetch(`${api!.url}/v1/events/blocks`)
    expect([refused.status, refused.headers.get('retry-after'), ((await refused.json()) as any).error.code]).toEqual([503, '5', 'TOO_MANY_STREAMS'])
    expect(feed.listeners.size).toBe(1)
    await first.close()
    await until('the stream closed', () => feed.listeners.size === 0)
    const again = await open()
    expect(again.response.status).toBe(200)
    await until('the new subscription', () => feed.listeners.size === 1)
  })
})
