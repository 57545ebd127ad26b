// GET /v1/snapshots/{height} over a LedgerApp: the retained state as DAG-CBOR, typed 404s naming the retained heights, 400s.
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { snapshotEntries, StateKey } from '../../../ledger/index.ts'
import { decode } from '../../../primitives/index.ts'
import { ApiServer, LedgerQueries, SNAPSHOT_CONTENT_TYPE, type SnapshotBody } from '../../../node/api/index.ts'
import { RETAINED_HEIGHTS } from '../../../node/app.ts'
import { AppChain } from '../ledger-app-fixture.ts'
import { documentedSchema, openapiDocument } from './documented.ts'

let chain: AppChain
const servers: ApiServer[] = []

async function serve(withSnapshots: boolean): Promise<string> {
  const queries = new LedgerQueries({ store: chain.store, state: () => chain.app.state, snapshots: withSnapshots ? chain.app : undefined })
  const server = new ApiServer({ queries, submit: async () => ({ id: 'unused' }), status: () => { throw new Error('not used by these routes') }, registry: new Registry() }, { host: '127.0.0.1', port: 0 })
  servers.push(server)
  await server.start()
  return server.address().url
}

beforeAll(async () => {
  chain = await AppChain.open()
  await chain.advanceTo(RETAINED_HEIGHTS + 4)
})
afterAll(async () => {
  for (const s of servers) await s.stop()
})

describe('GET /v1/snapshots/{height}', () => {
  it('serves a retained state as DAG-CBOR {height, stateRoot, entries} with key-sorted entries', async () => {
    const url = await serve(true)
    const h = chain.height - 3
    const res = await fetch(`${url}/v1/snapshots/${h}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(SNAPSHOT_CONTENT_TYPE)
    expect(Object.keys((await openapiDocument()).paths['/v1/snapshots/{height}'].get.responses['200'].content)).toEqual([SNAPSHOT_CONTENT_TYPE])
    const bytes = new Uint8Array(await res.arrayBuffer())
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length)
    const body = decode<SnapshotBody>(bytes, Number.MAX_SAFE_INTEGER)
    expect(Object.keys(body).sort()).toEqual(['entries', 'height', 'stateRoot'])
    expect(body.height).toBe(h)
    expect(body.stateRoot).toEqual((await chain.store.commitAt(h))!.stateRoot)
    expect(body.entries).toEqual(snapshotEntries(chain.app.snapshotAt(h)!))
    const keys = body.entries.map(([k]) => k)
    expect(keys).toEqual([...keys].sort())
    // the state after block h: its own block's writes, not the next one's
    expect(keys).toContain(StateKey.member(`filler-${h}`))
    expect(keys).not.toContain(StateKey.member(`filler-${h + 1}`))
    // the head too
    const head = decode<SnapshotBody>(new Uint8Array(await (await fetch(`${url}/v1/snapshots/${chain.height}`)).arrayBuffer()), Number.MAX_SAFE_INTEGER)
    expect(head.stateRoot).toEqual(chain.app.state.root)
  })

  it('answers 404 SNAPSHOT_NOT_RETAINED, naming the retained heights, outside them', async () => {
    const url = await serve(true)
    const { from, to } = chain.app.retainedSnapshots()
    expect(to - from + 1).toBe(RETAINED_HEIGHTS)
    const errorSchema = documentedSchema('Error')
    for (const h of [0, from - 1, to + 1]) {
      const res = await fetch(`${url}/v1/snapshots/${h}`)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect([h, res.status, body.error.code]).toEqual([h, 404, 'SNAPSHOT_NOT_RETAINED'])
      expect(body.error.message).toContain(`retains heights ${from} to ${to}`)
      expect(errorSchema.safeParse(body).success).toBe(true)
    }
    expect((await openapiDocument()).paths['/v1/snapshots/{height}'].get.responses['404'].description).toMatch(/SNAPSHOT_NOT_RETAINED/)
  })

  it('answers 400 for a height that is not a non-negative integer', async () => {
    const url = await serve(true)
    for (const bad of ['abc', '-1', '1.5', '1e3', '0x10', '1234567890123456']) {
      const res = await fetch(`${url}/v1/snapshots/${bad}`)
      const body = (await res.json()) as { error: { code: string } }
      expect([bad, res.status, body.error.code]).toEqual([bad, 400, 'BAD_REQUEST'])
    }
  })

  it('answers 404 SNAPSHOT_NOT_RETAINED on a node that keeps no snapshots', async () => {
    const url = await serve(false)
    const res = await fetch(`${url}/v1/snapshots/${chain.height}`)
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SNAPSHOT_NOT_RETAINED')
  })
})
