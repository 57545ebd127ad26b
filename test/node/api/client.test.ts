/**
 * ApiClient against fake validator APIs on 127.0.0.1: a validator that is
 * down is skipped for the next one (and stays skipped), answers of the wrong
 * shape are BAD_ANSWER, a 404 for a round is undefined while other errors are
 * API, and `send` reuses the nonce of a refused transaction but moves past an
 * accepted one even while the validator's nonce lags behind.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { addModel, CasBlockstore, encodeTx, MemoryKeyValueStore, signTx, type DecodedTx } from '../../../ledger/index.ts'
import { type CID } from '../../../primitives/index.ts'
import { ApiClient, isApiClientError } from '../../../node/api/index.ts'
import { FakeLedger, memberRecord, roundRecord } from '../federation/fake-ledger.ts'
import { CHAIN, keysOf, Running } from '../federation/helpers.ts'

const running = new Running()
afterEach(() => running.stopAll())

async function fakeLedger(): Promise<{ ledger: FakeLedger; url: string }> {
  const ledger = new FakeLedger(CHAIN)
  const url = await ledger.start()
  running.track(() => ledger.stop())
  return { ledger, url }
}

/** A URL on 127.0.0.1 where nothing listens (a port bound, then released). */
async function deadUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

async function errorOf(p: Promise<unknown>): Promise<Error & { code: string }> {
  const e = await p.then(() => undefined, (err: unknown) => err)
  if (!isApiClientError(e)) throw new Error(`expected an ApiClientError, got ${String(e)}`)
  return e
}

const modelCid = async (n: number): Promise<CID> => addModel(new CasBlockstore({ kv: new MemoryKeyValueStore() }), Float32Array.of(n))

