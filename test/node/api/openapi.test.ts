// The OpenAPI document the node serves at GET /openapi.json against the server: a valid OpenAPI 3.1
// document (checked with the official schemas), the same routes both ways, live responses that
// match the documented schemas, and those schemas generated from the zod source (node/api/schemas.ts).
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { StateKey } from '../../../ledger/index.ts'
import { apiSchemas, ROUTES, SubmitError } from '../../../node/api/index.ts'
import { modelCid } from '../../ledger/harness.ts'
import { buildChain, startApi, type BuiltChain, type StartedApi } from './fixture.ts'

const METHODS = ['get', 'post', 'put', 'delete', 'patch', 'head', 'options']

let built: BuiltChain
let api: StartedApi | undefined
/** the document as a running node serves it */
let doc: any
beforeAll(async () => {
  built = await buildChain()
  const served = await startApi(built)
  try {
    const res = await fetch(`${served.url}/openapi.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    doc = await res.json()
  } finally {
    await served.server.stop()
  }
})
afterEach(async () => {
  await api?.server.stop()
  api = undefined
})

function documented(): string[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${path}`))
}

/** A zod schema for a documented schema; component refs are rewritten to $defs, which is where zod resolves them. */
function schemaFor(schema: unknown): z.ZodType {
  const rewrite = (x: unknown) => JSON.parse(JSON.stringify(x).replaceAll('#/components/schemas/', '#/$defs/'))
  return z.fromJSONSchema({ ...rewrite(schema), $defs: rewrite(doc.components.schemas) } as never)
}

function responseSchema(method: string, path: string, status: number): { schema: unknown; type: string } {
  let r = doc.paths[path][method.toLowerCase()].responses[String(status)]
  expect(r, `${method} ${path} documents ${status}`).toBeDefined()
  if (r.$ref !== undefined) r = doc.components.responses[r.$ref.split('/').at(-1)]
  const [type, media] = Object.entries(r.content as Record<string, { schema: unknown }>)[0]!
  return { schema: media.schema, type }
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (the official schemas) and every $ref in it resolves', async () => {
    expect(doc.openapi).toBe('3.1.0')
    const validator = new Validator()
    const result = await validator.validate(structuredClone(doc))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    // and the validator does catch a broken document
    const broken = structuredClone(doc)
    broken.paths['/v1/status'].get.responses = 'none'
    expect((await new Validator().validate(broken)).valid).toBe(false)
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!)
    expect(refs.length).toBeGreaterThan(50)
    for (const ref of new Set(refs)) expect([ref, ref.split('/').reduce((o: any, k) => o?.[k], doc) !== undefined]).toEqual([ref, true])
  })

  it('documents exactly the routes the server serves', () => {
    const served = ROUTES.map((r) => `${r.method} ${r.path}`).sort()
    expect(documented().sort()).toEqual(served)
  })

  it('every documented operation reaches a handler on the live server (no NO_ROUTE, no 405)', async () => {
    api = await startApi(built)
    for (const op of documented()) {
      const [method, path] = op.split(' ') as [string, string]
      const url = api.url + path.replace(/\{[^}]+\}/g, '1')
      const res = await fetch(url, method === 'POST' ? { method, body: '{}', headers: { 'content-type': 'application/json' } } : { method })
      const text = await res.text()
      expect([op, res.status === 405 || text.includes('"NO_ROUTE"')]).toEqual([op, false])
    }
    const res = await fetch(`${api.url}/v1/undocumented`)
    expect(((await res.json()) as any).error.code).toBe('NO_ROUTE')
  })

  it('describes the bodies the server actually returns, successes and errors', async () => {
    let refuse = false
    api = await startApi(built, { submit: async (bytes) => {
      if (refuse) throw new SubmitError('rejected', 'BAD_NONCE', 'stale nonce')
      return { id: modelCid(String(bytes.length)).toString() }
    } })
    const cases: Array<[string, string, string, number, RequestInit?]> = [
      ['POST', '/v1/txs', '/v1/txs', 202, { body: '{"tx":"QUJD"}', headers: { 'content-type': 'application/json' } }],
      ['GET', '/v1/txs/{id}', `/v1/txs/${built.ids.commitA}`, 200],
      ['GET', '/v1/txs/{id}', `/v1/txs/${built.ids.register}`, 200],
      ['GET', '/v1/txs/{id}', '/v1/txs/nope', 400],
      ['GET', '/v1/blocks/latest', '/v1/blocks/latest', 200],
      ['GET', '/v1/blocks/{ref}', '/v1/blocks/1', 200],
      ['GET', '/v1/blocks/{ref}', '/v1/blocks/4', 200],
      ['GET', '/v1/blocks/{ref}', '/v1/blocks/77', 404],
      ['GET', '/v1/members', '/v1/members?limit=3', 200],
      ['GET', '/v1/members/{id}', '/v1/members/bank-a', 200],
      ['GET', '/v1/members/{id}', '/v1/members/gov-1', 200],
      ['GET', '/v1/enclaves', '/v1/enclaves', 200],
      ['GET', '/v1/rounds', '/v1/rounds', 200],
      ['GET', '/v1/rounds/{id}', '/v1/rounds/r1', 200],
      ['GET', '/v1/rounds/{id}', '/v1/rounds/r2', 200],
      ['GET', '/v1/budgets/{member}', '/v1/budgets/bank-a', 200],
      ['GET', '/v1/checkpoints', '/v1/checkpoints', 200],
      ['GET', '/v1/checkpoints/latest', '/v1/checkpoints/latest', 200],
      ['GET', '/v1/checkpoints/{seq}', '/v1/checkpoints/1', 200],
      ['GET', '/v1/validators', '/v1/validators', 200],
      ['GET', '/v1/params', '/v1/params', 200],
      ['GET', '/v1/proofs/{key}', `/v1/proofs/${encodeURIComponent(StateKey.round('r1'))}`, 200],
      ['GET', '/v1/proofs/{key}', '/v1/proofs/absent', 200],
      ['POST', '/v1/proofs', '/v1/proofs', 200, { body: JSON.stringify({ keys: [StateKey.round('r1'), 'absent'] }), headers: { 'content-type': 'application/json' } }],
      ['POST', '/v1/proofs', '/v1/proofs', 400, { body: '{"keys":[]}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/v1/proofs', '/v1/proofs', 404, { body: '{"keys":["params"],"height":5}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/v1/proofs', '/v1/proofs', 415, { body: '{"keys":["params"]}' }],
      ['GET', '/v1/status', '/v1/status', 200],
      ['GET', '/healthz', '/healthz', 200],
      ['GET', '/metrics', '/metrics', 200],
      ['GET', '/v1/members', '/v1/members', 405, { method: 'DELETE' }],
      ['POST', '/v1/admin/block', '/v1/admin/block', 404, { body: '{"peers":["QmA"]}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/v1/admin/unblock', '/v1/admin/unblock', 404, { body: '{"peers":["QmA"]}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/v1/admin/delay', '/v1/admin/delay', 404, { body: '{"ms":100}', headers: { 'content-type': 'application/json' } }],
    ]
    for (const [method, template, path, status, init] of cases) {
      const res = await fetch(api.url + path, { method, ...init })
      expect([path, res.status]).toEqual([path, status])
      const { schema, type } = responseSchema(method, template, status)
      expect(res.headers.get('content-type')).toContain(type)
      const body = type === 'application/json' ? await res.json() : await res.text()
      const parsed = schemaFor(schema).safeParse(body)
      expect([path, parsed.success ? 'ok' : JSON.stringify(parsed.error.issues.slice(0, 3))]).toEqual([path, 'ok'])
    }
    refuse = true
    const res = await fetch(`${api.url}/v1/txs`, { method: 'POST', body: '{"tx":"QUJD"}', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(422)
    expect(schemaFor(responseSchema('POST', '/v1/txs', 422).schema).safeParse(await res.json()).success).toBe(true)
  })

  it('describes the admin routes as served with an admin component, and their request body', async () => {
    const blocked = new Set<string>()
    let delayMs = 0
    api = await startApi(built, { admin: {
      block: async (peers) => void peers.forEach((p) => blocked.add(p)),
      unblock: (peers) => void peers.forEach((p) => blocked.delete(p)),
      blocked: () => [...blocked],
      setDelay: (ms) => void (delayMs = ms),
      delay: () => delayMs,
    } })
    const json = (body: string): RequestInit => ({ method: 'POST', body, headers: { 'content-type': 'application/json' } })
    const cases: Array<[string, number, RequestInit]> = [
      ['/v1/admin/block', 200, json('{"peers":["QmA","QmB"]}')],
      ['/v1/admin/unblock', 200, json('{"peers":["QmA"]}')],
      ['/v1/admin/block', 400, json('{"peers":[]}')],
      ['/v1/admin/unblock', 415, { method: 'POST', body: '{"peers":["QmA"]}' }],
      ['/v1/admin/delay', 200, json('{"ms":400}')],
      ['/v1/admin/delay', 400, json('{"ms":-5}')],
      ['/v1/admin/delay', 415, { method: 'POST', body: '{"ms":1}' }],
    ]
    for (const [path, status, init] of cases) {
      const res = await fetch(api.url + path, init)
      expect([path, res.status]).toEqual([path, status])
      const parsed = schemaFor(responseSchema('POST', path, status).schema).safeParse(await res.json())
      expect([path, status, parsed.success]).toEqual([path, status, true])
    }
    expect(blocked).toEqual(new Set(['QmB']))
    expect(delayMs).toBe(400)
    const delayRequest = schemaFor(doc.paths['/v1/admin/delay'].post.requestBody.content['application/json'].schema)
    for (const good of [{ ms: 0 }, { ms: 400 }, { ms: 10_000 }]) expect([good, delayRequest.safeParse(good).success]).toEqual([good, true])
    for (const bad of [{}, { ms: -1 }, { ms: 10_001 }, { ms: 1.5 }, { ms: '400' }, { ms: 1, extra: 1 }]) {
      expect([bad, delayRequest.safeParse(bad).success]).toEqual([bad, false])
    }
    expect(doc.paths['/v1/admin/delay'].post.tags).toEqual(['admin'])
    for (const path of ['/v1/admin/block', '/v1/admin/unblock']) {
      const request = schemaFor(doc.paths[path].post.requestBody.content['application/json'].schema)
      expect(request.safeParse({ peers: ['12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'] }).success).toBe(true)
      for (const bad of [{ peers: [] }, { peers: [''] }, { peers: ['a/b'] }, { peers: ['k'.repeat(129)] }, { peers: Array(101).fill('QmA') }, { peers: ['QmA'], extra: 1 }, {}]) {
        expect([path, bad, request.safeParse(bad).success]).toEqual([path, bad, false])
      }
      expect(doc.paths[path].post.tags).toEqual(['admin'])
    }
    expect(doc.tags.find((t: { name: string }) => t.name === 'admin')?.description).toMatch(/testnet-only fault injection.*partitions.*delay/i)
  })

  it('describes the request body of POST /v1/proofs as the route takes it', () => {
    const request = schemaFor(doc.paths['/v1/proofs'].post.requestBody.content['application/json'].schema)
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `member/m${i}`)
    for (const good of [{ keys: ['round/r1'] }, { keys: keys(2048), height: 0 }, { keys: ['k'.repeat(512)], height: 8 }]) expect([good.keys.length, request.safeParse(good).success]).toEqual([good.keys.length, true])
    for (const bad of [{}, { keys: [] }, { keys: keys(2049) }, { keys: [''] }, { keys: ['k'.repeat(513)] }, { keys: ['a', 'a'] }, { keys: ['a'], height: -1 }, { keys: ['a'], height: 1.5 }, { keys: ['a'], extra: 1 }]) {
      expect([JSON.stringify(bad).slice(0, 60), request.safeParse(bad).success]).toEqual([JSON.stringify(bad).slice(0, 60), false])
    }
    expect(doc.paths['/v1/proofs'].post.tags).toEqual(['state'])
  })

  it('its component schemas are generated from the zod schemas, one for one', () => {
    expect(Object.keys(doc.components.schemas).sort()).toEqual(apiSchemas.apiSchemaNames().sort())
    for (const name of apiSchemas.apiSchemaNames()) {
      const generated = z.toJSONSchema(apiSchemas.apiSchema(name), { target: 'draft-2020-12' }) as Record<string, unknown>
      // the same top-level keywords: a schema edited in one place and not the other would differ here
      const documented = doc.components.schemas[name] as Record<string, unknown>
      expect([name, documented.type, documented.description]).toEqual([name, generated.type, generated.description])
    }
  })

  it('the index at GET /v1 lists every route for people', async () => {
    api = await startApi(built)
    const res = await fetch(`${api.url}/v1`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    const page = await res.text()
    for (const r of ROUTES) expect([r.method, r.path, page.includes(`<code>${r.method}</code></td><td><code>${r.path}</code>`)]).toEqual([r.method, r.path, true])
    expect(page).toContain('href="/openapi.json"')
  })

  it("validates path and query parameters with the route's own schemas, the ones the document shows", async () => {
    api = await startApi(built)
    const cases: Array<[string, string, string]> = [
      // [path, parameter, the message the route's zod schema gives]
      ['/v1/members?limit=0', 'limit', 'limit must be a positive integer'],
      ['/v1/rounds?cursor=' + 'c'.repeat(257), 'cursor', 'cursor must be 1 to 256 characters'],
      ['/v1/checkpoints/abc', 'seq', 'a checkpoint sequence number is a decimal integer'],
      ['/v1/snapshots/-1', 'height', 'a height is a non-negative decimal integer'],
      ['/v1/proofs/' + 'k'.repeat(513), 'key', 'a state key is at most 512 characters'],
      ['/v1/events/blocks?txs=maybe', 'txs', "txs must be 'true' or 'false'"],
    ]
    for (const [path, param, message] of cases) {
      const res = await fetch(api.url + path)
      const body = (await res.json()) as any
      expect([path, res.status, body.error.code, body.error.message.startsWith(message)]).toEqual([path, 400, 'BAD_REQUEST', true])
      // and the document describes that parameter, from the same route definition
      const template = ROUTES.find((r) => r.method === 'GET' && new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path.split('?')[0]!))!.path
      const params = doc.paths[template].get.parameters as Array<{ name: string; in: string }>
      expect([template, params.some((p) => p.name === param)]).toEqual([template, true])
    }
    // what the schemas accept still reaches the handler
    expect((await fetch(`${api.url}/v1/members?limit=2&unknown=1`)).status).toBe(200)
  })

  it('the schemas are strict enough to catch drift', () => {
    const member = schemaFor({ $ref: '#/components/schemas/Member' })
    const good = { id: 'a', org: 'o', roles: ['participant'], publicKey: 'ab', attestation: null, registeredAt: 0, revokedAt: null, revocationReason: null, revoked: false }
    expect(member.safeParse(good).success).toBe(true)
    expect(member.safeParse({ ...good, extra: 1 }).success).toBe(false)
    expect(member.safeParse({ ...good, publicKey: 'AB' }).success).toBe(false)
    const { revoked: _, ...missing } = good
    expect(member.safeParse(missing).success).toBe(false)
  })
})
