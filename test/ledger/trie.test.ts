import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decode, encode } from '../../primitives/index.ts'
import { isLedgerError } from '../../ledger/errors.ts'
import { StateTrie, verifyProof, type TrieProof } from '../../ledger/state/trie.ts'

// An independent statement of the hashing rules (not using the trie's helpers).
const H = (...parts: Uint8Array[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}
const ZERO = new Uint8Array(32)
const enc = (s: string) => new TextEncoder().encode(s)
const keyHash = (k: string) => H(enc(k))
const leaf = (k: string, v: Uint8Array) => H(Uint8Array.of(0), keyHash(k), H(v))
const node = (l: Uint8Array, r: Uint8Array) => H(Uint8Array.of(1), l, r)
const bit = (h: Uint8Array, d: number) => ((h[d >> 3] ?? 0) >> (7 - (d & 7))) & 1

/** The root by definition: split the set by one bit per level; one entry is a leaf, none is zeros. */
function specRoot(entries: Array<[string, Uint8Array]>, depth = 0): Uint8Array {
  if (entries.length === 0) return ZERO
  if (entries.length === 1) return leaf(entries[0]![0], entries[0]![1])
  const l = entries.filter(([k]) => bit(keyHash(k), depth) === 0)
  const r = entries.filter(([k]) => bit(keyHash(k), depth) === 1)
  return node(specRoot(l, depth + 1), specRoot(r, depth + 1))
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const code = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    if (isLedgerError(e)) return e.code
    throw e
  }
  return undefined
}

// Small key alphabet so that random operations hit the same keys often.
const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'é', '/', '🙂'), maxLength: 4 })
const valueArb = fc.uint8Array({ maxLength: 8 })
const mapArb = fc.uniqueArray(fc.tuple(keyArb, valueArb), { selector: ([k]) => k, maxLength: 40 })
type Op = { key: string; value: Uint8Array | undefined }
const opArb: fc.Arbitrary<Op> = fc.record({ key: keyArb, value: fc.option(valueArb, { nil: undefined }) })

describe('StateTrie: known roots', () => {
  it('empty trie has the all-zero root', () => {
    const t = StateTrie.empty()
    expect(t.root).toEqual(ZERO)
    expect(t.size).toBe(0)
    expect(t.get('a')).toBeUndefined()
    expect([...t.entries()]).toEqual([])
  })

  it('one entry: the root is its leaf hash', () => {
    const v = enc('1')
    const t = StateTrie.empty().set('a', v)
    expect(hex(t.root)).toBe(hex(H(Uint8Array.of(0), keyHash('a'), H(v))))
    expect(t.size).toBe(1)
  })

  it('two entries splitting at the first bit', () => {
    // sha256('a') = ca97… (first bit 1, right), sha256('b') = 3e23… (first bit 0, left)
    const [va, vb] = [enc('A'), enc('B')]
    const t = StateTrie.fromEntries([['a', va], ['b', vb]])
    expect(hex(t.root)).toBe(hex(node(leaf('b', vb), leaf('a', va))))
  })

  it('two entries sharing a 7-bit prefix meet at depth 7 under a chain of one-sided nodes', () => {
    // sha256('b') = 3e… = 0011111|0, sha256('e') = 3f… = 0011111|1
    const [vb, ve] = [enc('B'), enc('E')]
    let h = node(leaf('b', vb), leaf('e', ve))
    const prefix = [0, 0, 1, 1, 1, 1, 1]
    for (let d = 6; d >= 0; d--) h = prefix[d] === 0 ? node(h, ZERO) : node(ZERO, h)
    const t = StateTrie.empty().set('e', ve).set('b', vb)
    expect(hex(t.root)).toBe(hex(h))
    // deleting one lifts the other back to the root
    expect(hex(t.delete('b').root)).toBe(hex(leaf('e', ve)))
  })

  it('leaves and internal nodes over the same 64 bytes hash differently (domain separation)', () => {
    const a = keyHash('x')
    const b = keyHash('y')
    expect(hex(H(Uint8Array.of(0), a, b))).not.toBe(hex(H(Uint8Array.of(1), a, b)))
  })

  it('entries come out in ascending sha256(key) order', () => {
    const t = StateTrie.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k) => [k, enc(k)]))
    const keys = [...t.entries()].map(([k]) => k)
    expect(keys).toEqual(['d', 'f', 'c', 'b', 'e', 'h', 'a', 'g'])
    expect(t.size).toBe(8)
  })
})

