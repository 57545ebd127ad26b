/**
 * The API's OpenAPI 3.1 document, generated from the routes a server registers:
 * @fastify/swagger walks the registered routes, and each route's schema comes from
 * its RouteDoc (route-docs.ts), whose zod schemas are turned into JSON Schema here.
 * Named schemas (schemas.ts, `API_SCHEMAS`) become `$ref`s to the document's
 * components, which are generated from the same zod source, the one clients parse
 * responses with. Served at GET /openapi.json, built once per server.
 */
import type { SwaggerOptions } from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifySchema } from 'fastify'
import { z } from 'zod'
import type { ResponseDoc, RouteDoc } from './route-docs.ts'
import { API_TAGS, ERR } from './route-docs.ts'
import { API_SCHEMAS, apiSchema, apiSchemaNames } from './schemas.ts'

type Json = Record<string, unknown>

const INFO = {
  title: 'fedledger validator API',
  version: '1.0.0',
  description:
    'Read the committed chain and state of a fedledger validator, submit transactions, and watch the node. Conventions: bodies are JSON except /metrics (text) and /v1/snapshots/{height} (DAG-CBOR); byte strings are lowercase hex (no 0x), except the body of a JSON transaction submission, which is base64; CIDs are strings; list endpoints take ?limit (default 50, capped at 500) and ?cursor (the previous page\'s `next`). Every error is {"error": {"code", "message"}}; bodies above 1 MiB (4 MiB for POST /v1/txs/batch, 512 KiB for POST /v1/proofs) get 413, requests that do not arrive within the request timeout get 408. The node generates this document from the routes it serves (node/api/route-docs.ts) and the zod schemas it answers with (node/api/schemas.ts).',
}

/** `/v1/blocks/{ref}` as fastify writes it: `/v1/blocks/:ref`. */
export function fastifyPath(template: string): string {
  return template.replace(/\{([A-Za-z]+)\}/g, ':$1')
}

/**
 * A route's fastify schema: `params` and `querystring` are zod schemas, which the
 * server validates requests with; the body and the responses go under keys of
 * their own (fastify neither parses bodies here nor serializes through schemas) and
 * reach only the document.
 */
export function swaggerSchema(doc: RouteDoc): FastifySchema {
  const schema: FastifySchema & Json = {
    operationId: doc.operationId,
    summary: doc.summary,
    tags: [...doc.tags],
    'x-route-doc': doc,
  }
  if (doc.description !== undefined) schema.description = doc.description
  if (doc.params !== undefined) schema.params = doc.params
  if (doc.query !== undefined) schema.querystring = doc.query
  return schema
}

export function swaggerOptions(): SwaggerOptions {
  return {
    openapi: { openapi: '3.1.0', info: INFO, servers: [{ url: '/', description: "the node's API address (host and port are node options)" }], tags: API_TAGS.map((t) => ({ ...t })) },
    transform: ({ schema, url }) => {
      const doc = (schema as Json | undefined)?.['x-route-doc'] as RouteDoc | undefined
      if (doc === undefined) return { schema, url } // hidden routes (405 answers)
      return { schema: routeSchemaJson(doc) as FastifySchema, url }
    },
    transformObject: (document) => {
      if (!('openapiObject' in document)) throw new Error('the API document is OpenAPI 3.1, not Swagger 2')
      const { openapiObject } = document
      return { ...openapiObject, components: { ...openapiObject.components, schemas: componentSchemas() } } as typeof openapiObject
    },
  }
}

/** The document of the routes registered on `app` (after `ready`). */
export function openApiDocumentOf(app: FastifyInstance): Json {
  return app.swagger() as unknown as Json
}

/** The document of the API's routes, built without a running server (tools and tests). */
export async function openApiDocument(): Promise<Json> {
  const { buildRoutes } = await import('./server.ts')
  const app = Fastify({ exposeHeadRoutes: false })
  await buildRoutes(app, undefined as never, { closing: () => new AbortController().signal })
  await app.ready()
  try {
    return openApiDocumentOf(app)
  } finally {
    await app.close()
  }
}

/** Each operation of the document as "METHOD /path" with its summary, in document order (for the index at GET /v1). */
export function operationList(document: Json): Array<{ method: string; path: string; summary: string; tag: string }> {
  const paths = document.paths as Record<string, Record<string, { summary?: string; tags?: string[] }>>
  const out: Array<{ method: string; path: string; summary: string; tag: string }> = []
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue
      out.push({ method: method.toUpperCase(), path, summary: op.summary ?? '', tag: op.tags?.[0] ?? '' })
    }
  }
  return out
}

/** A route's schema as @fastify/swagger reads it: JSON Schema throughout. */
function routeSchemaJson(doc: RouteDoc): Json {
  const out: Json = { operationId: doc.operationId, summary: doc.summary, tags: [...doc.tags] }
  if (doc.description !== undefined) out.description = doc.description
  if (doc.params !== undefined) out.params = toJson(doc.params, 'input')
  if (doc.query !== undefined) out.querystring = toJson(doc.query, 'input')
  if (doc.body !== undefined) out.body = { content: mapValues(doc.body, (s) => ({ schema: toJson(s, 'input') })) }
  // every route can answer 405 (the path, another method) and 500
  out.response = mapValues({ 405: ERR.MethodNotAllowed, 500: ERR.Internal, ...doc.responses }, responseJson)
  return out
}

function responseJson(r: ResponseDoc): Json {
  const out: Json = { description: r.description }
  if (r.headers !== undefined) out.headers = mapValues(r.headers, (s) => toJson(s, 'output'))
  if (r.content !== undefined) out.content = mapValues(r.content, (s) => ({ schema: toJson(s, 'output') }))
  return out
}

let components: Record<string, Json> | undefined

/** Every named schema of schemas.ts as a component, nested named schemas as `$ref`s. */
function componentSchemas(): Record<string, Json> {
  if (components !== undefined) return components
  const generated = z.toJSONSchema(API_SCHEMAS, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Json> }
  components = {}
  for (const [name, schema] of Object.entries(generated.schemas)) components[name] = withoutIds(schema)
  return components
}

const converted = { input: new WeakMap<z.ZodType, Json>(), output: new WeakMap<z.ZodType, Json>() }
const ROUTE_SCHEMA_ID = '__route'

/** A route's zod schema as JSON Schema: a named one as its `$ref`, any other inline, with `$ref`s to the named ones it uses. */
function toJson(schema: z.ZodType, io: 'input' | 'output'): Json {
  const id = API_SCHEMAS.get(schema)?.id
  if (id !== undefined) return { $ref: `#/components/schemas/${id}` }
  const cached = converted[io].get(schema)
  if (cached !== undefined) return cached
  // zod writes `$ref`s only between members of one registry: convert it beside the named schemas
  const registry = z.registry<{ id: string }>()
  for (const name of apiSchemaNames()) registry.add(apiSchema(name), { id: name })
  registry.add(schema, { id: ROUTE_SCHEMA_ID })
  const generated = z.toJSONSchema(registry, { target: 'draft-2020-12', io, uri: (ref) => `#/components/schemas/${ref}` }) as { schemas: Record<string, Json> }
  const json = withoutIds(generated.schemas[ROUTE_SCHEMA_ID]!)
  converted[io].set(schema, json)
  return json
}

function withoutIds(schema: Json): Json {
  const { $id: _id, $schema: _schema, ...rest } = schema
  return rest
}

function mapValues<V, W>(o: Record<string | number, V>, f: (v: V) => W): Record<string, W> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]))
}
