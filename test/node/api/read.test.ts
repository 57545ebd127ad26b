// The API's read routes over a real committed chain: the data they return, pagination, 404s and bad input.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ChainStore, genesisState, MemoryKeyValueStore, StateKey, verifyProof, type BudgetRecord } from '../../../ledger/index.ts'
import { LightClient } from '../../../light/index.ts'
import { checkCertificate, commitMessage, ed25519Scheme, ed25519Signer, type CommitCertificate, type CommitHeader } from '../../../consensus/index.ts'
import { decode, fromHex, toHex } from '../../../primitives/index.ts'
import { LedgerQueries, trieProofFromJson, type CommitSource, type TrieProofJson } from '../../../node/api/index.ts'
import { documentedSchema } from './documented.ts'
import { CHAIN, defaultGenesis, keysFor, modelCid } from '../../ledger/harness.ts'
import { buildChain, R1_ELIGIBLE, startApi, type BuiltChain, type StartedApi } from './fixture.ts'

let built: BuiltChain
let api: StartedApi | undefined

beforeAll(async () => {
  built = await buildChain()
})
afterEach(async () => {
  await api?.server.stop()
  api = undefined
})

async function get(path: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  api ??= await startApi(built)
  const res = await fetch(api.url + path, init)
  const text = await res.text()
  return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined, headers: res.headers }
}

const HEAD = 8

describe('transactions and blocks', () => {
  it('returns a transaction with its receipt, location and decoded body', async () => {
    const { status, body } = await get(`/v1/txs/${built.ids.commitA}`)
    expect(status).toBe(200)
    const commit = (await built.store.commitAt(4))!
    expect(body).toMatchObject({ id: built.ids.commitA, height: 4, index: 1, block: commit.block.toString(), receipt: { index: 1, tx: built.ids.commitA, code: 'OK' } })
    expect(body.tx.tx).toMatchObject({ chain: CHAIN, type: 'round.commit', sender: 'bank-a', nonce: 0 })
    expect(body.tx.tx.body.ciphertext).toBe(modelCid('r1/bank-a').toString())
    expect(body.tx.sig).toMatch(/^[0-9a-f]{128}$/)
  })

  it('reports a refused transaction with its code', async () => {
    const { body } = await get(`/v1/txs/${built.ids.refused}`)
    expect(body.receipt).toMatchObject({ code: 'FORBIDDEN_ROLE', index: 2 })
    expect(body.height).toBe(1)
  })

  it('404s an unknown id and 400s a malformed one', async () => {
    const unknown = await get(`/v1/txs/${modelCid('nothing')}`)
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'NOT_FOUND'])
    const bad = await get('/v1/txs/not-a-cid')
    expect([bad.status, bad.body.error.code]).toEqual([400, 'BAD_REQUEST'])
  })

  it('returns a block by height and by CID, with tx ids, receipts and state root', async () => {
    const { status, body } = await get('/v1/blocks/1')
    expect(status).toBe(200)
    const commit = (await built.store.commitAt(1))!
    expect(body).toMatchObject({ id: commit.block.toString(), chain: CHAIN, height: 1, parent: null, stateRoot: toHex(commit.stateRoot), summary: { txs: 3, ok: 2, refused: 1 } })
    expect(body.txs).toEqual([built.ids.register, built.ids.grant, built.ids.refused])
    expect(body.receipts.map((r: { code: string }) => r.code)).toEqual(['OK', 'OK', 'FORBIDDEN_ROLE'])
    const two = await get('/v1/blocks/2')
    expect(two.body.parent).toBe(body.id)
    const byCid = await get(`/v1/blocks/${two.body.id}`)
    expect(byCid.body).toEqual(two.body)
  })

  it('returns the latest block, and 404s/400s what is not a block', async () => {
    const latest = await get('/v1/blocks/latest')
    expect(latest.body).toMatchObject({ height: HEAD, stateRoot: toHex(built.chain.state.root) })
    for (const [path, status] of [['/v1/blocks/99', 404], ['/v1/blocks/0', 404], [`/v1/blocks/${modelCid('x')}`, 404], ['/v1/blocks/zzz', 400], ['/v1/blocks/-1', 400]] as const) {
      expect([path, (await get(path)).status]).toEqual([path, status])
    }
  })
})

