// BLS12-381 specifics: proofs of possession (and the rogue-key attack they
// stop), agreement with @noble/curves' own verifier, key derivation and key checks.
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { describe, expect, it } from 'vitest'
import {
  BLS_POP_DST,
  BLS_SIGNATURE_DST,
  blsKeyPairFromSeed,
  blsProofOfPossession,
  blsPublicKey,
  blsScheme,
  blsSigner,
  verifyProofOfPossession,
} from '../../consensus/crypto/index.ts'

const seed = (i: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, j) => (j === 0 ? 0xb1 : j === 1 ? i : j))
const keys = Array.from({ length: 4 }, (_, i) => blsKeyPairFromSeed(seed(i)))
const MESSAGE = new TextEncoder().encode('vote epoch 3 view 11')
const G2 = bls12_381.G2.Point
const R = bls12_381.fields.Fr.ORDER

const scalarBytes = (k: bigint): Uint8Array => Uint8Array.from(Buffer.from(k.toString(16).padStart(64, '0'), 'hex'))
const scalarOf = (b: Uint8Array): bigint => BigInt('0x' + Buffer.from(b).toString('hex'))

describe('key derivation', () => {
  it('is deterministic, distinct per seed, and gives a scalar in [1, r) with its G2 public key', () => {
    const again = blsKeyPairFromSeed(seed(0))
    expect(again).toEqual(keys[0])
    expect(new Set(keys.map((k) => Buffer.from(k.publicKey).toString('hex'))).size).toBe(keys.length)
    for (const k of keys) {
      expect(k.secretKey.length).toBe(32)
      expect(k.publicKey.length).toBe(96)
      const s = scalarOf(k.secretKey)
      expect(s > 0n && s < R).toBe(true)
      expect(G2.BASE.multiply(s).equals(G2.fromBytes(k.publicKey))).toBe(true)
      expect(blsPublicKey(k.secretKey)).toEqual(k.publicKey)
    }
  })
  it('refuses a seed that is not 32 bytes', () => {
    expect(() => blsKeyPairFromSeed(new Uint8Array(31))).toThrow(RangeError)
  })
  it('the signer refuses a secret that is not a scalar in [1, r)', () => {
    expect(() => blsSigner(0, new Uint8Array(32))).toThrow(RangeError)
    expect(() => blsSigner(0, scalarBytes(R))).toThrow(RangeError)
    expect(() => blsSigner(0, new Uint8Array(33))).toThrow(RangeError)
    expect(() => blsSigner(0, scalarBytes(R - 1n))).not.toThrow()
  })
})

describe('agreement with @noble/curves (min-sig, POP ciphersuite DST)', () => {
  const sigs = bls12_381.shortSignatures
  it('our signatures verify with noble, and a signature noble accepts we accept', () => {
    const scheme = blsScheme(keys.map((k) => k.publicKey))
    for (let i = 0; i < keys.length; i++) {
      const sig = blsSigner(i, keys[i]!.secretKey).sign(MESSAGE)
      expect(sig.length).toBe(48)
      expect(sigs.verify(sig, sigs.hash(MESSAGE, BLS_SIGNATURE_DST), keys[i]!.publicKey)).toBe(true)
      // under the default (NUL) DST it is not a signature at all
      expect(sigs.verify(sig, sigs.hash(MESSAGE), keys[i]!.publicKey)).toBe(false)
      const nobleSig = sigs.Signature.toBytes(sigs.sign(sigs.hash(MESSAGE, BLS_SIGNATURE_DST), keys[i]!.secretKey))
      expect(scheme.verify(i, MESSAGE, nobleSig)).toBe(true)
    }
  })
  it('our aggregate is noble’s aggregate, and verifies against noble’s aggregated key', () => {
    const scheme = blsScheme(keys.map((k) => k.publicKey))
    const parts = keys.slice(0, 3).map((k, signer) => ({ signer, signature: blsSigner(signer, k.secretKey).sign(MESSAGE) }))
    const agg = scheme.aggregate(parts)
    expect(agg.signature).toEqual(sigs.Signature.toBytes(sigs.aggregateSignatures(parts.map((p) => p.signature))))
    const aggKey = sigs.aggregatePublicKeys(keys.slice(0, 3).map((k) => k.publicKey))
    expect(sigs.verify(agg.signature, sigs.hash(MESSAGE, BLS_SIGNATURE_DST), aggKey)).toBe(true)
  })
})

