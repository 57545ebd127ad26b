// The quorum-signature port's contract, run against the node's scheme (ed25519
// multi-signatures), plus its key checks.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bitmapOf, type QuorumScheme, type QuorumSigner } from '../../consensus/crypto.ts'
import { ed25519Scheme, ed25519Signer } from '../../consensus/crypto/index.ts'
import type { AggregateSignature } from '../../consensus/types.ts'
import { keyPairFromSeed } from '../../primitives/index.ts'

const N = 10 // two bitmap bytes, six spare bits
const F = Math.floor((N - 1) / 3)
const QUORUM = 2 * F + 1

const seed = (tag: number, i: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, j) => (j === 0 ? tag : j === 1 ? i : j))

interface Fixture {
  name: string
  scheme: QuorumScheme
  signers: QuorumSigner[]
  /** a signer whose key is not in the set */
  outsider: QuorumSigner
}

function ed25519Fixture(): Fixture {
  const keys = Array.from({ length: N + 1 }, (_, i) => keyPairFromSeed(seed(1, i)))
  const signers = keys.map((k, i) => ed25519Signer(i, k.secretKey))
  return { name: 'ed25519-multisig', scheme: ed25519Scheme(keys.slice(0, N).map((k) => k.publicKey)), signers: signers.slice(0, N), outsider: signers[N]! }
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const MESSAGE = enc('vote epoch 1 view 7 block abc')
const OTHER = enc('vote epoch 1 view 8 block abc')

/** subsets of validators (non-empty), as sorted index arrays */
const subset = fc.uniqueArray(fc.integer({ min: 0, max: N - 1 }), { minLength: 1, maxLength: N }).map((xs) => xs.sort((a, b) => a - b))

describe.each([ed25519Fixture()])('quorum scheme contract: $name', (fx) => {
  const { scheme } = fx
  // every validator's vote on the two messages, signed once
  const votes = new Map<Uint8Array, Uint8Array[]>([MESSAGE, OTHER].map((m) => [m, fx.signers.map((s) => s.sign(m))]))
  const vote = (i: number, m = MESSAGE): Uint8Array => votes.get(m)![i]!
  const parts = (ids: number[], m = MESSAGE) => ids.map((signer) => ({ signer, signature: vote(signer, m) }))
  const quorum = Array.from({ length: QUORUM }, (_, i) => i)
  const qc = scheme.aggregate(parts(quorum))
  const noThrowFalse = (m: Uint8Array, agg: AggregateSignature): void => {
    let r: boolean | undefined
    expect(() => (r = scheme.verifyAggregate(m, agg))).not.toThrow()
    expect(r).toBe(false)
  }

  it('names itself and its size', () => {
    expect(scheme.name).toBe(fx.name)
    expect(scheme.size).toBe(N)
    for (const s of fx.signers) expect(s.scheme).toBe(fx.name)
  })

  it('a single vote verifies for its signer and message only', () => {
    for (let i = 0; i < N; i++) {
      expect(scheme.verify(i, MESSAGE, vote(i))).toBe(true)
      expect(scheme.verify((i + 1) % N, MESSAGE, vote(i))).toBe(false)
      expect(scheme.verify(i, OTHER, vote(i))).toBe(false)
    }
    for (const bad of [-1, N, 1.5, Number.NaN]) expect(scheme.verify(bad, MESSAGE, vote(0))).toBe(false)
    expect(scheme.verify(0, MESSAGE, fx.outsider.sign(MESSAGE))).toBe(false)
  })

  it('a malformed single signature is false, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 130 }), fc.integer({ min: 0, max: N - 1 }), (bytes, i) => {
        expect(scheme.verify(i, MESSAGE, bytes)).toBe(false)
      }),
      { numRuns: 40 },
    )
    const flipped = vote(3).slice()
    flipped[5]! ^= 1
    expect(scheme.verify(3, MESSAGE, flipped)).toBe(false)
  })

  it('a quorum aggregate verifies, on its message only', () => {
    expect(qc.signers).toEqual(bitmapOf(quorum, N))
    expect(scheme.verifyAggregate(MESSAGE, qc)).toBe(true)
    expect(scheme.verifyAggregate(OTHER, qc)).toBe(false)
    expect(scheme.verifyAggregate(new Uint8Array(0), qc)).toBe(false)
  })

  it('any non-empty set of valid votes aggregates into a valid aggregate', () => {
    fc.assert(
      fc.property(subset, (ids) => {
        expect(scheme.verifyAggregate(MESSAGE, scheme.aggregate(parts(ids)))).toBe(true)
      }),
      { numRuns: 12 },
    )
  })

  it('flipping any signer bit breaks the aggregate', () => {
    for (let bit = 0; bit < N; bit++) {
      const signers = qc.signers.slice()
      signers[bit >> 3]! ^= 1 << (bit & 7)
      noThrowFalse(MESSAGE, { signers, signature: qc.signature })
    }
  })

  it('a missing or an extra signature breaks the aggregate', () => {
    const fewer = scheme.aggregate(parts(quorum.slice(1)))
    const more = scheme.aggregate(parts([...quorum, N - 1]))
    noThrowFalse(MESSAGE, { signers: qc.signers, signature: fewer.signature }) // bitmap claims one more
    noThrowFalse(MESSAGE, { signers: qc.signers, signature: more.signature }) // one signature unaccounted
    noThrowFalse(MESSAGE, { signers: fewer.signers, signature: qc.signature })
    noThrowFalse(MESSAGE, { signers: more.signers, signature: qc.signature })
  })

  it("a signature by someone other than the claimed signer breaks the aggregate", () => {
    const [a, b] = [quorum[0]!, N - 1]
    // b's bit set, but a's vote in its place
    noThrowFalse(MESSAGE, scheme.aggregate([...parts(quorum), { signer: b, signature: vote(a) }]))
    // an outsider's vote in place of b's
    noThrowFalse(MESSAGE, scheme.aggregate([...parts(quorum), { signer: b, signature: fx.outsider.sign(MESSAGE) }]))
    // one vote on another message
    noThrowFalse(MESSAGE, scheme.aggregate([...parts(quorum), { signer: b, signature: vote(b, OTHER) }]))
  })

  it('a malformed bitmap is false: wrong length, bits past n, empty', () => {
    const sig = qc.signature
    noThrowFalse(MESSAGE, { signers: qc.signers.subarray(0, 1), signature: sig })
    noThrowFalse(MESSAGE, { signers: Uint8Array.of(...qc.signers, 0), signature: sig })
    noThrowFalse(MESSAGE, { signers: new Uint8Array(0), signature: sig })
    for (let bit = N; bit < 16; bit++) {
      const signers = qc.signers.slice()
      signers[bit >> 3]! |= 1 << (bit & 7)
      noThrowFalse(MESSAGE, { signers, signature: sig })
    }
    // no signer at all proves nothing
    noThrowFalse(MESSAGE, { signers: new Uint8Array(2), signature: new Uint8Array(0) })
    noThrowFalse(MESSAGE, { signers: new Uint8Array(2), signature: sig })
  })

  it('garbage is false, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3 }), fc.uint8Array({ maxLength: 200 }), (signers, signature) => {
        noThrowFalse(MESSAGE, { signers, signature })
      }),
      { numRuns: 60 },
    )
    fc.assert(
      fc.property(fc.uint8Array({ minLength: qc.signature.length, maxLength: qc.signature.length }), (signature) => {
        noThrowFalse(MESSAGE, { signers: qc.signers, signature })
      }),
      { numRuns: 30 },
    )
    const junk = [null, undefined, 42, 'ab', {}, [1, 2]] as unknown as Uint8Array[]
    for (const j of junk) {
      noThrowFalse(MESSAGE, { signers: j, signature: qc.signature })
      noThrowFalse(MESSAGE, { signers: qc.signers, signature: j })
      noThrowFalse(j, qc)
      expect(scheme.verify(0, MESSAGE, j)).toBe(false)
      expect(scheme.verify(0, j, vote(0))).toBe(false)
    }
    noThrowFalse(MESSAGE, null as unknown as AggregateSignature)
  })

  it('aggregation ignores order and duplicates', () => {
    fc.assert(
      // any order, any repeats
      fc.property(fc.array(fc.integer({ min: 0, max: N - 1 }), { minLength: 1, maxLength: 2 * N }), (ids) => {
        const agg = scheme.aggregate(parts(ids))
        const ref = scheme.aggregate(parts([...new Set(ids)].sort((a, b) => a - b)))
        expect(agg.signers).toEqual(ref.signers)
        expect(agg.signature).toEqual(ref.signature)
      }),
      { numRuns: 10 },
    )
  })

  it('aggregating a signer outside the set is a programming error', () => {
    expect(() => scheme.aggregate([{ signer: N, signature: vote(0) }])).toThrow(RangeError)
    expect(() => scheme.aggregate([{ signer: -1, signature: vote(0) }])).toThrow(RangeError)
  })
})

describe('ed25519 keys', () => {
  const good = keyPairFromSeed(seed(3, 0))
  it('the scheme refuses a key of the wrong length or of small order', () => {
    expect(() => ed25519Scheme([good.publicKey, good.publicKey.subarray(1)])).toThrow(/validator 1/)
    const identity = new Uint8Array(32)
    identity[0] = 1 // the neutral point: anyone could "sign" for it
    expect(() => ed25519Scheme([identity])).toThrow(/validator 0/)
    expect(() => ed25519Scheme([new Uint8Array(32)])).toThrow() // small order (y = 0)
  })
  it('the signer refuses a bad secret or index', () => {
    expect(() => ed25519Signer(0, new Uint8Array(31))).toThrow(RangeError)
    expect(() => ed25519Signer(-1, good.secretKey)).toThrow(RangeError)
  })
  it('signatures are node:crypto ed25519 over the raw message', () => {
    const scheme = ed25519Scheme([good.publicKey])
    const sig = ed25519Signer(0, good.secretKey).sign(MESSAGE)
    expect(sig.length).toBe(64)
    expect(scheme.verify(0, MESSAGE, sig)).toBe(true)
  })
})
