/**
 * Listing state records by key prefix, with cursor pagination. The state trie is
 * ordered by sha256(key), so it cannot list `member/…` keys in order by itself:
 * this builds, once per state version, a sorted list of the keys of the listable
 * families (members, enclaves, rounds) and pages through it by binary search.
 * States are immutable, so the index is cached on the trie object (weakly) and is
 * never stale; building it walks the whole trie, once per block that is queried.
 */
import type { LedgerState, StateTrie } from '../../ledger/index.ts'
import { badRequest } from './errors.ts'

/** Key prefixes that list endpoints page through. */
export const LISTED_PREFIXES = ['member/', 'enclave/', 'round/'] as const
export type ListedPrefix = (typeof LISTED_PREFIXES)[number]

export const DEFAULT_PAGE_LIMIT = 50
export const MAX_PAGE_LIMIT = 500

export interface PageRequest {
  /** items per page: 1 … MAX_PAGE_LIMIT (larger values are capped), default DEFAULT_PAGE_LIMIT */
  limit?: number
  /** the `next` of the previous page; absent for the first page */
  cursor?: string
}

export interface Page<T> {
  /** the height of the state the page was read from */
  height: number
  items: T[]
  /** cursor of the next page, or null on the last page */
  next: string | null
}

export function pageLimit(limit: number | undefined, fallback = DEFAULT_PAGE_LIMIT): number {
  if (limit === undefined) return fallback
  if (!Number.isInteger(limit) || limit < 1) throw badRequest('limit must be a positive integer')
  return Math.min(limit, MAX_PAGE_LIMIT)
}

const cache = new WeakMap<StateTrie, Map<ListedPrefix, string[]>>()

function indexOf(state: LedgerState): Map<ListedPrefix, string[]> {
  let index = cache.get(state.trie)
  if (index === undefined) {
    index = new Map(LISTED_PREFIXES.map((p) => [p, [] as string[]]))
    for (const [key] of state.trie.entries()) {
      const prefix = LISTED_PREFIXES.find((p) => key.startsWith(p))
      if (prefix !== undefined) index.get(prefix)!.push(key.slice(prefix.length))
    }
    for (const ids of index.values()) ids.sort(compare)
    cache.set(state.trie, index)
  }
  return index
}

/** One page of the ids under `prefix`, in ascending (UTF-16 code unit) order; the cursor is the last id returned. */
export function pageIds(state: LedgerState, prefix: ListedPrefix, req: PageRequest): { ids: string[]; next: string | null } {
  const ids = indexOf(state).get(prefix)!
  const limit = pageLimit(req.limit)
  let start = 0
  if (req.cursor !== undefined) {
    // first id strictly greater than the cursor
    let lo = 0
    let hi = ids.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compare(ids[mid]!, req.cursor) <= 0) lo = mid + 1
      else hi = mid
    }
    start = lo
  }
  const page = ids.slice(start, start + limit)
  const next = start + limit < ids.length && page.length > 0 ? page.at(-1)! : null
  return { ids: page, next }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
