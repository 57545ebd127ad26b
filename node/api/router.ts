/**
 * A tiny router over path templates like `/v1/blocks/{ref}`: a template segment
 * in braces matches exactly one path segment (percent-decoded, so a state key
 * with `/` travels as `%2F`). Literal segments win over parameters, so
 * `/v1/blocks/latest` is not read as a block reference.
 */
import { decodeSegment } from './http.ts'

export type HttpMethod = 'GET' | 'POST'

interface Compiled<R> {
  route: R
  method: HttpMethod
  parts: Array<{ literal: string } | { param: string }>
}

export type RouteMatch<R> =
  | { kind: 'found'; route: R; params: Record<string, string> }
  /** the path exists, but not for this method */
  | { kind: 'method'; allowed: HttpMethod[] }
  | { kind: 'none' }

export class Router<R extends { method: HttpMethod; path: string }> {
  private readonly routes: Array<Compiled<R>>

  constructor(routes: readonly R[]) {
    this.routes = routes.map((route) => ({
      route,
      method: route.method,
      parts: route.path
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : { literal: s })),
    }))
    // literal-heavy templates first: a literal beats a parameter at the same position
    this.routes.sort((a, b) => literalRank(b) - literalRank(a))
  }

  match(method: string, segments: string[]): RouteMatch<R> {
    const allowed = new Set<HttpMethod>()
    let found: { route: R; params: Record<string, string> } | undefined
    for (const c of this.routes) {
      const params = matchParts(c.parts, segments)
      if (params === undefined) continue
      if (c.method === method) {
        found ??= { route: c.route, params }
      } else allowed.add(c.method)
    }
    if (found !== undefined) return { kind: 'found', ...found }
    // a path some route serves, by other methods only
    return allowed.size > 0 ? { kind: 'method', allowed: [...allowed].sort() } : { kind: 'none' }
  }

}

function literalRank(c: { parts: Array<{ literal: string } | { param: string }> }): number {
  // weight earlier literals more, so /a/{x}/b and /a/b/{x} order deterministically
  return c.parts.reduce((acc, p, i) => acc + ('literal' in p ? 2 ** (16 - Math.min(i, 16)) : 0), 0)
}

function matchParts(parts: Compiled<unknown>['parts'], segments: string[]): Record<string, string> | undefined {
  if (parts.length !== segments.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    const s = segments[i]!
    if ('literal' in p) {
      if (p.literal !== s) return undefined
    } else {
      if (s === '') return undefined
      params[p.param] = decodeSegment(s)
    }
  }
  return params
}
