// POST /v1/txs/batch: per-item results in order with the single route's error mapping, malformed and oversized batches, the client going away.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loggerOf } from '../../helpers/logger.ts'
import { LedgerError, txId } from '../../../ledger/index.ts'
import { encode } from '../../../primitives/index.ts'
import { ADMIT_CHUNK, MAX_BATCH_TXS, SubmitError, type SubmitFn } from '../../../node/api/index.ts'
import { documentedSchema, openapiDocument } from './documented.ts'
import { buildChain, startApi, type BuiltChain, type StartedApi, type StartOptions } from './fixture.ts'

let built: BuiltChain
let api: StartedApi | undefined
let txs: Uint8Array[]

beforeAll(async () => {
  built = await buildChain()
  txs = ['bank-a', 'bank-b', 'bank-c', 'bank-d'].map((m) => built.chain.tx(m, 'round.commit', { round: 'r2', ciphertext: txId(new Uint8Array([m.length])), ...built.chain.statement('r2', m) }))
})
afterEach(async () => {
  await api?.server.stop()
  api = undefined
})

async function start(opts: StartOptions = {}): Promise<StartedApi> {
  api = await startApi(built, opts)
  return api
}

async function postTo(path: string, body: Uint8Array | string, contentType = 'application/cbor', init: RequestInit = {}): Promise<{ status: number; body: any }> {
  api ??= await startApi(built)
  const res = await fetch(api.url + path, { method: 'POST', body, headers: { 'content-type': contentType }, ...init })
  return { status: res.status, body: await res.json() }
}
const postBatch = (body: Uint8Array | string, contentType?: string, init?: RequestInit) => postTo('/v1/txs/batch', body, contentType, init)
const same = (a: Uint8Array) => (b: Uint8Array) => Buffer.compare(a, b) === 0

