/**
 * The state trie's hashing rules and its Merkle proofs: everything a light client
 * needs to check "key k has value v" (or "key k is absent") against a state root,
 * without holding any of the tree. The tree itself lives in trie.ts.
 *
 * Hashes (all sha256, 32 bytes; keyHash = sha256(utf8(key))):
 *
 *     empty subtree   32 zero bytes
 *     leaf            sha256(0x00 || keyHash || sha256(value))
 *     internal node   sha256(0x01 || left.hash || right.hash)
 *
 * The first byte is domain separation. A leaf preimage and an internal preimage are
 * both 65 bytes; without the tag, the leaf (keyHash, valueHash) would hash exactly
 * like an internal node whose children hash to keyHash and valueHash, and a prover
 * could pass one off as the other: e.g. present a leaf as an internal node to
 * "prove" a made-up entry deeper down, or cut a real subtree short and call it a
 * leaf. With the tag, doing so needs a sha256 collision. (Same rule as RFC 6962's
 * Merkle tree and Diem/Aptos' sparse Merkle tree; the empty hash is a constant no
 * real node hashes to.)
 *
 * A proof for key k follows the bits of sha256(k) (most significant first: 0 =
 * left, 1 = right) from the root down to where the path ends, which is one of:
 *
 *     { kind: 'value', value }                 k's own leaf: k is included, with this value
 *     { kind: 'empty' }                        an empty subtree: k is absent
 *     { kind: 'leaf', keyHash, valueHash }     another key's leaf sitting where k's would
 *                                              have to be: k is absent
 *
 * plus the hash of the sibling subtree at every level passed on the way. Empty
 * siblings are not sent: bit d of `present` (MSB first, d = 0 at the root) says
 * whether the sibling at depth d is non-empty, and `siblings` lists only the
 * non-empty ones, deepest first (the order the verifier folds them back up to the
 * root). The proof is plain data (numbers, strings, Uint8Array, arrays), so it can
 * travel as DAG-CBOR; `parseTrieProof` checks the shape of one that came off the wire.
 */
import { sha256, bytesEqual } from '../../primitives/index.ts'
import { LedgerError } from '../errors.ts'

export const HASH_BYTES = 32
/** Keys are 256-bit hashes, so no path is longer than this. */
export const MAX_DEPTH = 256

/** Hash of the empty subtree (and the root of the empty trie): 32 zero bytes. Shared: never mutate. */
export const EMPTY_HASH: Uint8Array = new Uint8Array(HASH_BYTES)

const LEAF_TAG = 0x00
const INTERNAL_TAG = 0x01

export type TrieProofEnd =
  | { kind: 'value'; value: Uint8Array }
  | { kind: 'empty' }
  | { kind: 'leaf'; keyHash: Uint8Array; valueHash: Uint8Array }

export interface TrieProof {
  /** Number of levels from the root to where the path ends (0: the root itself). */
  depth: number
  /** ceil(depth / 8) bytes; bit d (MSB first) set ⇔ the sibling at depth d is non-empty. Padding bits are 0. */
  present: Uint8Array
  /** Hashes of the non-empty siblings, deepest first. */
  siblings: Uint8Array[]
  end: TrieProofEnd
}

export type TrieProofResult = { included: true; value: Uint8Array } | { included: false }

const utf8 = new TextEncoder()

/** sha256(utf8(key)). Rejects strings with lone surrogates: they have no UTF-8 form, and two of them would share one. */
export function keyHashOf(key: string): Uint8Array {
  if (typeof key !== 'string') throw new LedgerError('BAD_ARGUMENT', 'state key must be a string')
  if (!key.isWellFormed()) throw new LedgerError('BAD_ARGUMENT', 'state key is not well-formed Unicode (lone surrogate)')
  return sha256(utf8.encode(key))
}

export function leafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return tagged(LEAF_TAG, keyHash, valueHash)
}

export function internalHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return tagged(INTERNAL_TAG, left, right)
}

// One reused preimage buffer: sha256() reads it synchronously, and a fresh 65-byte
// array per node (too big for V8's on-heap typed arrays) made hashing ~2x slower.
const preimage = new Uint8Array(1 + 2 * HASH_BYTES)