describe('proof of possession', () => {
  it('a key’s own proof verifies', () => {
    for (const k of keys) {
      const pop = blsProofOfPossession(k.secretKey)
      expect(pop.length).toBe(48)
      expect(verifyProofOfPossession(k.publicKey, pop)).toBe(true)
    }
  })
  it('the proof of another key fails', () => {
    expect(verifyProofOfPossession(keys[0]!.publicKey, blsProofOfPossession(keys[1]!.secretKey))).toBe(false)
  })
  it('a proof is not a signature, and a signature on the key is not a proof (distinct DSTs)', () => {
    const k = keys[0]!
    expect(BLS_POP_DST).not.toBe(BLS_SIGNATURE_DST)
    const signedKey = blsSigner(0, k.secretKey).sign(k.publicKey)
    expect(verifyProofOfPossession(k.publicKey, signedKey)).toBe(false)
    expect(blsScheme([k.publicKey]).verify(0, k.publicKey, blsProofOfPossession(k.secretKey))).toBe(false)
  })
  it('garbage keys and proofs are false, never a throw', () => {
    const pop = blsProofOfPossession(keys[0]!.secretKey)
    const identity = new Uint8Array(96)
    identity[0] = 0xc0 // compressed infinity
    for (const [pk, proof] of [
      [keys[0]!.publicKey, new Uint8Array(48)],
      [keys[0]!.publicKey, pop.subarray(1)],
      [identity, pop],
      [new Uint8Array(96).fill(0xaa), pop],
      [keys[0]!.publicKey.subarray(0, 48), pop],
      [null, pop],
    ] as [Uint8Array, Uint8Array][]) {
      expect(verifyProofOfPossession(pk, proof)).toBe(false)
    }
  })

  it('without proofs of possession a rogue key forges a quorum alone; the rogue key has no valid proof', () => {
    // Validators 0..2 are honest. The attacker knows only its own secret a, and
    // registers pk_r = a·g2 − (pk0 + pk1 + pk2) as validator 3.
    const a = blsKeyPairFromSeed(seed(99))
    const honest = keys.slice(0, 3).map((k) => G2.fromBytes(k.publicKey))
    const rogue = honest.reduce((acc, p) => acc.subtract(p), G2.fromBytes(a.publicKey)).toBytes(true)
    const scheme = blsScheme([...keys.slice(0, 3).map((k) => k.publicKey), rogue])
    // The attacker's own signature, claimed to be from all four: the keys add up to a·g2.
    const forged = { signers: Uint8Array.of(0b1111), signature: blsSigner(0, a.secretKey).sign(MESSAGE) }
    expect(scheme.verifyAggregate(MESSAGE, forged)).toBe(true)
    // Which is why admission requires a proof: the attacker cannot make one for
    // pk_r (it does not know its secret); its own key's proof does not fit.
    expect(verifyProofOfPossession(rogue, blsProofOfPossession(a.secretKey))).toBe(false)
    expect(verifyProofOfPossession(rogue, forged.signature)).toBe(false)
  })
})

describe('scheme construction and caches', () => {
  it('refuses an invalid public key', () => {
    const identity = new Uint8Array(96)
    identity[0] = 0xc0
    const good = keys[0]!.publicKey
    expect(() => blsScheme([good, identity])).toThrow(/validator 1/)
    expect(() => blsScheme([good, good.subarray(0, 48)])).toThrow(/validator 1/)
    expect(() => blsScheme([new Uint8Array(96).fill(0x8a)])).toThrow(/validator 0/)
    const uncompressed = G2.fromBytes(good).toBytes(false)
    expect(() => blsScheme([uncompressed])).toThrow(/validator 0/)
  })
  it('a signature buffer changed after verify() is aggregated by its new bytes', () => {
    const scheme = blsScheme(keys.map((k) => k.publicKey))
    const signer = blsSigner(0, keys[0]!.secretKey)
    const buf = signer.sign(MESSAGE)
    expect(scheme.verify(0, MESSAGE, buf)).toBe(true)
    buf.set(signer.sign(new TextEncoder().encode('something else')))
    const agg = scheme.aggregate([{ signer: 0, signature: buf }])
    expect(scheme.verifyAggregate(MESSAGE, agg)).toBe(false)
  })
})