describe('POST /v1/txs/batch', () => {
  it('submits every transaction in order and answers one result per item, with the errors POST /v1/txs gives', async () => {
    const garbage = new Uint8Array([0xff, 0x00, 0x01])
    const [good1, nonce, full, good2] = txs as [Uint8Array, Uint8Array, Uint8Array, Uint8Array]
    const seen: Uint8Array[] = []
    const logged: unknown[] = []
    const submit: SubmitFn = async (bytes) => {
      seen.push(bytes)
      if (same(nonce)(bytes)) throw new SubmitError('rejected', 'BAD_NONCE', 'nonce 3 expected 4')
      if (same(full)(bytes)) throw new SubmitError('mempool-full', 'MEMPOOL_FULL', 'mempool is full', { retryAfterSeconds: 1 })
      if (same(garbage)(bytes)) throw new LedgerError('MALFORMED', 'malformed DAG-CBOR')
      if (bytes.length === 1) throw new Error('db handle at /var/secret exploded')
      return { id: txId(bytes).toString() }
    }
    await start({ submit, logger: loggerOf({ error: (obj) => logged.push((obj as { err: unknown }).err) }) })
    // a full node defers the rest of the batch too (tested below): the deferred item comes last here
    const items = [good1, nonce, garbage, new Uint8Array([7]), good2, full]
    const r = await postBatch(encode(items))
    expect(r.status).toBe(200)
    expect(r.body).toEqual({
      results: [
        { id: txId(good1).toString() },
        { error: { code: 'BAD_NONCE', message: 'nonce 3 expected 4' } },
        { error: { code: 'MALFORMED', message: 'malformed DAG-CBOR' } },
        { error: { code: 'INTERNAL', message: 'internal error' } },
        { id: txId(good2).toString() },
        { error: { code: 'MEMPOOL_FULL', message: 'mempool is full', retryAfterMs: 1000 } },
      ],
    })
    expect(documentedSchema('BatchResults').safeParse(r.body).success).toBe(true)
    // every item reached submit, as the exact bytes, in order: a refused one does not stop the rest
    expect(seen.map((b) => Buffer.from(b).toString('hex'))).toEqual(items.map((b) => Buffer.from(b).toString('hex')))
    // only the internal failure's cause is logged, never sent
    expect(logged.map((e) => (e as Error).message)).toEqual(['db handle at /var/secret exploded'])
    // each item's error is what the single route answers for the same transaction
    for (const [i, tx] of items.entries()) {
      const single = await postTo('/v1/txs', tx)
      expect([i, single.body.error ?? { id: single.body.id }]).toEqual([i, r.body.results[i].error ?? { id: r.body.results[i].id }])
    }
  })

  it('while the node takes no client transaction, refuses the whole batch with 503 and Retry-After before reading it', async () => {
    const seen: Uint8Array[] = []
    let refusal: SubmitError | undefined = new SubmitError('mempool-full', 'FULL', 'the mempool holds 4096 transactions, as many as it takes from clients; retry later', { retryAfterSeconds: 0.5 })
    await start({ submit: async (bytes) => (seen.push(bytes), { id: txId(bytes).toString() }), submitRefusal: () => refusal })
    const res = await fetch(api!.url + '/v1/txs/batch', { method: 'POST', body: encode(txs), headers: { 'content-type': 'application/cbor' } })
    // answered before the body is read, so the connection is closed rather than the body read and discarded
    expect([res.status, res.headers.get('retry-after'), res.headers.get('connection'), await res.json()]).toEqual([503, '1', 'close', { error: { code: 'FULL', message: refusal.message, retryAfterMs: 500 } }])
    expect(seen).toEqual([])
    // once it takes them again, the same batch goes in
    refusal = undefined
    const again = await postBatch(encode(txs))
    expect([again.status, again.body.results.length, seen.length]).toEqual([200, txs.length, txs.length])
  })

  it('once the node is full during a batch, gives the rest of the batch the same answer without submitting it', async () => {
    const [a, b, c, d] = txs as [Uint8Array, Uint8Array, Uint8Array, Uint8Array]
    const seen: Uint8Array[] = []
    // b finds the node full; by c the pool has drained, but c and d come after a deferred transaction
    await start({ submit: async (bytes) => {
      seen.push(bytes)
      if (same(b)(bytes)) throw new SubmitError('mempool-full', 'FULL', 'the mempool holds 4096 transactions, as many as it takes from clients; retry later', { retryAfterSeconds: 0.5 })
      return { id: txId(bytes).toString() }
    } })
    const r = await postBatch(encode([a, b, c, d]))
    const full = { error: { code: 'FULL', message: 'the mempool holds 4096 transactions, as many as it takes from clients; retry later', retryAfterMs: 500 } }
    expect(r.body.results).toEqual([{ id: txId(a).toString() }, full, full, full])
    expect(seen.length).toBe(2)
  })

  it('admits a large batch in chunks, giving the event loop back between them', async () => {
    // a macrotask queued by a submit runs only once the route gives the event loop back
    let calls = 0
    let queued = false
    const ranAfter: number[] = []
    await start({
      submit: async (bytes) => {
        calls++
        if (!queued) {
          queued = true
          setImmediate(() => ((queued = false), ranAfter.push(calls)))
        }
        return { id: txId(bytes).toString() }
      },
    })
    const many = Array.from({ length: ADMIT_CHUNK * 4 }, (_, i) => new Uint8Array([1, i & 0xff, i >> 8]))
    const r = await postBatch(encode(many))
    expect(r.body.results.length).toBe(many.length)
    // the event loop turned after each of the first three chunks, before the batch was done
    expect(ranAfter.filter((n) => n < many.length)).toEqual([ADMIT_CHUNK, 2 * ADMIT_CHUNK, 3 * ADMIT_CHUNK])
  })

  it('refuses a malformed batch with 400 and submits nothing of it', async () => {
    const a = await start()
    const [t0, t1] = txs as [Uint8Array, Uint8Array]
    const cases: Array<[string, Uint8Array]> = [
      ['empty body', new Uint8Array(0)],
      ['not CBOR', new Uint8Array([0xff, 0xfe, 0xfd])],
      ['a single byte string, not an array', encode(t0)],
      ['a map', encode({ txs: [t0] })],
      ['empty array', encode([])],
      ['an item that is a text string', encode([t0, 'tx'])],
      ['an item that is a number', encode([t0, 5])],
      ['an item that is a nested array', encode([[t0]])],
      ['an empty transaction', encode([t0, new Uint8Array(0)])],
      ['an indefinite-length array', new Uint8Array([0x9f, 0x41, 0x01, 0xff])],
      ['an array shorter than it says', encode([t0, t1]).slice(0, -10)],
      ['trailing bytes after the array', new Uint8Array([...encode([t0]), 0x00])],
    ]
    for (const [what, body] of cases) {
      const r = await postBatch(body)
      expect([what, r.status, r.body.error?.code]).toEqual([what, 400, 'BAD_REQUEST'])
    }
    for (const type of ['application/json', 'application/octet-stream']) {
      const r = await postBatch(encode([t0]), type)
      expect([type, r.status, r.body.error.code]).toEqual([type, 415, 'UNSUPPORTED_MEDIA_TYPE'])
    }
    expect(a.submitted).toHaveLength(0)
  })

  it(`takes ${MAX_BATCH_TXS} transactions and refuses one more (400) before decoding the items`, async () => {
    const a = await start()
    const many = Array.from({ length: MAX_BATCH_TXS }, (_, i) => new TextEncoder().encode(`tx-${i}`))
    const full = await postBatch(encode(many))
    expect(full.status).toBe(200)
    expect(full.body.results).toHaveLength(MAX_BATCH_TXS)
    expect(full.body.results[MAX_BATCH_TXS - 1]).toEqual({ id: txId(many.at(-1)!).toString() })
    expect(a.submitted).toHaveLength(MAX_BATCH_TXS)
    const over = await postBatch(encode([...many, new Uint8Array([1])]))
    expect([over.status, over.body.error.code]).toEqual([400, 'BAD_REQUEST'])
    expect(over.body.error.message).toContain(`at most ${MAX_BATCH_TXS}`)
    // the count in the header is enough: a body announcing 2^32-1 items and holding none is refused the same way
    const huge = await postBatch(new Uint8Array([0x9a, 0xff, 0xff, 0xff, 0xff]))
    expect([huge.status, huge.body.error.message]).toEqual([400, `batch of ${2 ** 32 - 1} transactions: at most ${MAX_BATCH_TXS} per request`])
    expect(a.submitted).toHaveLength(MAX_BATCH_TXS)
  })

  it('has its own body cap: 4 MiB by default (above the 1 MiB single cap), 413 past it', async () => {
    const big = [new Uint8Array(1_100_000).fill(1), new Uint8Array(1_100_000).fill(2)]
    const a = await start()
    expect((await postTo('/v1/txs', big[0]!)).status).toBe(413) // too big alone through the single route
    const ok = await postBatch(encode(big))
    expect([ok.status, ok.body.results.length]).toEqual([200, 2])
    expect(a.submitted).toHaveLength(2)
    const over = await postBatch(encode([...big, ...big]))
    expect([over.status, over.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    await a.server.stop()
    const small = await start({ options: { maxBatchBodyBytes: 64 * 1024 } })
    const r = await postBatch(encode([new Uint8Array(70 * 1024)]))
    expect([r.status, r.body.error.code]).toEqual([413, 'PAYLOAD_TOO_LARGE'])
    expect(small.submitted).toHaveLength(0)
    const doc = await openapiDocument()
    expect(doc.paths['/v1/txs/batch'].post.responses['413'].description).toContain('4 MiB')
  })

  it('stops submitting when the client goes away mid-batch', async () => {
    const signals: AbortSignal[] = []
    let release: () => void = () => {}
    const submit: SubmitFn = async (bytes, signal) => {
      signals.push(signal!)
      if (signals.length === 2) await new Promise<void>((resolve) => (release = resolve))
      return { id: txId(bytes).toString() }
    }
    await start({ submit })
    const client = new AbortController()
    const request = postBatch(encode(txs), 'application/cbor', { signal: client.signal })
    request.catch(() => {})
    for (let i = 0; i < 200 && signals.length < 2; i++) await new Promise((r) => setTimeout(r, 10))
    expect(signals).toHaveLength(2)
    client.abort()
    await expect(request).rejects.toThrow()
    // the server sees the disconnect: the signal handed to submit aborts
    for (let i = 0; i < 200 && !signals[1]!.aborted; i++) await new Promise((r) => setTimeout(r, 10))
    expect(signals[1]!.aborted).toBe(true)
    release()
    await new Promise((r) => setTimeout(r, 100))
    expect(signals).toHaveLength(2) // items 3 and 4 were never submitted
    expect((await fetch(`${api!.url}/v1/params`)).status).toBe(200)
  })
})