describe('state queries', () => {
  it('pages through members by cursor, capping the limit and refusing a bad one', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const { body }: { body: any } = await get(`/v1/members?limit=4${cursor === null ? '' : `&cursor=${cursor}`}`)
      expect(body.height).toBe(HEAD)
      expect(body.items.length).toBeLessThanOrEqual(4)
      seen.push(...body.items.map((m: { id: string }) => m.id))
      cursor = body.next
      pages++
    } while (cursor !== null)
    const all = ['auditor', 'bank-a', 'bank-b', 'bank-c', 'bank-d', 'bank-e', 'bank-f', 'bank-g', 'coord', 'gov-1', 'gov-2']
    expect(seen).toEqual(all)
    expect(pages).toBe(3)
    expect((await get('/v1/members?limit=1000000')).status).toBe(400)
    expect((await get('/v1/members?limit=900')).body.items).toHaveLength(all.length) // capped at 500, not refused
    for (const q of ['limit=0', 'limit=abc', 'limit=1.5', 'cursor=']) expect([q, (await get(`/v1/members?${q}`)).status]).toEqual([q, 400])
  })

  it('returns one member with its nonce and budget', async () => {
    const { body } = await get('/v1/members/bank-g')
    expect(body.member).toMatchObject({ id: 'bank-g', org: 'bank-g org', roles: ['participant'], publicKey: toHex(keysFor('bank-g').publicKey), revoked: false, registeredAt: 1 })
    expect(body.budget).toMatchObject({ member: 'bank-g', epsilonCap: 2, epsilonSpent: 0, reservations: [] })
    expect((await get('/v1/members/gov-1')).body.nonce).toBe(2)
    expect((await get('/v1/members/nobody')).status).toBe(404)
  })

  it('lists enclaves', async () => {
    const { body } = await get('/v1/enclaves')
    expect(body.items).toEqual([expect.objectContaining({ id: 'enclave-1', publicKey: toHex(keysFor('enclave-1').publicKey), revoked: false })])
    expect(body.next).toBeNull()
  })

  it('lists rounds and returns one with its commits in ledger order and its result', async () => {
    const list = await get('/v1/rounds')
    expect(list.body.items.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([['r1', 'resulted'], ['r2', 'open']])
    expect(list.body.items[0]).toMatchObject({ commitCount: 3, eligibleCount: 4, model: modelCid('model-1').toString(), coordinator: 'coord', enclave: 'enclave-1' })
    const { body } = await get('/v1/rounds/r1')
    expect(body.eligible).toEqual(R1_ELIGIBLE)
    expect(body.commits.items.map((c: { member: string; seq: number }) => [c.member, c.seq])).toEqual([['bank-c', 0], ['bank-a', 1], ['bank-b', 2]])
    expect(body.round.result).toMatchObject({ model: modelCid('model-1').toString(), included: ['bank-a', 'bank-b'], excluded: [{ member: 'bank-c', reason: 'DECRYPT_FAILED' }], height: 6 })
    const first = await get('/v1/rounds/r1?limit=2')
    expect(first.body.commits.items.map((c: { member: string }) => c.member)).toEqual(['bank-c', 'bank-a'])
    const second = await get(`/v1/rounds/r1?limit=2&cursor=${first.body.commits.next}`)
    expect([second.body.commits.items.map((c: { member: string }) => c.member), second.body.commits.next]).toEqual([['bank-b'], null])
    expect((await get('/v1/rounds/r9')).status).toBe(404)
    expect((await get('/v1/rounds/r1?cursor=x')).status).toBe(400)
  })

  it('returns a budget: spent from the state, remaining, and what open rounds reserve', async () => {
    const { body } = await get('/v1/budgets/bank-a')
    const rec = built.chain.state.get<BudgetRecord>(StateKey.budget('bank-a'))!
    expect(rec.epsilonSpent).toBeGreaterThan(0)
    expect(body).toMatchObject({ member: 'bank-a', epsilonCap: 8, delta: 1e-5, epsilonSpent: rec.epsilonSpent, height: HEAD })
    expect(body.epsilonRemaining).toBeCloseTo(8 - rec.epsilonSpent, 12)
    expect(body.reservations).toEqual([{ round: 'r2', epsilon: expect.any(Number) }])
    expect(body.reservations[0].epsilon).toBeGreaterThan(0)
    expect(body.epsilonCommitted).toBeGreaterThan(rec.epsilonSpent)
    expect(body.epsilonAvailable).toBeCloseTo(8 - body.epsilonCommitted, 12)
    // bank-c committed, but its update never decrypted: nothing spent, yet r2 holds a reservation
    expect((await get('/v1/budgets/bank-c')).body).toMatchObject({ epsilonSpent: 0, reservations: [{ round: 'r2' }] })
    expect((await get('/v1/budgets/coord')).status).toBe(404)
  })

  it('returns checkpoints: the list, the latest and one by seq', async () => {
    const list = await get('/v1/checkpoints')
    expect(list.body.items).toHaveLength(1)
    const cp = list.body.items[0]
    expect(cp).toMatchObject({ seq: 1, round: 'r1', model: modelCid('model-1').toString(), snapshot: modelCid('snapshot-1').toString(), height: built.checkpointHeight - 1, anchoredAt: built.checkpointHeight })
    expect(cp.stateRoot).toBe(toHex((await built.store.commitAt(built.checkpointHeight - 1))!.stateRoot))
    expect((await get('/v1/checkpoints/latest')).body.checkpoint).toEqual(cp)
    expect((await get('/v1/checkpoints/1')).body.checkpoint).toEqual(cp)
    expect((await get('/v1/checkpoints/2')).status).toBe(404)
    expect((await get('/v1/checkpoints/one')).status).toBe(400)
  })

  it('returns the validator set and the chain parameters', async () => {
    const v = await get('/v1/validators')
    expect(v.body).toMatchObject({ height: HEAD, epoch: 0, pending: null, current: { epoch: 0 } })
    expect(v.body.current.validators).toEqual([0, 1, 2, 3].map((i) => ({ id: `val-${i}`, publicKey: toHex(keysFor(`val-${i}`).publicKey), power: 1 })))
    const p = await get('/v1/params')
    expect(p.body.params).toMatchObject({ chainId: CHAIN, epochLength: 10, governanceThreshold: 1 })
    expect(p.body.params.revocationAuthorities['attestation-service']).toBe(toHex(keysFor('attestation-service').publicKey))
  })
})

