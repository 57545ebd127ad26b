/**
 * The API's OpenAPI 3.1 document, as the node serves it at GET /openapi.json: the
 * operations (paths, parameters, responses, descriptions) from operations.json and
 * every component schema generated from the zod schemas of schemas.ts, the ones
 * the server's responses are tested against and the clients parse with. The
 * document is built once per process.
 */
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { API_SCHEMAS } from './schemas.ts'

type Json = Record<string, unknown>

let built: Json | undefined
let bytes: Uint8Array | undefined

/** The whole document (operations.json with its component schemas generated). */
export function openApiDocument(): Json {
  if (built !== undefined) return built
  const operations = JSON.parse(readFileSync(new URL('./operations.json', import.meta.url), 'utf8')) as Json & { components: Json }
  const generated = z.toJSONSchema(API_SCHEMAS, { target: 'draft-2020-12', uri: (id) => `#/components/schemas/${id}` }) as { schemas: Record<string, Json> }
  const schemas: Record<string, Json> = {}
  for (const [name, schema] of Object.entries(generated.schemas)) {
    const { $id: _id, $schema: _schema, ...rest } = schema
    schemas[name] = rest
  }
  built = { ...operations, components: { ...operations.components, schemas } }
  return built
}

/** The document as the response body of GET /openapi.json. */
export function openApiBytes(): Uint8Array {
  bytes ??= new TextEncoder().encode(JSON.stringify(openApiDocument()))
  return bytes
}

/** Each operation of the document as "METHOD /path" with its summary, in document order (for the index at GET /v1). */
export function operationList(): Array<{ method: string; path: string; summary: string; tag: string }> {
  const paths = openApiDocument().paths as Record<string, Record<string, { summary?: string; tags?: string[] }>>
  const out: Array<{ method: string; path: string; summary: string; tag: string }> = []
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue
      out.push({ method: method.toUpperCase(), path, summary: op.summary ?? '', tag: op.tags?.[0] ?? '' })
    }
  }
  return out
}
