/**
 * Direct protocols between real hosts on 127.0.0.1: request/response, one-way
 * send, handler errors as typed errors, timeouts, aborts, unsupported protocols,
 * and oversized frames refused (and penalised) by the receiver.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { bytes, connected, Hosts, text, waitFor } from './helpers.ts'
import { isP2PError, type P2PHost } from '../../../node/p2p/index.ts'

const ECHO = '/fedledger/test/echo/1'
const hosts = new Hosts()
afterEach(() => hosts.stopAll())

async function pair(serverOptions = {}, clientOptions = {}): Promise<[P2PHost, P2PHost]> {
  const server = await hosts.make(1, serverOptions)
  server.handle(ECHO, (from, data) => bytes(`${from.slice(-6)}:${text(data)}`)) // registered before start
  await server.start()
  const client = await hosts.started(2, { peers: server.addresses(), ...clientOptions })
  await connected([server, client])
  return [server, client]
}

describe('P2PHost direct protocols', () => {
  it('round-trips a request and reports the requester as `from`', { timeout: 20_000 }, async () => {
    const [server, client] = await pair()
    const reply = await client.request(server.peerId, ECHO, bytes('ping'))
    expect(text(reply)).toBe(`${client.peerId.slice(-6)}:ping`)
    // a handler returning undefined answers with empty bytes; large payloads work
    server.handle('/fedledger/test/void/1', () => undefined)
    await expect(client.request(server.peerId, '/fedledger/test/void/1', bytes('x'))).resolves.toEqual(new Uint8Array(0))
    const big = new Uint8Array(1024 * 1024).map((_, i) => i % 251)
    server.handle('/fedledger/test/copy/1', (_from, data) => data)
    const copied = await client.request(server.peerId, '/fedledger/test/copy/1', big)
    expect(copied).toEqual(big)
  })

  it('one-way send delivers and resolves; failures resolve with an error instead of rejecting', { timeout: 20_000 }, async () => {
    const [server, client] = await pair()
    const got: string[] = []
    server.handle('/fedledger/test/note/1', (from, data) => {
      got.push(`${from === client.peerId}:${text(data)}`)
      return bytes('ignored reply')
    })
    await expect(client.send(server.peerId, '/fedledger/test/note/1', bytes('n1'))).resolves.toEqual({ ok: true })
    await waitFor('the note to arrive', () => got.length === 1)
    expect(got).toEqual(['true:n1'])
    const failed = await client.send(server.peerId, '/fedledger/test/nobody/1', bytes('n2'))
    expect(failed.ok).toBe(false)
    if (!failed.ok) expect(failed.error.code).toBe('PROTOCOL')
  })

  it('a handler error comes back as REMOTE_ERROR, not a hang', { timeout: 20_000 }, async () => {
    const [server, client] = await pair()
    server.handle('/fedledger/test/fail/1', () => {
      throw new Error('no such block 42')
    })
    const started = Date.now()
    const err = await client.request(server.peerId, '/fedledger/test/fail/1', bytes('x')).catch((e: unknown) => e)
    expect(isP2PError(err, 'REMOTE_ERROR')).toBe(true)
    expect((err as Error).message).toContain('no such block 42')
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('times out a slow handler, which sees its signal abort; aborts with the caller signal', { timeout: 20_000 }, async () => {
    const [server, client] = await pair()
    let handlerAborted = false
    server.handle('/fedledger/test/slow/1', (_from, _data, signal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          handlerAborted = true
          resolve(undefined)
        })
      }))
    const started = Date.now()
    const err = await client
      .request(server.peerId, '/fedledger/test/slow/1', bytes('x'), { timeoutMs: 300 })
      .catch((e: unknown) => e)
    expect(isP2PError(err, 'TIMEOUT')).toBe(true)
    expect(Date.now() - started).toBeLessThan(2000)
    // the requester resets the stream; the handler's signal fires
    await waitFor('the handler signal to abort', () => handlerAborted, 4000)

    const controller = new AbortController()
    const pending = client.request(server.peerId, '/fedledger/test/slow/1', bytes('y'), { signal: controller.signal })
    setTimeout(() => controller.abort(), 100)
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('refuses an oversized request frame from its header and bans the sender', { timeout: 20_000 }, async () => {
    const [server, client] = await pair({ maxMessageBytes: 1024 }, { maxMessageBytes: 8 * 1024 * 1024 })
    let handled = 0
    server.handle('/fedledger/test/sink/1', () => {
      handled++
      return undefined
    })
    await expect(client.request(server.peerId, '/fedledger/test/sink/1', new Uint8Array(1000))).resolves.toBeDefined()
    expect(handled).toBe(1)
    const err = await client
      .request(server.peerId, '/fedledger/test/sink/1', new Uint8Array(6 * 1024 * 1024))
      .catch((e: unknown) => e)
    expect(isP2PError(err)).toBe(true)
    expect(['PROTOCOL', 'NO_CONNECTION']).toContain((err as { code: string }).code)
    expect(handled).toBe(1)
    const record = server.penalties().get(client.peerId)
    expect(record?.lastReason).toBe('oversized-frame')
    expect(record?.bannedUntil).toBeGreaterThan(Date.now())
    await waitFor('the client to be disconnected', () => !server.connectedPeers().includes(client.peerId))
    // the ban is enforced on new requests too
    await expect(server.request(client.peerId, ECHO, bytes('x'))).rejects.toMatchObject({ code: 'DENIED' })
  })

  it('refuses an oversized response and penalises the responder; local limits are typed errors', { timeout: 20_000 }, async () => {
    const [server, client] = await pair({ maxMessageBytes: 64 * 1024 }, { maxMessageBytes: 1024 })
    server.handle('/fedledger/test/blob/1', () => new Uint8Array(32 * 1024))
    await expect(client.request(server.peerId, '/fedledger/test/blob/1', bytes('x'))).rejects.toMatchObject({ code: 'OVERSIZED' })
    expect(client.penalties().get(server.peerId)?.lastReason).toBe('oversized-frame')
    await expect(client.request(server.peerId, ECHO, bytes('x'))).rejects.toMatchObject({ code: 'DENIED' })
    const lonely = await hosts.make(7, { maxMessageBytes: 1024 })
    await expect(lonely.request(server.peerId, ECHO, bytes('x'))).rejects.toMatchObject({ code: 'NOT_STARTED' })
    await lonely.start()
    await expect(lonely.request(server.peerId, ECHO, new Uint8Array(2048))).rejects.toMatchObject({ code: 'OVERSIZED' })
    await expect(lonely.request('not-a-peer-id', ECHO, bytes('x'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(() => lonely.handle(ECHO, () => undefined)).not.toThrow()
    expect(() => lonely.handle(ECHO, () => undefined)).toThrow(/already registered/)
  })
})