describe('proofs', () => {
  it('proves inclusion of a key against the state root, in JSON and in DAG-CBOR', async () => {
    const key = StateKey.budget('bank-a')
    const { status, body } = await get(`/v1/proofs/${encodeURIComponent(key)}`)
    expect(status).toBe(200)
    expect(body).toMatchObject({ key, height: HEAD, stateRoot: toHex(built.chain.state.root), included: true })
    const root = fromHex(body.stateRoot)
    const viaJson = verifyProof(root, key, trieProofFromJson(body.proof as TrieProofJson))
    expect(viaJson.included).toBe(true)
    expect(viaJson.included && toHex(viaJson.value)).toBe(body.valueCbor)
    expect(verifyProof(root, key, decode(fromHex(body.proofCbor))).included).toBe(true)
    expect(decode<BudgetRecord>(fromHex(body.valueCbor)).member).toBe('bank-a')
    expect(body.value.member).toBe('bank-a')
    // the proof is bound to its key and to its root
    expect(() => verifyProof(root, StateKey.budget('bank-b'), trieProofFromJson(body.proof))).toThrow()
    expect(() => verifyProof(fromHex(toHex(new Uint8Array(32).fill(1))), key, trieProofFromJson(body.proof))).toThrow()
  })

  it('proves that a key is absent', async () => {
    const key = 'member/nobody'
    const { body } = await get(`/v1/proofs/${encodeURIComponent(key)}`)
    expect([body.included, body.value, body.valueCbor]).toEqual([false, null, null])
    expect(verifyProof(fromHex(body.stateRoot), key, trieProofFromJson(body.proof))).toEqual({ included: false })
  })

  it('refuses an over-long or malformed key', async () => {
    expect((await get(`/v1/proofs/${'k'.repeat(600)}`)).status).toBe(400)
    expect((await get('/v1/proofs/%E0%A4')).status).toBe(400)
    expect((await get('/v1/proofs/%ED%A0%80')).status).toBe(400) // a lone surrogate, encoded as CESU-8
  })
})

