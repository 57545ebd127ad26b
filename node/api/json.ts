/**
 * How ledger values become JSON in the API, in one place: byte strings are
 * lowercase hex (no 0x prefix), CIDs are their canonical string (base32 for
 * CIDv1), bigints that do not fit a double are decimal strings. The one input
 * that carries bytes in JSON, a submitted transaction, is base64 (RFC 4648,
 * standard alphabet, padded) because it is large. Trie proofs get a JSON form
 * and a converter back, so a client can check them with the ledger's verifier.
 */
import { parseTrieProof, type TrieProof } from '../../ledger/index.ts'
import { CID, toHex, fromHex } from '../../primitives/index.ts'
import { badRequest } from './errors.ts'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** A DAG-CBOR-shaped value (records, decoded transactions) as JSON. */
export function toJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (value instanceof Uint8Array) return toHex(value)
  const cid = CID.asCID(value)
  if (cid !== null) return cid.toString()
  if (Array.isArray(value)) return value.map(toJson)
  if (typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {}
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v)
    return out
  }
  return null
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Strict base64 (standard alphabet, padded): Buffer's own decoder silently skips junk. */
export function decodeBase64(text: string, what: string): Uint8Array {
  if (!BASE64.test(text)) throw badRequest(`${what} is not base64 (standard alphabet, padded)`)
  return Uint8Array.from(Buffer.from(text, 'base64'))
}

export type TrieProofEndJson = { kind: 'value'; value: string } | { kind: 'empty' } | { kind: 'leaf'; keyHash: string; valueHash: string }

export interface TrieProofJson {
  depth: number
  /** hex bitmap: bit d (MSB first) set ⇔ the sibling at depth d is non-empty */
  present: string
  /** hex hashes of the non-empty siblings, deepest first */
  siblings: string[]
  end: TrieProofEndJson
}

export function trieProofToJson(p: TrieProof): TrieProofJson {
  const end: TrieProofEndJson =
    p.end.kind === 'value' ? { kind: 'value', value: toHex(p.end.value) } : p.end.kind === 'empty' ? { kind: 'empty' } : { kind: 'leaf', keyHash: toHex(p.end.keyHash), valueHash: toHex(p.end.valueHash) }
  return { depth: p.depth, present: toHex(p.present), siblings: p.siblings.map(toHex), end }
}

/**
 * The client side: a proof's JSON form back to a `TrieProof` for `verifyProof(root, key, proof)`.
 * Throws LedgerError (BAD_ARGUMENT for bad hex, MALFORMED for a bad shape).
 */
export function trieProofFromJson(json: TrieProofJson): TrieProof {
  const e = json.end
  const end = e.kind === 'value' ? { kind: 'value', value: fromHex(e.value) } : e.kind === 'leaf' ? { kind: 'leaf', keyHash: fromHex(e.keyHash), valueHash: fromHex(e.valueHash) } : { kind: e.kind }
  return parseTrieProof({ depth: json.depth, present: fromHex(json.present), siblings: json.siblings.map(fromHex), end })
}
