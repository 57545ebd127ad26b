// POST /v1/proofs over a real committed chain: many keys proven at one height under one
// certificate, the height chosen as GET /v1/proofs/{key} chooses it (or asked for), bad
// input refused with the API's typed errors, and ApiClient.proofs reading the answer.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { checkCertificate, ed25519Scheme, type CommitCertificate, type CommitHeader } from '../../../consensus/index.ts'
import { genesisState, StateKey, verifyProof, type LedgerState } from '../../../ledger/index.ts'
import { ApiClient, isApiClientError, LedgerQueries, MAX_PROOF_BATCH_KEYS, PROOF_CHUNK, type CommitSource } from '../../../node/api/index.ts'
import { bytesEqual, decode, fromHex, toHex } from '../../../primitives/index.ts'
import { signCertificate } from '../../helpers/commits.ts'
import { CHAIN, defaultGenesis, keysFor } from '../../ledger/harness.ts'
import { documentedSchema } from './documented.ts'
import { buildChain, startApi, type BuiltChain, type StartedApi } from './fixture.ts'

const HEAD = 8
const GENESIS_ROOT = genesisState(defaultGenesis()).root
const VALIDATORS = [0, 1, 2, 3].map((i) => `val-${i}`)
const SCHEME = ed25519Scheme(VALIDATORS.map((id) => keysFor(id).publicKey))

let built: BuiltChain
/** the states this node retains: HEAD (the chain's) and HEAD - 1 (made for the test: the same without round r2) */
let retained: Map<number, LedgerState>
let api: StartedApi | undefined

beforeAll(async () => {
  built = await buildChain()
  const head = built.chain.state
  retained = new Map([[HEAD, head], [HEAD - 1, head.apply([[StateKey.round('r2'), undefined]], HEAD - 1)]])
})
afterEach(async () => {
  await api?.server.stop()
  api = undefined
})

function certificateOf(height: number): CommitCertificate {
  const header: CommitHeader = { chain: CHAIN, genesis: GENESIS_ROOT, epoch: 0, height, block: new Uint8Array(32).fill(height), ledgerBlock: null, stateRoot: retained.get(height)!.root }
  return signCertificate(header, VALIDATORS.slice(0, 3), VALIDATORS)
}

/** An API whose node retains HEAD - 1 and HEAD, with certificates up to `certified` (none: a node that keeps no certificates). */
async function serve(certified: number | undefined): Promise<string> {
  const snapshots = { snapshotAt: (h: number) => retained.get(h), retainedSnapshots: () => ({ from: HEAD - 1, to: HEAD }) }
  const commits: CommitSource | undefined = certified === undefined ? undefined : {
    certifiedHeight: () => certified,
    certificate: async (h) => (h <= certified && retained.has(h) ? certificateOf(h) : undefined),
    epochChange: async () => undefined,
  }
  api = await startApi(built, { commits, queries: new LedgerQueries({ store: built.store, state: () => built.chain.state, snapshots }) })
  return api.url
}

