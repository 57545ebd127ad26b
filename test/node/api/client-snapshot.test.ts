// ApiClient.snapshot: a coordinator writes a checkpoint from a validator's snapshot and gets it anchored; bad snapshots are refused.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { CasBlockstore, MemoryKeyValueStore, restoreCheckpoint, snapshotEntries, StateKey, writeCheckpoint, type CheckpointRecord } from '../../../ledger/index.ts'
import { encode } from '../../../primitives/index.ts'
import { ApiClient, ApiClientError, ApiServer, LedgerQueries, SNAPSHOT_CONTENT_TYPE, type SnapshotOptions } from '../../../node/api/index.ts'
import { AppChain } from '../ledger-app-fixture.ts'

const fetchSnapshot = (api: string, height: number, opts?: SnapshotOptions) => new ApiClient({ apis: [api] }).snapshot(height, opts)

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

async function serveApp(chain: AppChain): Promise<string> {
  const queries = new LedgerQueries({ store: chain.store, state: () => chain.app.state, snapshots: chain.app })
  const server = new ApiServer({ queries, submit: async () => ({ id: 'unused' }), status: () => { throw new Error('unused') }, registry: new Registry() }, { host: '127.0.0.1', port: 0 })
  await server.start()
  closers.push(() => server.stop())
  return server.address().url
}

/** A server that answers every request with these bytes: a validator that lies or is broken. */
async function serveBytes(bytes: Uint8Array, contentType = SNAPSHOT_CONTENT_TYPE): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': contentType, 'content-length': String(bytes.length) })
    res.end(bytes)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function failure(p: Promise<unknown>): Promise<ApiClientError> {
  const e = await p.then(() => undefined, (err: unknown) => err)
  expect(e).toBeInstanceOf(ApiClientError)
  return e as ApiClientError
}

describe('ApiClient.snapshot', () => {
  it('lets a coordinator without ledger state write a checkpoint of a recent height that the ledger anchors', async () => {
    const chain = await AppChain.open()
    const resultHeight = await chain.resultedRound()
    await chain.advanceTo(resultHeight + 3)
    const api = await serveApp(chain)
    const height = resultHeight + 1
    const expectedRoot = (await chain.store.commitAt(height))!.stateRoot
    const snap = await fetchSnapshot(api, height, { expectedRoot })
    expect(snap.height).toBe(height)
    expect(snap.stateRoot).toEqual(expectedRoot)
    expect(snap.entries).toEqual(snapshotEntries(chain.app.snapshotAt(height)!))
    expect(snap.state.root).toEqual(expectedRoot)
    expect(snap.state.height).toBe(height)

    const cas = new CasBlockstore({ kv: new MemoryKeyValueStore() })
    const written = await writeCheckpoint(cas, { state: snap.state, model: new Float32Array([0.25, -0.5]) })
    await chain.advanceTo(chain.height + 2) // the transaction lands some blocks later
    const body = { ...chain.checkpointBody(snap.height, snap.stateRoot), snapshot: written.root }
    const [receipt] = await chain.commit(chain.tx('coord', 'checkpoint', body))
    expect([receipt?.code, receipt?.message]).toEqual(['OK', ''])
    const anchored = chain.app.state.get<CheckpointRecord>(StateKey.checkpointLatest)!
    expect(anchored.snapshot.equals(written.root)).toBe(true)
    const restored = await restoreCheckpoint(cas, written.root, { stateRoot: anchored.stateRoot, height: anchored.height, model: written.model })
    expect(restored.state.root).toEqual(anchored.stateRoot)
  })

  it('reports a height the node does not retain with its API code, and a root other than the expected one', async () => {
    const chain = await AppChain.open()
    await chain.advanceTo(3)
    const api = await serveApp(chain)
    const missing = await failure(fetchSnapshot(api, 50))
    expect([missing.code, missing.message]).toEqual(['API', expect.stringMatching(/HTTP 404 SNAPSHOT_NOT_RETAINED: .*retains heights 0 to 3/)])
    const wrongRoot = await failure(fetchSnapshot(api, 2, { expectedRoot: (await chain.store.commitAt(1))!.stateRoot }))
    expect(wrongRoot.message).toMatch(/expected/)
    expect((await failure(fetchSnapshot(api, -1))).code).toBe('INVALID_ARGUMENT')
  })

  it('refuses snapshots that do not check out', async () => {
    const chain = await AppChain.open()
    await chain.advanceTo(2)
    const state = chain.app.state
    const entries = snapshotEntries(state)
    const good = { height: state.height, stateRoot: state.root, entries }
    expect((await fetchSnapshot(await serveBytes(encode(good)), state.height)).state.root).toEqual(state.root)
    const cases: Array<[string, Uint8Array, RegExp, string?]> = [
      ['a tampered value', encode({ ...good, entries: entries.map(([k, v], i) => [k, i === 3 ? new Uint8Array([...v, 1]) : v]) }), /rebuilds root/],
      ['a dropped entry', encode({ ...good, entries: entries.slice(1) }), /rebuilds root/],
      ['unsorted keys', encode({ ...good, entries: [...entries].reverse() }), /not strictly sorted/],
      ['a repeated key', encode({ ...good, entries: [entries[0], ...entries] }), /not strictly sorted/],
      ['another height', encode({ ...good, height: state.height - 1 }), /of height 1, not 2/],
      ['a short root', encode({ ...good, stateRoot: new Uint8Array(31) }), /not a snapshot/],
      ['an extra field', encode({ ...good, extra: 1 }), /not a snapshot/],
      ['no DAG-CBOR', new Uint8Array([0xff, 0x00]), /not DAG-CBOR/],
      ['JSON', new TextEncoder().encode('{}'), /application\/json, not application\/vnd.ipld.dag-cbor/, 'application/json'],
    ]
    for (const [what, bytes, why, type] of cases) {
      const e = await failure(fetchSnapshot(await serveBytes(bytes, type), state.height))
      expect([what, e.code, e.message]).toEqual([what, 'BAD_ANSWER', expect.stringMatching(why)])
    }
    const capped = await failure(fetchSnapshot(await serveBytes(encode(good)), state.height, { maxBytes: 100 }))
    expect(capped.message).toMatch(/limit 100/)
  })
})
