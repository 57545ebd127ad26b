// The API's schemas for tests: the zod source (node/api/schemas.ts) by component name, and the
// document the node serves, so tests can check live responses and documented operations.
import type { z } from 'zod'
import { apiSchemas, openApiDocument } from '../../../node/api/index.ts'

/** The schema of component `name` (the zod schema the document's component is generated from). */
export function documentedSchema(name: string): z.ZodType {
  return apiSchemas.apiSchema(name)
}

/** The document as the node serves it at GET /openapi.json. */
export async function openapiDocument(): Promise<any> {
  return await openApiDocument()
}
