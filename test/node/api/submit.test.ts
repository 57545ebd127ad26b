// POST /v1/txs: both body forms, how submit's errors map to statuses, and hostile input (huge, partial, malformed requests).
import { connect } from 'node:net'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loggerOf } from '../../helpers/logger.ts'
import { LedgerError, txId } from '../../../ledger/index.ts'
import { SubmitError } from '../../../node/api/index.ts'
import { buildChain, startApi, type BuiltChain, type StartedApi, type StartOptions } from './fixture.ts'

let built: BuiltChain
let api: StartedApi | undefined
let tx: Uint8Array

beforeAll(async () => {
  built = await buildChain()
  tx = built.chain.tx('bank-a', 'round.commit', { round: 'r2', ciphertext: txId(new Uint8Array([1])), ...built.chain.statement('r2', 'bank-a') })
})
afterEach(async () => {
  await api?.server.stop()
  api = undefined
})

async function start(opts: StartOptions = {}): Promise<StartedApi> {
  api = await startApi(built, opts)
  return api
}

type Body = RequestInit['body']

async function post(body: Body, contentType: string | undefined, extra: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  api ??= await startApi(built)
  const res = await fetch(`${api.url}/v1/txs`, { method: 'POST', body, headers: contentType === undefined ? {} : { 'content-type': contentType }, ...extra })
  const text = await res.text()
  return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined, headers: res.headers }
}

/** Raw HTTP over a socket: resolves with everything the server sent once it closes the connection (or after `waitMs`). */
function rawRequest(port: number, chunks: string[], waitMs = 3_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ text, closed: false })
    }, waitMs)
    socket.on('data', (d) => (text += d.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ text, closed: true })
    })
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c)
    })
    socket.on('timeout', reject)
  })
}

