// The component schemas of node/api/openapi.json as zod schemas, so tests can check live responses against the document.
import { readFileSync } from 'node:fs'
import { z } from 'zod'

const doc = JSON.parse(readFileSync(new URL('../../../node/api/openapi.json', import.meta.url), 'utf8'))

/** The schema `#/components/schemas/<name>`, with every component ref resolved. */
export function documentedSchema(name: string): z.ZodType {
  const rewrite = (x: unknown) => JSON.parse(JSON.stringify(x).replaceAll('#/components/schemas/', '#/$defs/'))
  return z.fromJSONSchema({ $ref: `#/$defs/${name}`, $defs: rewrite(doc.components.schemas) } as never)
}

/** The parsed document, for checks on operations. */
export function openapiDocument(): any {
  return doc
}
