/**
 * The ledger's authenticated state: a persistent binary Merkle trie (a compact
 * sparse Merkle tree, like Diem/Aptos' Jellyfish Merkle tree but binary and in
 * memory). It maps string keys to byte values (already DAG-CBOR-encoded by the
 * caller) and commits to the whole map with one 32-byte `root`.
 *
 * Where a key lives: its path is the 256 bits of sha256(utf8(key)), most
 * significant first; 0 goes left, 1 goes right. Conceptually that is a complete
 * tree of depth 256 with one slot per possible hash, almost all empty. We store it
 * compactly with three kinds of node:
 *
 *     Empty      no keys below                       hash = 32 zero bytes
 *     Leaf       exactly one key below               hash = sha256(0x00 || keyHash || sha256(value))
 *     Internal   two or more keys below; a left and  hash = sha256(0x01 || left.hash || right.hash)
 *                a right child (either may be Empty)
 *
 * A subtree holding one key is that key's leaf, placed at the top of the subtree:
 * no chain of single-child internal nodes leads down to it. So a leaf sits at the
 * shallowest depth where its hash prefix is unique among the keys present; two keys
 * whose hashes share their first 5 bits meet in an internal node at depth 5, under
 * a chain of internal nodes with one Empty child each. The shape (and so every hash)
 * is therefore a function of the set of (key, value) pairs alone, never of the order
 * of insertions or deletions: the root changes if and only if the state changes.
 * The 0x00 / 0x01 prefixes keep leaves and internal nodes apart (see trie-proof.ts,
 * which also holds the proof format and the verifier a light client needs).
 *
 * Nodes are immutable and hash themselves once, when built. An update copies the
 * path from the root to the changed slots and shares everything else, so every
 * older StateTrie stays valid and costs only the nodes it does not share. Writes
 * are applied as a sorted batch in one pass (`applyBatch`), so each touched
 * internal node is rebuilt and rehashed once per batch, not once per write.
 *
 * Values are copied on the way in; `get`, `entries` and proofs hand out the stored
 * bytes, which callers must not mutate.
 */
import { sha256, bytesEqual } from '../../primitives/index.ts'
import { LedgerError } from '../errors.ts'
import {
  EMPTY_HASH,
  MAX_DEPTH,
  bitAt,
  internalHash,
  keyHashOf,
  leafHash,
  type TrieProof,
  type TrieProofEnd,
} from './trie-proof.ts'

export { verifyProof, parseTrieProof } from './trie-proof.ts'
export type { TrieProof, TrieProofEnd, TrieProofResult } from './trie-proof.ts'

interface Leaf {
  readonly kind: 'leaf'
  readonly keyHash: Uint8Array
  readonly key: string
  readonly value: Uint8Array
  readonly valueHash: Uint8Array
  readonly hash: Uint8Array
}

interface Internal {
  readonly kind: 'internal'
  readonly left: Node
  readonly right: Node
  readonly size: number
  readonly hash: Uint8Array
}

/** `null` is the Empty subtree. */
type Node = Leaf | Internal | null

/** One pending write: `leaf` is the new entry, or null to delete `keyHash`. */
interface Write {
  readonly keyHash: Uint8Array
  readonly key: string
  readonly leaf: Leaf | null
}

export class StateTrie {
  static readonly #EMPTY = new StateTrie(null)
  readonly #root: Node

  private constructor(root: Node) {
    this.#root = root
  }

  static empty(): StateTrie {
    return StateTrie.#EMPTY
  }

  /** Builds a trie in one pass; a key given twice keeps its last value. */
  static fromEntries(entries: Iterable<readonly [string, Uint8Array]>): StateTrie {
    return StateTrie.#EMPTY.applyBatch(entries)
  }

