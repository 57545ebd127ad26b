// NodeMetrics in its own registry, /metrics, /healthz and /v1/status.
import { Registry, register as globalRegistry } from 'prom-client'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ChainStore, type KeyValueStore } from '../../../ledger/index.ts'
import { toHex } from '../../../primitives/index.ts'
import { LedgerQueries, NodeMetrics } from '../../../node/api/index.ts'
import { buildChain, startApi, statusOf, type BuiltChain, type StartedApi } from './fixture.ts'

let built: BuiltChain
let api: StartedApi | undefined
beforeAll(async () => {
  built = await buildChain()
})
afterEach(async () => {
  await api?.server.stop()
  api = undefined
})

/** The value of one sample line, e.g. `name{a="b"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('NodeMetrics', () => {
  it('records what the driver reports, in the registry it was given and nowhere else', async () => {
    const registry = new Registry()
    const m = new NodeMetrics({ registry })
    m.onCommit(2, 10, 150, 8)
    m.onCommit(1, 0, 40)
    m.setView(12)
    m.setEpoch(3)
    m.onLeaderChange()
    m.onViewTimeout()
    m.onViewTimeout()
    m.setMempoolSize(5)
    m.setPeers(3)
    m.setSyncing(true)
    m.onMessage('vote', 'accept')
    m.onMessage('vote', 'accept')
    m.onMessage('proposal', 'reject')
    m.onSafetyWrite()
    m.onApiRequest('/v1/params', 'GET', 200, 3)
    const text = await registry.metrics()
    expect(sample(text, 'fedledger_blocks_committed_total')).toBe(3)
    expect(sample(text, 'fedledger_txs_committed_total')).toBe(10)
    expect(sample(text, 'fedledger_committed_height')).toBe(8)
    expect(sample(text, 'fedledger_commit_latency_seconds_count')).toBe(2)
    expect(sample(text, 'fedledger_commit_latency_seconds_bucket{le="0.05"}')).toBe(1)
    expect(sample(text, 'fedledger_commit_latency_seconds_bucket{le="0.25"}')).toBe(2)
    expect(sample(text, 'fedledger_consensus_view')).toBe(12)
    expect(sample(text, 'fedledger_consensus_epoch')).toBe(3)
    expect(sample(text, 'fedledger_leader_changes_total')).toBe(1)
    expect(sample(text, 'fedledger_view_timeouts_total')).toBe(2)
    expect(sample(text, 'fedledger_mempool_size')).toBe(5)
    expect(sample(text, 'fedledger_peers')).toBe(3)
    expect(sample(text, 'fedledger_syncing')).toBe(1)
    expect(sample(text, 'fedledger_messages_received_total{kind="vote",verdict="accept"}')).toBe(2)
    expect(sample(text, 'fedledger_messages_received_total{kind="proposal",verdict="reject"}')).toBe(1)
    expect(sample(text, 'fedledger_safety_state_writes_total')).toBe(1)
    expect(sample(text, 'fedledger_api_requests_total{route="/v1/params",method="GET",status="200"}')).toBe(1)
    // a second node in the same process gets its own registry without clashing, and the global one stays empty
    const other = new NodeMetrics({ registry: new Registry() })
    other.onCommit(1, 1, 1)
    expect(sample(await other.registry.metrics(), 'fedledger_blocks_committed_total')).toBe(1)
    expect(await globalRegistry.metrics()).not.toContain('fedledger_')
    // ignores nonsense instead of throwing
    m.onCommit(-1, Number.NaN, Number.NaN)
    expect(sample(await registry.metrics(), 'fedledger_blocks_committed_total')).toBe(3)
  })
})

describe('/metrics, /healthz and /v1/status', () => {
  it('serves the text exposition, counting API requests by route template and status', async () => {
    api = await startApi(built)
    api.metrics.onCommit(1, 4, 20, 8)
    await (await fetch(`${api.url}/v1/members/bank-a`)).text()
    await (await fetch(`${api.url}/v1/members/nobody`)).text()
    await (await fetch(`${api.url}/v1/nothing`)).text()
    const res = await fetch(`${api.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    for (const name of ['committed_height', 'consensus_view', 'consensus_epoch', 'leader_changes_total', 'view_timeouts_total', 'blocks_committed_total', 'txs_committed_total', 'commit_latency_seconds', 'mempool_size', 'peers', 'messages_received_total', 'safety_state_writes_total', 'api_requests_total']) {
      expect(text).toContain(`# TYPE fedledger_${name} `)
    }
    expect(sample(text, 'fedledger_txs_committed_total')).toBe(4)
    expect(sample(text, 'fedledger_api_requests_total{route="/v1/members/{id}",method="GET",status="200"}')).toBe(1)
    expect(sample(text, 'fedledger_api_requests_total{route="/v1/members/{id}",method="GET",status="404"}')).toBe(1)
    expect(sample(text, 'fedledger_api_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1)
  })

  it('/healthz is 200 with the height and lag while the store answers', async () => {
    api = await startApi(built, { status: () => statusOf(built, { highestKnownHeight: 11, syncing: true, lastCommitAt: Date.now() - 4_000 }) })
    const res = await fetch(`${api.url}/healthz`)
    const body: any = await res.json()
    expect([res.status, body.status, body.height, body.syncing, body.lag.blocks]).toEqual([200, 'ok', 8, true, 3])
    expect(body.lag.secondsSinceCommit).toBeGreaterThanOrEqual(4)
    expect(body.lag.secondsSinceCommit).toBeLessThan(30)
  })

  it('/healthz is 503 when the store fails or does not answer in time', async () => {
    const failing = { get: () => Promise.reject(new Error('LEVEL_DATABASE_NOT_OPEN')) } as unknown as KeyValueStore
    api = await startApi(built, { queries: new LedgerQueries({ store: new ChainStore({ kv: failing }), state: () => built.chain.state }) })
    const res = await fetch(`${api.url}/healthz`)
    const body: any = await res.json()
    expect([res.status, body.error.code]).toEqual([503, 'NOT_READY'])
    expect(JSON.stringify(body)).not.toContain('LEVEL_DATABASE')
    await api.server.stop()
    const hanging = { get: () => new Promise(() => {}) } as unknown as KeyValueStore
    api = await startApi(built, { queries: new LedgerQueries({ store: new ChainStore({ kv: hanging }), state: () => built.chain.state }), options: { healthTimeoutMs: 200 } })
    const started = Date.now()
    const slow = await fetch(`${api.url}/healthz`)
    expect(slow.status).toBe(503)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('/v1/status reports the node status as JSON, and 503 when the node cannot say', async () => {
    const head = (await built.store.head())!
    let fail = false
    api = await startApi(built, {
      status: () => {
        if (fail) throw new Error('driver not started')
        return statusOf(built, { committedBlock: head.block })
      },
    })
    const body = await (await fetch(`${api.url}/v1/status`)).json()
    expect(body).toEqual({
      chainId: 'test-chain', validator: { id: 'val-0', index: 0 }, epoch: 0, view: 42, leader: { id: 'val-2', index: 2 },
      committed: { height: 8, block: head.block!.toString(), stateRoot: toHex(built.chain.state.root) },
      peers: 3, mempoolSize: 7, syncing: false, version: '0.1.0-test', highestKnownHeight: 10, lastCommitAt: null,
    })
    fail = true
    const res = await fetch(`${api.url}/v1/status`)
    expect([res.status, ((await res.json()) as any).error.code]).toEqual([503, 'NOT_READY'])
  })
})