describe('POST /v1/txs', () => {
  it('accepts raw DAG-CBOR and JSON base64, handing the exact bytes to submit', async () => {
    const a = await start()
    const raw = await post(tx, 'application/cbor')
    expect([raw.status, raw.body]).toEqual([202, { id: txId(tx).toString() }])
    expect(raw.headers.get('location')).toBe(`/v1/txs/${txId(tx)}`)
    const json = await post(JSON.stringify({ tx: Buffer.from(tx).toString('base64') }), 'application/json; charset=utf-8')
    expect(json.status).toBe(202)
    expect(a.submitted).toHaveLength(2)
    expect(a.submitted.every((b) => Buffer.compare(b, tx) === 0)).toBe(true)
  })

  it('refuses a wrong or missing content type (415) and malformed bodies (400) without calling submit', async () => {
    const a = await start()
    const cases: Array<[Body, string | undefined, number, string]> = [
      [tx, 'application/octet-stream', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [tx, undefined, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['{"tx": ', 'application/json', 400, 'BAD_REQUEST'],
      ['[]', 'application/json', 400, 'BAD_REQUEST'],
      ['{"tx": 5}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"tx": "not base64!"}', 'application/json', 400, 'BAD_REQUEST'],
      ['{"tx": "QUJD"} ', 'application/json', 202, ''], // sanity: valid base64 of "ABC" reaches submit
      [new Uint8Array([0xff, 0xfe]), 'application/json', 400, 'BAD_REQUEST'],
      [new Uint8Array(0), 'application/cbor', 400, 'BAD_REQUEST'],
      ['{"tx": ""}', 'application/json', 400, 'BAD_REQUEST'],
    ]
    for (const [body, type, status, code] of cases) {
      const r = await post(body, type)
      expect([String(body).slice(0, 20), r.status, r.body.error?.code ?? '']).toEqual([String(body).slice(0, 20), status, code])
    }
    expect(a.submitted.map((b) => Buffer.from(b).toString())).toEqual(['ABC'])
  })

  it('maps what submit throws to 422, 429, 503 and 500, passing codes through but never internal messages', async () => {
    let next: unknown
    const logged: unknown[] = []
    await start({ submit: async () => { throw next }, logger: loggerOf({ error: (obj) => logged.push((obj as { err: unknown }).err) }) })
    const cases: Array<[unknown, number, string, string | null]> = [
      [new SubmitError('rejected', 'BAD_NONCE', 'nonce 3 expected 4'), 422, 'BAD_NONCE', null],
      [new LedgerError('MALFORMED', 'malformed DAG-CBOR'), 422, 'MALFORMED', null],
      [new SubmitError('rate-limited', 'RATE_LIMITED', 'slow down', { retryAfterSeconds: 2.5 }), 429, 'RATE_LIMITED', '3'],
      [new SubmitError('mempool-full', 'MEMPOOL_FULL', 'mempool is full', { retryAfterSeconds: 1 }), 503, 'MEMPOOL_FULL', '1'],
      [new SubmitError('not-ready', 'SYNCING', 'catching up'), 503, 'SYNCING', null],
      [new Error('db handle at /var/secret exploded'), 500, 'INTERNAL', null],
      [new TypeError("Cannot read properties of undefined (reading 'x')"), 500, 'INTERNAL', null],
    ]
    for (const [err, status, code, retryAfter] of cases) {
      next = err
      const r = await post(tx, 'application/cbor')
      expect([r.status, r.body.error.code, r.headers.get('retry-after')]).toEqual([status, code, retryAfter])
      if (status === 500) expect(JSON.stringify(r.body)).toBe('{"error":{"code":"INTERNAL","message":"internal error"}}')
      else expect(r.body.error.message).toBe((err as Error).message)
    }
    // the causes of the 500s are logged (and only those)
    expect(logged.map((e) => (e as Error).message)).toEqual(['db handle at /var/secret exploded', "Cannot read properties of undefined (reading 'x')"])
    // the server survived all of it
    expect((await fetch(`${api!.url}/v1/params`)).status).toBe(200)
  })
})

describe('hostile requests', () => {
  it('refuses a body over the cap with 413, whether declared or streamed', async () => {
    const a = await start({ options: { maxBodyBytes: 64 * 1024 } })
    const big = new Uint8Array(200 * 1024)
    const declared = await post(big, 'application/cbor')
    expect([declared.status, declared.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    const chunk = new Uint8Array(16 * 1024)
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 40) controller.close()
        else {
          sent++
          controller.enqueue(chunk)
        }
      },
    })
    const streamed = await post(stream, 'application/cbor', { duplex: 'half' } as RequestInit)
    expect([streamed.status, streamed.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    // just under the cap is fine
    expect((await post(new Uint8Array(64 * 1024), 'application/cbor')).status).toBe(202)
    expect(a.submitted).toHaveLength(1)
  })

  it('times out a request whose body never finishes (408) and stays up', async () => {
    const a = await start({ options: { requestTimeoutMs: 300, headersTimeoutMs: 200 } })
    const port = a.server.address().port
    const started = Date.now()
    const partial = await rawRequest(port, ['POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\nContent-Length: 100\r\n\r\n', 'abc'])
    expect(partial.closed).toBe(true)
    expect(partial.text).toMatch(/^HTTP\/1\.1 408/)
    expect(partial.text).toContain('"code":"REQUEST_TIMEOUT"')
    expect(Date.now() - started).toBeLessThan(2_500)
    const headersOnly = await rawRequest(port, ['GET /v1/params HTTP/1.1\r\nHost: x\r\n'])
    expect([headersOnly.closed, headersOnly.text.slice(0, 12)]).toEqual([true, 'HTTP/1.1 408'])
    expect(a.submitted).toHaveLength(0)
    expect((await fetch(`${a.url}/v1/params`)).status).toBe(200)
  })

  it('answers garbage and oversized headers with a JSON 400 / 431 and closes', async () => {
    const a = await start()
    const port = a.server.address().port
    const garbage = await rawRequest(port, ['\x16\x03\x01 hello\r\n\r\n'])
    expect(garbage.text).toMatch(/^HTTP\/1\.1 400/)
    expect(garbage.text).toContain('"code":"BAD_REQUEST"')
    const huge = await rawRequest(port, [`GET /v1/params HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`])
    expect(huge.text).toMatch(/^HTTP\/1\.1 431/)
    // an absolute-form target is read as its path (RFC 9112 §3.2.2: a server must accept it)
    const target = await rawRequest(port, ['GET http://evil/v1/params HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])
    expect(target.text).toMatch(/^HTTP\/1\.1 200/)
    const bad = await rawRequest(port, ['GET v1/params HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])
    expect(bad.text).toMatch(/^HTTP\/1\.1 (400|404)/)
    expect((await fetch(`${a.url}/v1/params`)).status).toBe(200)
  })

  it('stop() closes idle keep-alive sockets and lets an in-flight request finish', async () => {
    let release: () => void = () => {}
    const a = await start({ submit: (bytes) => new Promise((resolve) => (release = () => resolve({ id: txId(bytes).toString() }))), options: { keepAliveTimeoutMs: 60_000, shutdownGraceMs: 5_000 } })
    const port = a.server.address().port
    const idle = rawRequest(port, ['GET /v1/params HTTP/1.1\r\nHost: x\r\n\r\n'], 10_000)
    await new Promise((r) => setTimeout(r, 100))
    const inflight = fetch(`${a.url}/v1/txs`, { method: 'POST', body: tx, headers: { 'content-type': 'application/cbor' } })
    await new Promise((r) => setTimeout(r, 100))
    const stopStarted = Date.now()
    const stopping = a.server.stop()
    setTimeout(() => release(), 100)
    const [idleResult, res] = await Promise.all([idle, inflight])
    await stopping
    // neither the idle keep-alive socket nor the finished in-flight one held stop() up
    expect(Date.now() - stopStarted).toBeLessThan(2_000)
    expect(idleResult.closed).toBe(true)
    expect(idleResult.text).toMatch(/^HTTP\/1\.1 200/)
    expect(res.status).toBe(202)
    await expect(fetch(`${a.url}/v1/params`)).rejects.toThrow()
    api = undefined
  })
})