function tagged(tag: number, a: Uint8Array, b: Uint8Array): Uint8Array {
  preimage[0] = tag
  preimage.set(a, 1)
  preimage.set(b, 1 + HASH_BYTES)
  return sha256(preimage)
}

/** Bit `depth` of a 32-byte hash, most significant bit of byte 0 first: 0 = go left, 1 = go right. */
export function bitAt(hash: Uint8Array, depth: number): 0 | 1 {
  return (((hash[depth >> 3] ?? 0) >> (7 - (depth & 7))) & 1) as 0 | 1
}

/**
 * Checks `proof` for `key` against `root`. Returns whether the key is in the state
 * (and its value); throws LedgerError MALFORMED if the proof is not a well-formed
 * trie proof, BAD_ARGUMENT if it is well-formed but does not lead to `root` (so a
 * returned result is always backed by `root`).
 */
export function verifyProof(root: Uint8Array, key: string, proof: unknown): TrieProofResult {
  if (!(root instanceof Uint8Array) || root.length !== HASH_BYTES) {
    throw new LedgerError('BAD_ARGUMENT', `state root must be ${HASH_BYTES} bytes`)
  }
  const p = parseTrieProof(proof)
  const keyHash = keyHashOf(key)

  let hash: Uint8Array
  switch (p.end.kind) {
    case 'value':
      hash = leafHash(keyHash, sha256(p.end.value))
      break
    case 'empty':
      hash = EMPTY_HASH
      break
    case 'leaf':
      // The other leaf must really sit on k's path (share its first `depth` bits) and be a different key.
      if (bytesEqual(p.end.keyHash, keyHash)) throw new LedgerError('MALFORMED', 'trie proof: non-inclusion leaf has the queried key')
      for (let d = 0; d < p.depth; d++) {
        if (bitAt(p.end.keyHash, d) !== bitAt(keyHash, d)) {
          throw new LedgerError('MALFORMED', 'trie proof: non-inclusion leaf is not on the key path')
        }
      }
      hash = leafHash(p.end.keyHash, p.end.valueHash)
      break
  }

  let next = 0
  for (let d = p.depth - 1; d >= 0; d--) {
    const sibling = bitAt(p.present, d) ? (p.siblings[next++] as Uint8Array) : EMPTY_HASH
    hash = bitAt(keyHash, d) === 0 ? internalHash(hash, sibling) : internalHash(sibling, hash)
  }
  if (!bytesEqual(hash, root)) throw new LedgerError('BAD_ARGUMENT', 'trie proof does not match the state root')
  return p.end.kind === 'value' ? { included: true, value: p.end.value } : { included: false }
}

/** Checks the shape of an untrusted proof (e.g. just decoded from DAG-CBOR); throws LedgerError MALFORMED. */
export function parseTrieProof(x: unknown): TrieProof {
  const bad = (why: string): never => {
    throw new LedgerError('MALFORMED', `trie proof: ${why}`)
  }
  if (typeof x !== 'object' || x === null) return bad('not an object')
  const { depth, present, siblings, end } = x as Record<string, unknown>
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH) return bad('bad depth')
  if (!(present instanceof Uint8Array) || present.length !== Math.ceil(depth / 8)) return bad('bad present bitmap length')
  let count = 0
  for (let d = 0; d < present.length * 8; d++) {
    if (bitAt(present, d) === 1) {
      if (d >= depth) return bad('padding bits set in present bitmap')
      count++
    }
  }
  if (!Array.isArray(siblings) || siblings.length !== count) return bad('sibling count does not match the bitmap')
  for (const s of siblings) if (!isHash(s)) return bad('sibling is not a 32-byte hash')
  if (typeof end !== 'object' || end === null) return bad('missing end')
  const e = end as Record<string, unknown>
  let parsedEnd: TrieProofEnd
  if (e.kind === 'value' && e.value instanceof Uint8Array) parsedEnd = { kind: 'value', value: e.value }
  else if (e.kind === 'empty') parsedEnd = { kind: 'empty' }
  else if (e.kind === 'leaf' && isHash(e.keyHash) && isHash(e.valueHash)) {
    parsedEnd = { kind: 'leaf', keyHash: e.keyHash, valueHash: e.valueHash }
  } else return bad('bad end')
  return { depth, present, siblings: siblings as Uint8Array[], end: parsedEnd }
}

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === HASH_BYTES
}