describe('routing and readiness', () => {
  it('distinguishes an unknown route (404 NO_ROUTE) from a wrong method (405 with Allow)', async () => {
    const none = await get('/v1/nothing')
    expect([none.status, none.body.error.code]).toEqual([404, 'NO_ROUTE'])
    expect((await get('/v2/members')).body.error.code).toBe('NO_ROUTE')
    const wrong = await get('/v1/members', { method: 'DELETE' })
    expect([wrong.status, wrong.body.error.code, wrong.headers.get('allow')]).toEqual([405, 'METHOD_NOT_ALLOWED', 'GET'])
    const post = await get('/v1/txs', { method: 'PUT', body: 'x' })
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'POST'])
    expect((await get('/v1/members/')).status).toBe(200) // one trailing slash is tolerated
  })

  it("takes a route's fixed words only as written, and answers undecodable or overlong paths with the API's own errors", async () => {
    // the router decodes before matching: an encoded word must not reach the route (a proxy rule on /metrics or /v1/admin would be sidestepped)
    for (const path of ['/%6detrics', '/v1/%6dembers', '/v1/members/%62ank-a/x', '/v1%2Fmembers']) {
      const r = await get(path)
      expect([path, r.status, r.body.error.code]).toEqual([path, 404, 'NO_ROUTE'])
    }
    const decoded = await get('/v1/members/%62ank-a') // a parameter is decoded, as before
    expect([decoded.status, decoded.body.member?.id]).toEqual([200, 'bank-a'])
    for (const [path, message] of [['/v1/proofs/%FF', /percent-encoded/], ['/v1/txs/' + 'a'.repeat(9000), /too long/]] as const) {
      const r = await get(path)
      expect([r.status, r.body.error.code, r.headers.get('cache-control')]).toEqual([400, 'BAD_REQUEST', 'no-store'])
      expect(r.body.error.message).toMatch(message)
      expect(JSON.stringify(r.body)).not.toContain('aaaaaaaa') // the path is not echoed
    }
  })

  it('answers 503 NOT_READY while the node has no state or the store no chain', async () => {
    const empty = new ChainStore({ kv: new MemoryKeyValueStore() })
    const queries = new LedgerQueries({ store: empty, state: () => { throw new Error('not started') } })
    api = await startApi(built, { queries })
    for (const path of ['/v1/members', '/v1/params', '/v1/proofs/params', '/v1/blocks/latest', '/healthz']) {
      const { status, body } = await get(path)
      expect([path, status, body.error.code]).toEqual([path, 503, 'NOT_READY'])
    }
    // a 503 does not say why in internal terms
    expect(JSON.stringify((await get('/v1/members')).body)).not.toMatch(/not started/)
  })
})