describe('ApiClient', () => {
  it('skips a validator that is down for the next one, and keeps asking that one', async () => {
    const { ledger, url } = await fakeLedger()
    ledger.height = 42
    const client = new ApiClient({ apis: [await deadUrl(), url], timeoutMs: 2000 })
    expect(await client.height()).toBe(42)
    expect(await client.height()).toBe(42)
    expect(ledger.count('GET /v1/status')).toBe(2)
    // every validator down: UNREACHABLE, naming them
    const dead = [await deadUrl(), await deadUrl()]
    const e = await errorOf(new ApiClient({ apis: dead, timeoutMs: 2000 }).height())
    expect(e.code).toBe('UNREACHABLE')
    expect(e.message).toContain(dead[1])
  })

  it('does not skip a validator that answers with an error: API, SUBMIT', async () => {
    const { ledger, url } = await fakeLedger()
    const { ledger: second, url: secondUrl } = await fakeLedger()
    ledger.override = (method) => (method === 'GET' ? { status: 500, body: { error: { code: 'INTERNAL', message: 'disk on fire' } } } : { status: 400, body: { error: { code: 'MALFORMED', message: 'bad tx' } } })
    const client = new ApiClient({ apis: [url, secondUrl] })
    const e = await errorOf(client.height())
    expect(e.code).toBe('API')
    expect(e.message).toContain('disk on fire')
    const s = await errorOf(client.submit(Uint8Array.of(1, 2, 3)))
    expect(s.code).toBe('SUBMIT')
    expect(s.message).toContain('bad tx')
    expect(second.requests).toEqual([])
  })

  it('offers a transaction the validator defers ("not now", retryAfterMs) again after that long; a final refusal is not retried', async () => {
    const { ledger, url } = await fakeLedger()
    let deferrals = 2
    ledger.override = (method, path) => {
      if (method !== 'POST' || path !== '/v1/txs' || deferrals === 0) return undefined
      deferrals--
      return { status: 503, body: { error: { code: 'FULL', message: 'the mempool holds 4096 transactions, as many as it takes from clients; retry later', retryAfterMs: 20 } } }
    }
    const client = new ApiClient({ apis: [url] })
    const tx = encodeTx(signTx({ chain: CHAIN, type: 'budget.grant', sender: 'bank-a', nonce: 0, body: { member: 'bank-a', epsilon: 1, delta: 1e-5 } }, keysOf('bank-a').secretKey))
    const id = await client.submit(tx)
    expect(ledger.count('POST /v1/txs')).toBe(3)
    expect(ledger.submitted.length).toBe(1)
    expect(typeof id).toBe('string')
    // without retryAfterMs the refusal is final, at once
    ledger.override = (method) => (method === 'POST' ? { status: 422, body: { error: { code: 'BAD_SIGNATURE', message: 'signature does not verify' } } } : undefined)
    const e = await errorOf(client.submit(tx))
    expect([e.code, ledger.count('POST /v1/txs')]).toEqual(['SUBMIT', 4])
  })

  it('stops following a listing whose cursor repeats, and refuses an answer over its byte cap (BAD_ANSWER)', async () => {
    const { ledger, url } = await fakeLedger()
    // a validator that hands out the same next page forever
    ledger.override = (method, path) => (method === 'GET' && path === '/v1/rounds' ? { status: 200, body: { height: 1, items: [], next: 'again' } } : undefined)
    const looping = await errorOf(new ApiClient({ apis: [url] }).rounds())
    expect(looping.code).toBe('BAD_ANSWER')
    expect(looping.message).toMatch(/cursor 'again' repeats/)
    expect(ledger.count('GET /v1/rounds')).toBe(2)
    // an answer larger than the client reads
    ledger.override = (method, path) => (method === 'GET' && path === '/v1/status' ? { status: 200, body: { chainId: CHAIN, committed: { height: 1, block: null, stateRoot: '00' }, padding: 'x'.repeat(10_000) } } : undefined)
    const big = await errorOf(new ApiClient({ apis: [url], maxAnswerBytes: 4096 }).height())
    expect(big.code).toBe('BAD_ANSWER')
    expect(big.message).toMatch(/over 4096 bytes|limit 4096/)
    expect(await new ApiClient({ apis: [url] }).height()).toBe(1)
  })

  it('calls an answer of the wrong shape BAD_ANSWER', async () => {
    const { ledger, url } = await fakeLedger()
    const client = new ApiClient({ apis: [url] })
    const base = await modelCid(1)
    ledger.rounds.set('r1', { record: roundRecord({ id: 'r1', baseModel: base, enclave: 'enclave-1', eligibleCount: 1 }), eligible: ['bank-a'], commits: [] })
    ledger.members.set('bank-a', memberRecord('bank-a', keysOf('bank-a').publicKey))
    // the genuine shapes read back
    expect((await client.round('r1'))!.round.baseModel.equals(base)).toBe(true)
    expect((await client.member('bank-a'))!.member.publicKey).toEqual(keysOf('bank-a').publicKey)

    const answers: Record<string, unknown> = {
      '/v1/status': { chainId: CHAIN, committed: { height: 'tall' } },
      '/v1/rounds/r1': { height: 1, round: { id: 'r1' }, eligible: [], commits: { items: [], next: null } },
      '/v1/members/bank-a': { height: 1, member: { id: 'bank-a', roles: [], publicKey: 'zz', revoked: false, revokedAt: null }, nonce: 0, budget: null },
      '/v1/rounds': { height: 1, items: 'none', next: null },
    }
    ledger.override = (_m, path) => (path in answers ? { status: 200, body: answers[path] } : undefined)
    for (const call of [() => client.height(), () => client.round('r1'), () => client.member('bank-a'), () => client.rounds()]) {
      expect((await errorOf(call())).code).toBe('BAD_ANSWER')
    }
    // a round whose base model is not a CID
    const record = JSON.parse(JSON.stringify({ ...roundRecord({ id: 'r1', baseModel: base, enclave: 'enclave-1', eligibleCount: 1 }), baseModel: 'not-a-cid', training: { clipNorm: 1, noiseMultiplier: 1, samplingRate: 1, localEpochs: 1 } })) as object
    ledger.override = (_m, path) => (path === '/v1/rounds/r1' ? { status: 200, body: { height: 1, round: { ...record, roundKey: null, result: null }, eligible: [], commits: { items: [], next: null } } } : undefined)
    const e = await errorOf(client.round('r1'))
    expect(e.code).toBe('BAD_ANSWER')
    expect(e.message).toContain('not a CID')
    // not JSON at all
    ledger.override = () => ({ status: 200, text: '<html>proxy error</html>' })
    expect((await errorOf(client.height())).code).toBe('BAD_ANSWER')
    // an error page from a proxy in front of the node is an error status, not a bad answer
    ledger.override = () => ({ status: 502, text: '<html>bad gateway</html>' })
    expect(await errorOf(client.height())).toMatchObject({ code: 'API', status: 502 })
  })

  it('refuses a proof batch that does not answer exactly the keys asked, in order (BAD_ANSWER)', async () => {
    const { ledger, url } = await fakeLedger()
    const client = new ApiClient({ apis: [url] })
    const keys = ['round/r1', 'commit/r1/bank-a', 'checkpoint/latest']
    const proof = (key: string) => ({ key, proofCbor: 'a0' })
    let proofs = keys.map(proof)
    ledger.override = (method, path) => (method === 'POST' && path === '/v1/proofs' ? { status: 200, body: { height: 7, stateRoot: '00'.repeat(32), certificate: null, proofs } } : undefined)
    // the keys asked, in order: read as bytes
    expect(await client.proofs(keys)).toEqual({ height: 7, certificate: null, proofs: keys.map((key) => ({ key, proof: Uint8Array.of(0xa0) })) })
    const lies: Array<[string, Array<{ key: string; proofCbor: string }>, RegExp]> = [
      ['another key', [proof('round/r1'), proof('commit/r1/bank-b'), proof('checkpoint/latest')], /index 1, a proof for 'commit\/r1\/bank-b' where 'commit\/r1\/bank-a' was asked/],
      ['another order', [proof('commit/r1/bank-a'), proof('round/r1'), proof('checkpoint/latest')], /index 0/],
      ['one missing', keys.slice(0, 2).map(proof), /2 proofs for 3 keys: at index 2, no proof for 'checkpoint\/latest'/],
      ['one more', [...keys, 'member/bank-a'].map(proof), /at index 3, a proof for 'member\/bank-a', not asked/],
      ['one twice', [...keys.slice(0, 2), keys[1]!].map(proof), /index 2/],
      ['none', [], /0 proofs for 3 keys/],
    ]
    for (const [what, answer, message] of lies) {
      proofs = answer
      const e = await errorOf(client.proofs(keys))
      expect([what, e.code, e.message]).toEqual([what, 'BAD_ANSWER', expect.stringMatching(message)])
    }
    expect(ledger.count('POST /v1/proofs')).toBe(1 + lies.length)
  })

  it('drops fields it does not know (a newer validator), at any depth, and still refuses a missing or mistyped one', async () => {
    const { ledger, url } = await fakeLedger()
    const client = new ApiClient({ apis: [url] })
    const status = { chainId: CHAIN, validator: null, epoch: 0, view: 3, leader: null, committed: { height: 7, block: null, stateRoot: '00'.repeat(32), newField: 1 }, peers: 3, mempoolSize: 0, syncing: false, version: 'x', highestKnownHeight: null, lastCommitAt: null, addedLater: { any: 'thing' } }
    ledger.override = (_m, path) => (path === '/v1/status' ? { status: 200, body: status } : undefined)
    expect(await client.status()).toMatchObject({ view: 3, committed: { height: 7 } })
    expect(await client.height()).toBe(7)
    const { view: _, ...noView } = status
    ledger.override = (_m, path) => (path === '/v1/status' ? { status: 200, body: { ...noView, addedLater: 1 } } : undefined)
    expect(await errorOf(client.status())).toMatchObject({ code: 'BAD_ANSWER', message: expect.stringContaining('view') })
    ledger.override = (_m, path) => (path === '/v1/status' ? { status: 200, body: { ...status, peers: 'many' } } : undefined)
    expect((await errorOf(client.status())).code).toBe('BAD_ANSWER')
  })

  it('reads a 404 for a round, member or checkpoint as undefined, and a 404 elsewhere as API', async () => {
    const { ledger, url } = await fakeLedger()
    const client = new ApiClient({ apis: [url] })
    expect(await client.round('nope')).toBeUndefined()
    expect(await client.member('nobody')).toBeUndefined()
    expect(await client.latestCheckpoint()).toBeUndefined()
    expect(ledger.count('GET /v1/rounds/nope')).toBe(1)
    ledger.override = (_m, path) => (path === '/v1/rounds' || path === '/v1/params' ? { status: 404, body: { error: { code: 'NOT_FOUND', message: 'gone' } } } : undefined)
    expect((await errorOf(client.rounds())).code).toBe('API')
    expect((await errorOf(client.params())).code).toBe('API')
  })

  it('send reuses the nonce of a refused transaction and moves past an accepted one', async () => {
    const { ledger, url } = await fakeLedger()
    const bank = keysOf('bank-a')
    ledger.members.set('bank-a', memberRecord('bank-a', bank.publicKey))
    // the validator's view of the nonce lags: it stays at 0 whatever commits
    ledger.nonces.set('bank-a', 0)
    const verdicts = ['OK', 'NOT_ELIGIBLE', 'OK']
    const seen: DecodedTx[] = []
    ledger.decide = (tx) => {
      seen.push(tx)
      const code = verdicts[seen.length - 1] ?? 'OK'
      return { code, message: code === 'OK' ? '' : 'refused by the ledger' }
    }
    const client = new ApiClient({ apis: [url] })
    const nonces: number[] = []
    const build = (nonce: number): Uint8Array => {
      nonces.push(nonce)
      return encodeTx(signTx({ chain: CHAIN, type: 'budget.grant', sender: 'bank-a', nonce, body: { member: 'bank-a', epsilon: nonce + 1, delta: 1e-5 } }, bank.secretKey))
    }
    const receipts = []
    for (let i = 0; i < 4; i++) receipts.push(await client.send('bank-a', build, { timeoutMs: 5000 }))
    expect(receipts.map((r) => r.code)).toEqual(['OK', 'NOT_ELIGIBLE', 'OK', 'OK'])
    // OK at 0 → next is 1; refused at 1 → 1 again; OK at 1 → 2
    expect(nonces).toEqual([0, 1, 1, 2])
    expect(seen.map((t) => t.signed.tx.nonce)).toEqual([0, 1, 1, 2])
    // a validator that is ahead of the client wins
    ledger.nonces.set('bank-a', 7)
    expect(await client.nextNonce('bank-a')).toBe(7)
  })

  it("reads an enclave's nonce from its view (no member record), so a restarted enclave host resumes at the right nonce", async () => {
    const { ledger, url } = await fakeLedger()
    const key = keysOf('enclave-9')
    ledger.enclaves.set('enclave-9', { id: 'enclave-9', platform: 'sim', measurement: new Uint8Array(32), publicKey: key.publicKey, registeredAt: 1, revokedAt: null, revocationReason: null })
    ledger.nonces.set('enclave-9', 5)
    const client = new ApiClient({ apis: [url] })
    expect(await client.member('enclave-9')).toBeUndefined()
    expect(await client.nextNonce('enclave-9')).toBe(5)
  })
})
