// POST /v1/admin/block, /unblock and /delay: testnet fault injection through the optional admin component, off (404) without it, and strict bodies.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loggerOf } from '../../helpers/logger.ts'
import { MAX_ADMIN_PEERS, MAX_PEER_ID_LENGTH, type ApiAdmin } from '../../../node/api/index.ts'
import { buildChain, startApi, type BuiltChain, type StartedApi, type StartOptions } from './fixture.ts'

const A = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
const C = 'QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC'

let built: BuiltChain
let api: StartedApi | undefined
beforeAll(async () => {
  built = await buildChain()
})
afterEach(async () => {
  await api?.server.stop()
  api = undefined
})

/** An in-memory admin component that records every call; `fail` makes the next block throw it. */
class FakeAdmin implements ApiAdmin {
  readonly calls: Array<[op: string, peers: string[]]> = []
  readonly set = new Set<string>()
  fail: unknown = undefined

  async block(peers: string[]): Promise<void> {
    this.calls.push(['block', [...peers]])
    if (this.fail !== undefined) throw this.fail
    for (const p of peers) this.set.add(p)
  }

  unblock(peers: string[]): void {
    this.calls.push(['unblock', [...peers]])
    for (const p of peers) this.set.delete(p)
  }

  blocked(): string[] {
    return [...this.set]
  }

  ms = 0
  setDelay(ms: number): void {
    this.calls.push(['setDelay', [String(ms)]])
    if (this.fail !== undefined) throw this.fail
    this.ms = ms
  }

  delay(): number {
    return this.ms
  }
}

async function start(opts: StartOptions = {}): Promise<StartedApi> {
  api = await startApi(built, opts)
  return api
}