describe('commit certificates', () => {
  // the fixture chain's genesis (defaultGenesis): validators val-0…3
  const GENESIS_ROOT = genesisState(defaultGenesis()).root
  const scheme = ed25519Scheme([0, 1, 2, 3].map((i) => keysFor(`val-${i}`).publicKey))
  const certAt = (height: number): CommitCertificate => {
    const header: CommitHeader = { chain: CHAIN, genesis: GENESIS_ROOT, epoch: 0, height, block: new Uint8Array(32).fill(height), ledgerBlock: null, stateRoot: built.chain.state.root }
    const parts = [0, 1, 3].map((i) => ({ signer: i, signature: ed25519Signer(i, keysFor(`val-${i}`).secretKey).sign(commitMessage(header)) }))
    return { header, signatures: scheme.aggregate(parts) }
  }
  const commits: CommitSource = {
    certifiedHeight: () => HEAD,
    certificate: async (h) => (h === HEAD || h === 3 ? certAt(h) : undefined),
    // as if epoch 1 had begun after HEAD (the fixture's chain is too short for a real epoch change)
    epochChange: async (e) => (e === 1 ? { epoch: 1, height: HEAD, proof: built.chain.state.trie.prove(StateKey.validators) } : undefined),
  }

  it('serves a height\'s certificate as JSON and as the DAG-CBOR a light client checks', async () => {
    api = await startApi(built, { commits })
    const { status, body } = await get(`/v1/commits/${HEAD}`)
    expect(status).toBe(200)
    expect(documentedSchema('CommitCertificate').safeParse(body).success).toBe(true)
    expect(body).toMatchObject({ header: { chain: CHAIN, epoch: 0, height: HEAD, ledgerBlock: null, stateRoot: toHex(built.chain.state.root) }, signers: [0, 1, 3] })
    const cert = decode<CommitCertificate>(fromHex(body.certificateCbor))
    expect(checkCertificate(cert, { chain: CHAIN, genesis: GENESIS_ROOT }, scheme)).toEqual({ ok: true })
    expect((await get('/v1/commits/latest')).body).toEqual(body)
    expect((await get('/v1/commits/3')).body.header.height).toBe(3)
  })

  it('404s a height without a certificate or a node that keeps none, 400s a height that is not one', async () => {
    api = await startApi(built, { commits })
    expect((await get('/v1/commits/5')).status).toBe(404)
    expect((await get('/v1/commits/0')).status).toBe(404)
    expect((await get('/v1/commits/x1')).body).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    await api.server.stop()
    api = await startApi(built)
    expect((await get(`/v1/commits/${HEAD}`)).status).toBe(404)
    expect((await get('/v1/commits/latest')).status).toBe(404)
  })

  it('serves how an epoch got its validators: the height, its certificate and the proof of the set under its root', async () => {
    api = await startApi(built, { commits })
    const { status, body } = await get('/v1/epochs/1')
    expect(status).toBe(200)
    expect(documentedSchema('EpochChange').safeParse(body).success).toBe(true)
    expect(body).toMatchObject({ epoch: 1, height: HEAD, certificate: { header: { height: HEAD } } })
    const proven = verifyProof(fromHex(body.certificate.header.stateRoot), StateKey.validators, decode(fromHex(body.proofCbor)))
    expect(proven.included && decode<{ validators: Array<{ id: string }> }>(proven.value).validators.map((v) => v.id)).toEqual(['val-0', 'val-1', 'val-2', 'val-3'])
    expect((await get('/v1/epochs/0')).body).toMatchObject({ error: { code: 'NOT_FOUND', message: expect.stringContaining('genesis') } })
    expect((await get('/v1/epochs/2')).status).toBe(404)
    expect((await get('/v1/epochs/one')).status).toBe(400)
  })

  it('a proof comes with the certificate of its height, and a light client anchored in the genesis believes it', async () => {
    const snapshots = { snapshotAt: (h: number) => (h === HEAD ? built.chain.state : undefined), retainedSnapshots: () => ({ from: HEAD, to: HEAD }) }
    api = await startApi(built, { commits, queries: new LedgerQueries({ store: built.store, state: () => built.chain.state, snapshots }) })
    const key = StateKey.budget('bank-a')
    const { status, body } = await get(`/v1/proofs/${encodeURIComponent(key)}`)
    expect(status).toBe(200)
    expect(body).toMatchObject({ height: HEAD, included: true, certificate: { header: { height: HEAD } } })
    const lc = LightClient.fromGenesis(defaultGenesis(), GENESIS_ROOT)
    const verified = lc.verifyValue(decode(fromHex(body.certificate.certificateCbor)), key, decode(fromHex(body.proofCbor)), { latest: true })
    expect(toHex(verified.value!)).toBe(body.valueCbor)
    expect((await get(`/v1/proofs/${encodeURIComponent(key)}?height=${HEAD}`)).body).toEqual(body)
    expect((await get(`/v1/proofs/${encodeURIComponent(key)}?height=5`)).body).toMatchObject({ error: { code: 'SNAPSHOT_NOT_RETAINED', message: expect.stringContaining('heights 8 to 8') } })
    expect((await get(`/v1/proofs/${encodeURIComponent(key)}?height=-1`)).status).toBe(400)
  })
})