describe('StateTrie: properties', () => {
  it('root matches the definition for any set of entries', () => {
    fc.assert(
      fc.property(mapArb, (entries) => {
        expect(hex(StateTrie.fromEntries(entries).root)).toBe(hex(specRoot(entries)))
      }),
    )
  })

  it('root is independent of insertion order', () => {
    fc.assert(
      fc.property(mapArb.chain((m) => fc.tuple(fc.constant(m), fc.shuffledSubarray(m, { minLength: m.length }))), ([m, shuffled]) => {
        let one = StateTrie.empty()
        for (const [k, v] of shuffled) one = one.set(k, v)
        expect(hex(one.root)).toBe(hex(StateTrie.fromEntries(m).root))
      }),
    )
  })

  it('root depends only on the final contents, not on delete/reinsert history', () => {
    fc.assert(
      fc.property(mapArb, fc.array(opArb, { maxLength: 40 }), (start, ops) => {
        let t = StateTrie.fromEntries(start)
        const model = new Map<string, Uint8Array>(start)
        for (const { key, value } of ops) {
          t = value === undefined ? t.delete(key) : t.set(key, value)
          if (value === undefined) model.delete(key)
          else model.set(key, value)
        }
        // also: delete everything present, then reinsert the model
        const wiped = t.applyBatch([...t.entries()].map(([k]) => [k, undefined] as const))
        expect(wiped.root).toEqual(ZERO)
        const again = wiped.applyBatch(model)
        expect(hex(t.root)).toBe(hex(StateTrie.fromEntries(model).root))
        expect(hex(again.root)).toBe(hex(t.root))
      }),
    )
  })

  it('root changes when any single value changes', () => {
    fc.assert(
      fc.property(mapArb.filter((m) => m.length > 0), fc.nat(), valueArb, (m, i, v) => {
        const [k, old] = m[i % m.length]!
        fc.pre(hex(old) !== hex(v))
        const t = StateTrie.fromEntries(m)
        expect(hex(t.set(k, v).root)).not.toBe(hex(t.root))
      }),
    )
  })

  it('set then delete of a new key returns to the previous root', () => {
    fc.assert(
      fc.property(mapArb, keyArb, valueArb, (m, k, v) => {
        const t = StateTrie.fromEntries(m.filter(([x]) => x !== k))
        const back = t.set(k, v).delete(k)
        expect(hex(back.root)).toBe(hex(t.root))
        expect(back.size).toBe(t.size)
      }),
    )
  })

  it('get, size and entries agree with a Map over random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.array(opArb, { maxLength: 6 }), { maxLength: 30 }), (batches) => {
        let t = StateTrie.empty()
        const model = new Map<string, Uint8Array>()
        for (const batch of batches) {
          // alternate between single writes and a batch (with repeated keys: last one wins)
          if (batch.length % 2 === 0) t = t.applyBatch(batch.map(({ key, value }) => [key, value] as const))
          for (const { key, value } of batch) {
            if (batch.length % 2 === 1) t = value === undefined ? t.delete(key) : t.set(key, value)
            if (value === undefined) model.delete(key)
            else model.set(key, value)
          }
          expect(t.size).toBe(model.size)
          for (const k of ['', 'a', 'b', 'ab', 'é', ...model.keys()]) expect(t.get(k)).toEqual(model.get(k))
        }
        expect(new Map(t.entries())).toEqual(model)
      }),
    )
  })

  it('old versions are unaffected by later updates (persistence)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const versions: Array<{ trie: StateTrie; root: string; snapshot: Map<string, Uint8Array> }> = []
        let t = StateTrie.empty()
        const model = new Map<string, Uint8Array>()
        for (const { key, value } of ops) {
          versions.push({ trie: t, root: hex(t.root), snapshot: new Map(model) })
          t = value === undefined ? t.delete(key) : t.set(key, value)
          if (value === undefined) model.delete(key)
          else model.set(key, value)
        }
        for (const v of versions) {
          expect(hex(v.trie.root)).toBe(v.root)
          expect(new Map(v.trie.entries())).toEqual(v.snapshot)
        }
      }),
    )
  })

  it('a large batch gives the same trie as one write at a time, and as the definition', () => {
    const base = StateTrie.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k/${i}`, enc(`${i}`)] as const))
    const batch: Array<[string, Uint8Array | undefined]> = Array.from({ length: 1500 }, (_, i) => [
      `k/${(i * 7) % 2600}`,
      i % 3 === 0 ? undefined : enc(`v${i}`),
    ])
    let folded = base
    for (const [k, v] of batch) folded = v === undefined ? folded.delete(k) : folded.set(k, v)
    const batched = base.applyBatch(batch)
    expect(hex(batched.root)).toBe(hex(folded.root))
    expect(hex(batched.root)).toBe(hex(specRoot([...folded.entries()])))
    expect(batched.size).toBe(folded.size)
  })

  it('no-op writes return the same trie', () => {
    const t = StateTrie.fromEntries([['a', enc('1')], ['b', enc('2')]])
    expect(t.set('a', enc('1'))).toBe(t)
    expect(t.delete('zzz')).toBe(t)
    expect(t.applyBatch([])).toBe(t)
    expect(t.applyBatch([['a', enc('9')], ['a', enc('1')], ['q', enc('x')], ['q', undefined]])).toBe(t)
  })

  it('copies values on the way in', () => {
    const v = enc('abc')
    const t = StateTrie.empty().set('k', v)
    const root = hex(t.root)
    v[0] = 0
    expect(t.get('k')).toEqual(enc('abc'))
    expect(hex(t.root)).toBe(root)
  })

  it('rejects bad keys and values with BAD_ARGUMENT', () => {
    const t = StateTrie.empty()
    expect(code(() => t.set('\uD800', enc('x')))).toBe('BAD_ARGUMENT')
    expect(code(() => t.get('a\uDFFFb'))).toBe('BAD_ARGUMENT')
    expect(code(() => t.set('k', 'x' as unknown as Uint8Array))).toBe('BAD_ARGUMENT')
    expect(code(() => t.set(7 as unknown as string, enc('x')))).toBe('BAD_ARGUMENT')
  })
})

describe('StateTrie: proofs', () => {
  const roundTrip = (p: TrieProof): unknown => decode(encode(p))
  const probe = ['', 'a', 'b', 'c', 'ab', 'ba', 'zz', 'é🙂']

  it('prove/verify on the empty trie and a one-entry trie', () => {
    const empty = StateTrie.empty()
    expect(verifyProof(empty.root, 'a', empty.prove('a'))).toEqual({ included: false })
    const one = empty.set('a', enc('1'))
    expect(verifyProof(one.root, 'a', one.prove('a'))).toEqual({ included: true, value: enc('1') })
    const other = one.prove('b')
    expect(other.end.kind).toBe('leaf')
    expect(verifyProof(one.root, 'b', other)).toEqual({ included: false })
  })

  it('proofs verify, after a DAG-CBOR round trip, for present and absent keys', () => {
    fc.assert(
      fc.property(mapArb, (m) => {
        const t = StateTrie.fromEntries(m)
        const model = new Map(m)
        for (const k of [...model.keys(), ...probe]) {
          const res = verifyProof(t.root, k, roundTrip(t.prove(k)))
          const v = model.get(k)
          expect(res).toEqual(v === undefined ? { included: false } : { included: true, value: v })
        }
      }),
    )
  })

  it('proofs fail against a different root, for another key, or when tampered', () => {
    fc.assert(
      fc.property(mapArb.filter((m) => m.length > 1), fc.nat(), fc.nat(), (m, i, j) => {
        const t = StateTrie.fromEntries(m)
        const [k, v] = m[i % m.length]!
        const [k2] = m[j % m.length]!
        const p = t.prove(k)
        const other = t.set(k, Uint8Array.of(...v, 1))
        expect(code(() => verifyProof(other.root, k, p))).toBe('BAD_ARGUMENT')
        expect(code(() => verifyProof(t.delete(k2).root, k, p))).toBe('BAD_ARGUMENT')
        if (k2 !== k) expect(code(() => verifyProof(t.root, k2, p))).toBeDefined()
        // tampered value
        expect(code(() => verifyProof(t.root, k, { ...p, end: { kind: 'value', value: Uint8Array.of(...v, 1) } }))).toBe('BAD_ARGUMENT')
        // an absence claim for a present key
        expect(code(() => verifyProof(t.root, k, { ...p, end: { kind: 'empty' } }))).toBeDefined()
        // tampered sibling
        for (let s = 0; s < p.siblings.length; s++) {
          const siblings = p.siblings.map((x, n) => (n === s ? Uint8Array.from(x, (b, bi) => (bi === 0 ? b ^ 1 : b)) : x))
          expect(code(() => verifyProof(t.root, k, { ...p, siblings }))).toBe('BAD_ARGUMENT')
        }
        // dropping or adding a level
        if (p.depth > 0) expect(code(() => verifyProof(t.root, k, { ...p, depth: p.depth - 1 }))).toBeDefined()
      }),
    )
  })

  it('non-inclusion proofs ending at another leaf fail when that leaf is tampered', () => {
    const t = StateTrie.fromEntries(['a', 'b', 'c', 'd'].map((k) => [k, enc(k)]))
    // find an absent key whose path ends at some other key's leaf
    const k = Array.from({ length: 200 }, (_, n) => `absent-${n}`).find((x) => t.prove(x).end.kind === 'leaf')!
    const p = t.prove(k)
    if (p.end.kind !== 'leaf') throw new Error('unreachable')
    expect(verifyProof(t.root, k, p)).toEqual({ included: false })
    const valueHash = Uint8Array.from(p.end.valueHash, (b, i) => (i === 0 ? b ^ 1 : b))
    expect(code(() => verifyProof(t.root, k, { ...p, end: { ...p.end, valueHash } }))).toBe('BAD_ARGUMENT')
    // the found leaf must be on the key's path, and not the key itself
    expect(code(() => verifyProof(t.root, k, { ...p, end: { ...p.end, keyHash: keyHash(k) } }))).toBe('MALFORMED')
    expect(p.depth).toBeGreaterThan(0)
    const offPath = Uint8Array.from(keyHash(k), (b, i) => (i === 0 ? b ^ 0x80 : b ^ 0xff))
    expect(code(() => verifyProof(t.root, k, { ...p, end: { ...p.end, keyHash: offPath } }))).toBe('MALFORMED')
  })

  it('malformed proofs are rejected with MALFORMED', () => {
    const t = StateTrie.fromEntries(['a', 'b', 'c'].map((k) => [k, enc(k)]))
    const p = t.prove('a')
    const root = t.root
    const bad: unknown[] = [
      null,
      'proof',
      {},
      { ...p, depth: -1 },
      { ...p, depth: 1.5 },
      { ...p, depth: 257 },
      { ...p, present: new Uint8Array(40) },
      { ...p, siblings: [...p.siblings, new Uint8Array(32)] },
      { ...p, siblings: p.siblings.map(() => new Uint8Array(31)) },
      { ...p, end: { kind: 'value' } },
      { ...p, end: { kind: 'leaf', keyHash: new Uint8Array(32) } },
      { ...p, end: { kind: 'nope' } },
      { depth: 1, present: Uint8Array.of(0x40), siblings: [], end: { kind: 'empty' } }, // padding bit set
    ]
    for (const b of bad) expect(code(() => verifyProof(root, 'a', b))).toBe('MALFORMED')
    expect(code(() => verifyProof(new Uint8Array(31), 'a', p))).toBe('BAD_ARGUMENT')
  })
})