/** `contentType` null sends none */
async function post(op: 'block' | 'unblock' | 'delay', body: RequestInit['body'], contentType: string | null = 'application/json'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api!.url}/v1/admin/${op}`, { method: 'POST', body, headers: contentType === null ? {} : { 'content-type': contentType } })
  return { status: res.status, body: await res.json() }
}

const peersBody = (...peers: unknown[]) => JSON.stringify({ peers })

describe('admin routes with an admin component', () => {
  it('block and unblock pass the peers to the component and answer with what is blocked now', async () => {
    const admin = new FakeAdmin()
    admin.set.add(C) // blocked before the request: the answer lists it too
    await start({ admin })
    expect(await post('block', peersBody(A, B, A), 'application/json; charset=utf-8')).toEqual({ status: 200, body: { blocked: [C, A, B] } })
    expect(await post('unblock', peersBody(A, C))).toEqual({ status: 200, body: { blocked: [B] } })
    expect(await post('unblock', peersBody(A))).toEqual({ status: 200, body: { blocked: [B] } })
    // duplicates are dropped, order kept
    expect(admin.calls).toEqual([['block', [A, B]], ['unblock', [A, C]], ['unblock', [A]]])
  })

  it('accepts the limits exactly: 100 peers, 128-character ids', async () => {
    const admin = new FakeAdmin()
    await start({ admin })
    const many = Array.from({ length: MAX_ADMIN_PEERS }, (_, i) => `${A.slice(0, -3)}${String(i).padStart(3, '0')}`)
    const r = await post('block', peersBody(...many))
    expect([r.status, r.body.blocked.length]).toEqual([200, MAX_ADMIN_PEERS])
    const long = 'k'.repeat(MAX_PEER_ID_LENGTH)
    expect(await post('unblock', peersBody(long))).toEqual({ status: 200, body: { blocked: many } })
    expect(admin.calls.map(([op, peers]) => [op, peers.length])).toEqual([['block', 100], ['unblock', 1]])
  })

  it('refuses malformed bodies (400), other content types (415) and oversized bodies (413) without calling the component', async () => {
    const admin = new FakeAdmin()
    await start({ admin })
    const cases: Array<[RequestInit['body'], string | null, number, string]> = [
      [peersBody(A), null, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [peersBody(A), 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [peersBody(A), 'application/cbor', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['{"peers": [', 'application/json', 400, 'BAD_REQUEST'],
      [new Uint8Array([0x7b, 0xff, 0x7d]), 'application/json', 400, 'BAD_REQUEST'],
      ['', 'application/json', 400, 'BAD_REQUEST'],
      ['null', 'application/json', 400, 'BAD_REQUEST'],
      [JSON.stringify([A]), 'application/json', 400, 'BAD_REQUEST'],
      ['{}', 'application/json', 400, 'BAD_REQUEST'],
      [JSON.stringify({ peer: [A] }), 'application/json', 400, 'BAD_REQUEST'],
      [JSON.stringify({ peers: [A], extra: 1 }), 'application/json', 400, 'BAD_REQUEST'],
      [JSON.stringify({ peers: A }), 'application/json', 400, 'BAD_REQUEST'],
      [peersBody(), 'application/json', 400, 'BAD_REQUEST'],
      [peersBody(...Array.from({ length: MAX_ADMIN_PEERS + 1 }, (_, i) => `p${i}`)), 'application/json', 400, 'BAD_REQUEST'],
      [peersBody(A, 5), 'application/json', 400, 'BAD_REQUEST'],
      [peersBody(A, null), 'application/json', 400, 'BAD_REQUEST'],
      [peersBody(''), 'application/json', 400, 'BAD_REQUEST'],
      [peersBody('k'.repeat(MAX_PEER_ID_LENGTH + 1)), 'application/json', 400, 'BAD_REQUEST'],
      [peersBody(`${A}/p2p`), 'application/json', 400, 'BAD_REQUEST'],
      [peersBody(' ' + A), 'application/json', 400, 'BAD_REQUEST'],
      [JSON.stringify({ peers: [A], pad: 'x'.repeat(70 * 1024) }), 'application/json', 413, 'PAYLOAD_TOO_LARGE'],
    ]
    for (const op of ['block', 'unblock'] as const) {
      for (const [body, type, status, code] of cases) {
        const r = await post(op, body, type)
        expect([op, String(body).slice(0, 40), r.status, r.body.error?.code]).toEqual([op, String(body).slice(0, 40), status, code])
      }
    }
    // the message names the offending element
    expect((await post('block', peersBody(A, B, 7))).body.error.message).toContain('peers[2]')
    expect(admin.calls).toEqual([])
  })

  it('maps a peer id the component rejects (code INVALID_ARGUMENT) to 400, anything else it throws to a logged 500', async () => {
    const admin = new FakeAdmin()
    const logged: unknown[] = []
    await start({ admin, logger: loggerOf({ error: (obj) => logged.push((obj as { err: unknown }).err) }) })
    admin.fail = Object.assign(new Error(`not a peer id: "${C}x"`), { code: 'INVALID_ARGUMENT' })
    expect(await post('block', peersBody(`${C}x`))).toEqual({ status: 400, body: { error: { code: 'BAD_REQUEST', message: `not a peer id: "${C}x"` } } })
    admin.fail = new Error('gater exploded at /secret')
    expect(await post('block', peersBody(A))).toEqual({ status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } })
    expect(logged.map((e) => (e as Error).message)).toEqual(['gater exploded at /secret'])
    expect(admin.set.size).toBe(0)
  })

  it('serves POST only (405 for GET)', async () => {
    await start({ admin: new FakeAdmin() })
    const res = await fetch(`${api!.url}/v1/admin/block`)
    expect([res.status, res.headers.get('allow'), ((await res.json()) as any).error.code]).toEqual([405, 'POST', 'METHOD_NOT_ALLOWED'])
  })
})

describe('POST /v1/admin/delay', () => {
  it('sets the delay on the component and answers with the delay in force', async () => {
    const admin = new FakeAdmin()
    await start({ admin })
    expect(await post('delay', '{"ms":400}')).toEqual({ status: 200, body: { delayMs: 400 } })
    expect(admin.ms).toBe(400)
    expect(await post('delay', JSON.stringify({ ms: 10_000 }), 'application/json; charset=utf-8')).toEqual({ status: 200, body: { delayMs: 10_000 } })
    expect(await post('delay', '{"ms":0}')).toEqual({ status: 200, body: { delayMs: 0 } })
    expect(admin.calls).toEqual([['setDelay', ['400']], ['setDelay', ['10000']], ['setDelay', ['0']]])
  })

  it('refuses bad bodies (400 BAD_REQUEST), other content types (415) and oversized bodies (413) without calling the component', async () => {
    const admin = new FakeAdmin()
    admin.ms = 250
    await start({ admin })
    const cases: Array<[RequestInit['body'], string | null, number, string]> = [
      ['{"ms":1}', null, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['{"ms":1}', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['{"ms": ', 'application/json', 400, 'BAD_REQUEST'],
      ['', 'application/json', 400, 'BAD_REQUEST'],
      ['null', 'application/json', 400, 'BAD_REQUEST'],
      ['[5]', 'application/json', 400, 'BAD_REQUEST'],
      ['5', 'application/json', 400, 'BAD_REQUEST'],
      ['{}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"delay":5}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"ms":5,"extra":1}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"ms":-1}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"ms":10001}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"ms":1.5}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"ms":"400"}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"ms":null}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"ms":1e400}', 'application/json', 400, 'BAD_REQUEST'],
      [JSON.stringify({ ms: 5, pad: 'x'.repeat(70 * 1024) }), 'application/json', 413, 'PAYLOAD_TOO_LARGE'],
    ]
    for (const [body, type, status, code] of cases) {
      const r = await post('delay', body, type)
      expect([String(body).slice(0, 40), r.status, r.body.error?.code]).toEqual([String(body).slice(0, 40), status, code])
    }
    expect((await post('delay', '{"ms":-1}')).body.error.message).toMatch(/\{"ms": N\}.*0 to 10000/)
    expect(admin.calls).toEqual([])
    expect(admin.ms).toBe(250)
  })

  it('maps a delay the component rejects (code INVALID_ARGUMENT) to 400, anything else to a logged 500', async () => {
    const admin = new FakeAdmin()
    const logged: unknown[] = []
    await start({ admin, logger: loggerOf({ error: (obj) => logged.push((obj as { err: unknown }).err) }) })
    admin.fail = Object.assign(new Error('delay too long for this host'), { code: 'INVALID_ARGUMENT' })
    expect(await post('delay', '{"ms":9000}')).toEqual({ status: 400, body: { error: { code: 'BAD_REQUEST', message: 'delay too long for this host' } } })
    admin.fail = new Error('timer wheel broke')
    expect((await post('delay', '{"ms":10}')).status).toBe(500)
    expect(logged.map((e) => (e as Error).message)).toEqual(['timer wheel broke'])
    expect(admin.ms).toBe(0)
  })
})

describe('admin routes without an admin component (production nodes)', () => {
  it('answer 404 ADMIN_DISABLED whatever the body, pointing at config api.admin', async () => {
    await start()
    for (const [body, type] of [['{"ms":100}', 'application/json'], ['junk', 'text/plain'], ['{}', 'application/json']] as const) {
      const r = await post('delay', body, type)
      expect(['delay', body, r.status, r.body.error.code]).toEqual(['delay', body, 404, 'ADMIN_DISABLED'])
      expect(r.body.error.message).toContain('api.admin')
    }
    for (const op of ['block', 'unblock'] as const) {
      for (const [body, type] of [[peersBody(A), 'application/json'], ['junk', 'text/plain'], ['{}', 'application/json']] as const) {
        const r = await post(op, body, type)
        expect([op, body, r.status, r.body.error.code]).toEqual([op, body, 404, 'ADMIN_DISABLED'])
        expect(r.body.error.message).toContain('api.admin')
      }
    }
    // a genuinely unknown admin path is still NO_ROUTE, not ADMIN_DISABLED
    const res = await fetch(`${api!.url}/v1/admin/partition`, { method: 'POST' })
    expect([res.status, ((await res.json()) as any).error.code]).toEqual([404, 'NO_ROUTE'])
  })
})