  /** The 32-byte state root (a fresh copy). */
  get root(): Uint8Array {
    return new Uint8Array(nodeHash(this.#root))
  }

  /** Number of keys. */
  get size(): number {
    const n = this.#root
    return n === null ? 0 : n.kind === 'leaf' ? 1 : n.size
  }

  get(key: string): Uint8Array | undefined {
    const keyHash = keyHashOf(key)
    let node = this.#root
    for (let depth = 0; node !== null && node.kind === 'internal'; depth++) {
      node = bitAt(keyHash, depth) === 0 ? node.left : node.right
    }
    return node !== null && bytesEqual(node.keyHash, keyHash) ? node.value : undefined
  }

  has(key: string): boolean {
    return this.get(key) !== undefined
  }

  set(key: string, value: Uint8Array): StateTrie {
    return this.applyBatch([[key, value]])
  }

  delete(key: string): StateTrie {
    return this.applyBatch([[key, undefined]])
  }

  /**
   * Applies many writes at once (`undefined` deletes the key); later writes to the
   * same key win. Returns `this` when nothing changes, so `root` is unchanged too.
   */
  applyBatch(writes: Iterable<readonly [string, Uint8Array | undefined]>): StateTrie {
    const byKey = new Map<string, Uint8Array | undefined>()
    for (const [key, value] of writes) {
      if (value !== undefined && !(value instanceof Uint8Array)) {
        throw new LedgerError('BAD_ARGUMENT', `state value for '${String(key)}' must be a Uint8Array or undefined`)
      }
      byKey.set(key, value)
    }
    if (byKey.size === 0) return this
    const sorted: Write[] = []
    for (const [key, value] of byKey) {
      const keyHash = keyHashOf(key)
      sorted.push({ keyHash, key, leaf: value === undefined ? null : makeLeaf(keyHash, key, new Uint8Array(value)) })
    }
    sorted.sort((a, b) => Buffer.compare(a.keyHash, b.keyHash))
    for (let i = 1; i < sorted.length; i++) {
      if (bytesEqual((sorted[i - 1] as Write).keyHash, (sorted[i] as Write).keyHash)) {
        throw new Error('sha256 collision between two state keys') // cannot happen; never silently merge keys
      }
    }
    const root = update(this.#root, sorted, 0, sorted.length, 0)
    return root === this.#root ? this : new StateTrie(root)
  }

  /** All entries, in ascending order of sha256(key) (the trie's left-to-right order). */
  *entries(): IterableIterator<[string, Uint8Array]> {
    const stack: Node[] = [this.#root]
    while (stack.length > 0) {
      const node = stack.pop() as Node
      if (node === null) continue
      if (node.kind === 'leaf') yield [node.key, node.value]
      else stack.push(node.right, node.left)
    }
  }

  /** A proof that `key` has its current value, or is absent; check it with `verifyProof(root, key, proof)`. */
  prove(key: string): TrieProof {
    const keyHash = keyHashOf(key)
    const siblings: Uint8Array[] = [] // shallowest first while walking down; reversed below
    const present = new Uint8Array(MAX_DEPTH / 8)
    let node = this.#root
    let depth = 0
    while (node !== null && node.kind === 'internal') {
      const goRight = bitAt(keyHash, depth) === 1
      const sibling = goRight ? node.left : node.right
      if (sibling !== null) {
        present[depth >> 3]! |= 0x80 >> (depth & 7)
        siblings.push(new Uint8Array(sibling.hash))
      }
      node = goRight ? node.right : node.left
      depth++
    }
    let end: TrieProofEnd
    if (node === null) end = { kind: 'empty' }
    else if (bytesEqual(node.keyHash, keyHash)) end = { kind: 'value', value: node.value }
    else end = { kind: 'leaf', keyHash: new Uint8Array(node.keyHash), valueHash: new Uint8Array(node.valueHash) }
    return { depth, present: present.slice(0, Math.ceil(depth / 8)), siblings: siblings.reverse(), end }
  }
}

function nodeHash(node: Node): Uint8Array {
  return node === null ? EMPTY_HASH : node.hash
}

function makeLeaf(keyHash: Uint8Array, key: string, value: Uint8Array): Leaf {
  const valueHash = sha256(value)
  return { kind: 'leaf', keyHash, key, value, valueHash, hash: leafHash(keyHash, valueHash) }
}

function makeInternal(left: Node, right: Node): Internal {
  const size = (left === null ? 0 : left.kind === 'leaf' ? 1 : left.size) + (right === null ? 0 : right.kind === 'leaf' ? 1 : right.size)
  return { kind: 'internal', left, right, size, hash: internalHash(nodeHash(left), nodeHash(right)) }
}

/**
 * The subtree with children `left` and `right`, kept compact: if at most one leaf
 * is left below, that leaf (or Empty) moves up to take the internal node's place.
 * (An Internal child always has two or more leaves, so it never moves up.)
 */
function join(left: Node, right: Node): Node {
  if (left === null && (right === null || right.kind === 'leaf')) return right
  if (right === null && left !== null && left.kind === 'leaf') return left
  return makeInternal(left, right)
}

/**
 * Applies writes[lo, hi) (sorted by keyHash, all sharing the path to `node`, which
 * sits at `depth`) to the subtree `node`. Returns `node` itself if nothing changed.
 */
function update(node: Node, writes: readonly Write[], lo: number, hi: number, depth: number): Node {
  if (lo === hi) return node
  if (node === null || node.kind === 'leaf') {
    // At most one existing key here: rebuild the subtree from it plus the new leaves.
    const leaves: Leaf[] = []
    let existing: Leaf | null = node
    for (let i = lo; i < hi; i++) {
      const w = writes[i] as Write
      if (existing !== null && Buffer.compare(existing.keyHash, w.keyHash) <= 0) {
        if (bytesEqual(existing.keyHash, w.keyHash)) {
          // Overwritten or deleted; an identical value keeps the old leaf (and so the old root).
          if (w.leaf !== null) leaves.push(bytesEqual(existing.valueHash, w.leaf.valueHash) ? existing : w.leaf)
          existing = null
          continue
        }
        leaves.push(existing)
        existing = null
      }
      if (w.leaf !== null) leaves.push(w.leaf)
    }
    if (existing !== null) leaves.push(existing)
    return build(leaves, 0, leaves.length, depth)
  }
  const mid = firstRight(writes, lo, hi, depth)
  const left = update(node.left, writes, lo, mid, depth + 1)
  const right = update(node.right, writes, mid, hi, depth + 1)
  return left === node.left && right === node.right ? node : join(left, right)
}

/** The compact subtree at `depth` holding exactly leaves[lo, hi) (sorted by keyHash). */
function build(leaves: readonly Leaf[], lo: number, hi: number, depth: number): Node {
  if (hi - lo === 0) return null
  if (hi - lo === 1) return leaves[lo] as Leaf
  if (depth >= MAX_DEPTH) throw new Error('trie invariant: distinct keys share a full 256-bit path')
  const mid = firstRight(leaves, lo, hi, depth)
  return makeInternal(build(leaves, lo, mid, depth + 1), build(leaves, mid, hi, depth + 1))
}

/** In items[lo, hi), sorted by keyHash and sharing bits above `depth`: the first index whose bit `depth` is 1. */
function firstRight(items: readonly { keyHash: Uint8Array }[], lo: number, hi: number, depth: number): number {
  while (lo < hi) {
    const m = (lo + hi) >>> 1
    if (bitAt((items[m] as { keyHash: Uint8Array }).keyHash, depth) === 0) lo = m + 1
    else hi = m
  }
  return lo
}