async function post(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${url}/v1/proofs`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' }, ...init })
  const text = await res.text()
  return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined, headers: res.headers }
}

/** keys that hold values at both retained heights, and keys absent from both */
const PRESENT = [StateKey.round('r1'), StateKey.commit('r1', 'bank-a'), StateKey.commit('r1', 'bank-c'), StateKey.member('bank-a'), StateKey.checkpointLatest]
const ABSENT = [StateKey.commit('r1', 'bank-d'), StateKey.member('nobody')]

/**
 * Checks a batch answer the way a verifier would: the certificate is a quorum's of
 * `height`, and every proof leads to the value the state at `height` holds for its key
 * (or to its absence) under the certificate's state root.
 */
function expectProven(body: any, keys: string[], height: number): void {
  expect(documentedSchema('ProofBatch').safeParse(body).success).toBe(true)
  expect(body.height).toBe(height)
  const cert = decode<CommitCertificate>(fromHex(body.certificate.certificateCbor))
  expect(checkCertificate(cert, { chain: CHAIN, genesis: GENESIS_ROOT }, SCHEME)).toEqual({ ok: true })
  expect(cert.header.height).toBe(height)
  expect(body.stateRoot).toBe(toHex(cert.header.stateRoot))
  expect(body.proofs.map((p: { key: string }) => p.key)).toEqual(keys)
  const state = retained.get(height)!
  for (const { key, proofCbor } of body.proofs as Array<{ key: string; proofCbor: string }>) {
    const proven = verifyProof(cert.header.stateRoot, key, decode(fromHex(proofCbor)))
    const raw = state.getRaw(key)
    expect([key, proven.included ? toHex(proven.value) : null]).toEqual([key, raw === undefined ? null : toHex(raw)])
  }
}

describe('POST /v1/proofs', () => {
  it('proves present and absent keys, in the order asked, under the state root of the newest certified height', async () => {
    const url = await serve(HEAD)
    const keys = [...PRESENT, ABSENT[0]!, StateKey.round('r2'), ABSENT[1]!]
    const { status, body } = await post(url, { keys })
    expect(status).toBe(200)
    expectProven(body, keys, HEAD)
    expect(body.proofs.map((p: { key: string; proofCbor: string }) => verifyProof(fromHex(body.stateRoot), p.key, decode(fromHex(p.proofCbor))).included)).toEqual([true, true, true, true, true, false, true, false])
    // the answer carries only the proofs, not the values in JSON
    expect(Object.keys(body).sort()).toEqual(['certificate', 'height', 'proofs', 'stateRoot'])
    expect(Object.keys(body.proofs[0]).sort()).toEqual(['key', 'proofCbor'])
    // each proof is the one GET /v1/proofs/{key} gives for the key: the same height, the same bytes
    for (const key of keys) {
      const one = (await (await fetch(`${url}/v1/proofs/${encodeURIComponent(key)}`)).json()) as any
      expect([key, one.height, one.proofCbor]).toEqual([key, HEAD, body.proofs[keys.indexOf(key)].proofCbor])
    }
  })

  it('chooses the height as GET /v1/proofs/{key} does: the newest certified height still held, else the current state', async () => {
    const key = StateKey.round('r2')
    // HEAD is committed but not certified yet: everything is proven at HEAD - 1, where r2 is absent
    let url = await serve(HEAD - 1)
    const older = await post(url, { keys: [key, ...PRESENT] })
    expectProven(older.body, [key, ...PRESENT], HEAD - 1)
    expect(verifyProof(fromHex(older.body.stateRoot), key, decode(fromHex(older.body.proofs[0].proofCbor)))).toEqual({ included: false })
    expect(((await (await fetch(`${url}/v1/proofs/${encodeURIComponent(key)}`)).json()) as any).height).toBe(HEAD - 1)
    await api!.server.stop()
    // a node that keeps no certificates proves against its current state, with no certificate
    url = await serve(undefined)
    const current = await post(url, { keys: [key] })
    expect(current.body).toMatchObject({ height: HEAD, stateRoot: toHex(built.chain.state.root), certificate: null })
    expect(verifyProof(built.chain.state.root, key, decode(fromHex(current.body.proofs[0].proofCbor))).included).toBe(true)
  })

  it('proves at the height asked for, and refuses one this node does not retain (404 SNAPSHOT_NOT_RETAINED)', async () => {
    const url = await serve(HEAD)
    const keys = [StateKey.round('r2'), ...PRESENT, ...ABSENT]
    const { status, body } = await post(url, { keys, height: HEAD - 1 })
    expect(status).toBe(200)
    expectProven(body, keys, HEAD - 1)
    expect(body.stateRoot).not.toBe(toHex(built.chain.state.root))
    const gone = await post(url, { keys, height: 5 })
    expect([gone.status, gone.body.error.code]).toEqual([404, 'SNAPSHOT_NOT_RETAINED'])
    expect(gone.body.error.message).toContain(`heights ${HEAD - 1} to ${HEAD}`)
  })

  it('gives the event loop back between chunks of proofs, and proves every key against the state it chose first', async () => {
    let current = built.chain.state
    let pauses = 0
    /** the node commits another state (here: HEAD + 1 without round r2) while the batch is being proven */
    class Moving extends LedgerQueries {
      override async proofs(keys: readonly string[], height?: number, opts: { pause?: () => Promise<void>; every?: number } = {}) {
        const pause = opts.pause
        return super.proofs(keys, height, { ...opts, pause: pause && (async () => {
          pauses++
          current = built.chain.state.apply([[StateKey.round('r2'), undefined]], HEAD + 1)
          await pause()
        }) })
      }
    }
    api = await startApi(built, { queries: new Moving({ store: built.store, state: () => current }) })
    const keys = [...Array.from({ length: 1000 }, (_, i) => `member/m${i}`), StateKey.round('r2')]
    const { status, body } = await post(api.url, { keys })
    expect(status).toBe(200)
    expect(pauses).toBe(Math.ceil(keys.length / PROOF_CHUNK) - 1)
    expect(body).toMatchObject({ height: HEAD, stateRoot: toHex(built.chain.state.root), certificate: null })
    const proven = body.proofs.map((p: { key: string; proofCbor: string }) => verifyProof(built.chain.state.root, p.key, decode(fromHex(p.proofCbor))).included)
    expect(proven).toEqual([...keys.slice(0, -1).map(() => false), true])
  })

  it(`takes up to ${MAX_PROOF_BATCH_KEYS} keys`, async () => {
    const url = await serve(HEAD)
    const keys = Array.from({ length: MAX_PROOF_BATCH_KEYS }, (_, i) => (i < PRESENT.length ? PRESENT[i]! : `member/m${i}`))
    const { status, body } = await post(url, { keys })
    expect(status).toBe(200)
    expect(body.proofs).toHaveLength(MAX_PROOF_BATCH_KEYS)
    expectProven(body, keys, HEAD)
  })

  it("refuses bad input with the API's typed errors", async () => {
    const url = await serve(HEAD)
    const key = PRESENT[0]!
    const cases: Array<[string, string | object, number, string, RegExp?, RequestInit?]> = [
      ['not JSON', '{"keys": [', 400, 'BAD_REQUEST', /not valid JSON/],
      ['not an object', '["round/r1"]', 400, 'BAD_REQUEST', /must be \{"keys"/],
      ['no keys field', {}, 400, 'BAD_REQUEST', /must be \{"keys"/],
      ['keys not a list', { keys: key }, 400, 'BAD_REQUEST', /must be \{"keys"/],
      ['no keys', { keys: [] }, 400, 'BAD_REQUEST', /1 to 2048 keys/],
      ['an unknown field', { keys: [key], at: 1 }, 400, 'BAD_REQUEST', /must be \{"keys"/],
      ['too many keys', { keys: Array.from({ length: MAX_PROOF_BATCH_KEYS + 1 }, (_, i) => `member/m${i}`) }, 400, 'BAD_REQUEST', /2049 keys: at most 2048/],
      ['a key too long', { keys: [key, 'k'.repeat(513)] }, 400, 'BAD_REQUEST', /keys\[1\] is not a state key/],
      ['an empty key', { keys: [''] }, 400, 'BAD_REQUEST', /keys\[0\] is not a state key/],
      ['a key not a string', { keys: [key, 7] }, 400, 'BAD_REQUEST', /keys\[1\] is not a state key/],
      ['a lone surrogate', `{"keys": ["${key}", "member/\\ud800"]}`, 400, 'BAD_REQUEST', /keys\[1\]: state key is not well-formed Unicode/],
      ['a key asked twice', { keys: [key, ABSENT[0], key] }, 400, 'BAD_REQUEST', /keys\[2\] repeats keys\[0\]/],
      ['a negative height', { keys: [key], height: -1 }, 400, 'BAD_REQUEST', /height must be a non-negative integer/],
      ['a fractional height', { keys: [key], height: 7.5 }, 400, 'BAD_REQUEST', /height must be a non-negative integer/],
      ['a height as a string', { keys: [key], height: '8' }, 400, 'BAD_REQUEST', /height must be a non-negative integer/],
      ['a body over the cap', { keys: [key], pad: 'x'.repeat(600 * 1024) }, 413, 'PAYLOAD_TOO_LARGE'],
      ['not JSON content', { keys: [key] }, 415, 'UNSUPPORTED_MEDIA_TYPE', /application\/json/, { headers: { 'content-type': 'text/plain' } }],
      ['no content type', '', 415, 'UNSUPPORTED_MEDIA_TYPE', undefined, { body: new TextEncoder().encode(JSON.stringify({ keys: [key] })), headers: {} }],
    ]
    for (const [what, body, status, code, message, init] of cases) {
      const r = await post(url, body, init)
      expect([what, r.status, r.body?.error?.code]).toEqual([what, status, code])
      expect(documentedSchema('Error').safeParse(r.body).success).toBe(true)
      if (message !== undefined) expect([what, r.body.error.message]).toEqual([what, expect.stringMatching(message)])
    }
    const get = await fetch(`${url}/v1/proofs`)
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST'])
  })

  it('answers 503 NOT_READY while the node has no state', async () => {
    const queries = new LedgerQueries({ store: built.store, state: () => { throw new Error('not started') } })
    api = await startApi(built, { queries })
    const r = await post(api.url, { keys: [PRESENT[0]] })
    expect([r.status, r.body.error.code]).toEqual([503, 'NOT_READY'])
  })
})

describe('ApiClient.proofs', () => {
  it('reads the proofs and the certificate as bytes, at the newest certified height or the one asked for', async () => {
    const url = await serve(HEAD)
    const client = new ApiClient({ apis: [url] })
    const keys = [StateKey.round('r2'), ...PRESENT, ...ABSENT]
    for (const [asked, height] of [[undefined, HEAD], [HEAD - 1, HEAD - 1]] as const) {
      const answer = await client.proofs(keys, { height: asked })
      expect(answer.height).toBe(height)
      const cert = decode<CommitCertificate>(answer.certificate!)
      expect(bytesEqual(cert.header.stateRoot, retained.get(height)!.root)).toBe(true)
      expect(answer.proofs.map((p) => p.key)).toEqual(keys)
      for (const { key, proof } of answer.proofs) {
        const proven = verifyProof(cert.header.stateRoot, key, decode(proof))
        const raw = retained.get(height)!.getRaw(key)
        expect([key, proven.included ? toHex(proven.value) : null]).toEqual([key, raw === undefined ? null : toHex(raw)])
      }
    }
    // the validator's refusal is an API error with its code; a bad request is refused before it is sent
    const e = await client.proofs(keys, { height: 5 }).then(() => undefined, (err: unknown) => err)
    expect(isApiClientError(e) && [e.code, e.status, e.apiCode]).toEqual(['API', 404, 'SNAPSHOT_NOT_RETAINED'])
    for (const bad of [[], [PRESENT[0]!, PRESENT[0]!], Array.from({ length: MAX_PROOF_BATCH_KEYS + 1 }, (_, i) => `k${i}`)]) {
      await expect(client.proofs(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    }
  })
})
