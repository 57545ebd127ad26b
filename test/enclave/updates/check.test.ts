// checkUpdate: the enclave's verdict on committed updates, one case per rejection reason.
import { describe, expect, it } from 'vitest'
import {
  checkUpdate,
  ciphertextCid,
  clipToNorm,
  encodeUpdate,
  encryptUpdate,
  generateRoundKey,
  hashUpdate,
  l2Norm,
  sealUpdate,
  UpdateError,
  type CheckUpdateInput,
  type SealedUpdate,
} from '../../../enclave/updates/index.ts'
import { type UpdateStatement } from '../../../ledger/index.ts'
import { CID, DomainTag, encode, signPayload } from '../../../primitives/index.ts'
import { keysFor } from '../../ledger/harness.ts'

const CHAIN = 'fedledger-test'
const DIM = 64
const CLIP = 1
const roundKey = generateRoundKey()
const bankA = keysFor('bank-a')
const bankB = keysFor('bank-b')

function vector(seed: number, norm: number, dim = DIM): Float32Array {
  const v = Array.from({ length: dim }, (_, i) => Math.sin(seed * 7.1 + i * 1.3))
  return clipToNorm(v.map((x) => (x * norm) / l2Norm(v)), norm)
}

function seal(update: Float32Array, over: { round?: string; member?: string; secretKey?: Uint8Array; roundPublicKey?: Uint8Array } = {}): SealedUpdate {
  return sealUpdate({ chain: CHAIN, round: over.round ?? 'r1', member: over.member ?? 'bank-a', memberSecretKey: over.secretKey ?? bankA.secretKey, roundPublicKey: over.roundPublicKey ?? roundKey.publicKey, update })
}

function input(s: SealedUpdate, over: Partial<CheckUpdateInput> = {}): CheckUpdateInput {
  return {
    chain: CHAIN,
    round: 'r1',
    member: 'bank-a',
    memberPublicKey: bankA.publicKey,
    statement: s.statement,
    statementSig: s.statementSig,
    envelope: s.envelope,
    committedCiphertext: s.ciphertext,
    roundSecretKey: roundKey.secretKey,
    clipNorm: CLIP,
    dimension: DIM,
    ...over,
  }
}

/** A statement for exactly these plaintext bytes, signed by bank-a, and the envelope sealing them. */
function signedRaw(plaintext: Uint8Array, declaredNorm: number): SealedUpdate {
  const statement: UpdateStatement = { chain: CHAIN, round: 'r1', member: 'bank-a', plaintextHash: hashUpdate(plaintext), declaredNorm }
  const envelope = encryptUpdate({ chain: CHAIN, round: 'r1', member: 'bank-a', roundPublicKey: roundKey.publicKey, plaintext })
  return { envelope, ciphertext: ciphertextCid(envelope), statement, statementSig: signPayload(bankA.secretKey, DomainTag.UPDATE_STATEMENT, statement) }
}

function reason(i: CheckUpdateInput): string {
  const r = checkUpdate(i)
  return r.ok ? 'OK' : r.reason
}

describe('checkUpdate', () => {
  it('accepts a well-formed update and returns exactly the values sealed', () => {
    const update = vector(1, 0.8)
    const r = checkUpdate(input(seal(update)))
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(Array.from(r.update)).toEqual(Array.from(update))
    expect(r.norm).toBe(l2Norm(update))
  })

  it('accepts an update clipped exactly to the bound', () => {
    const update = vector(2, CLIP)
    expect(l2Norm(update)).toBeLessThanOrEqual(CLIP)
    expect(l2Norm(update)).toBeGreaterThan(CLIP * (1 - 1e-6))
    expect(reason(input(seal(update)))).toBe('OK')
  })

  it('NOT_COMMITTED: the envelope is not the committed ciphertext', () => {
    const s = seal(vector(3, 0.5))
    const other = seal(vector(3, 0.5)) // same update, fresh ephemeral key: another CID
    expect(reason(input(s, { committedCiphertext: other.ciphertext }))).toBe('NOT_COMMITTED')
    // the same digest under the raw codec is another CID: the committed CID is the dag-cbor one
    const rawCid = CID.createV1(0x55, s.ciphertext.multihash)
    expect(reason(input(s, { committedCiphertext: rawCid }))).toBe('NOT_COMMITTED')
  })

  it('WRONG_ROUND / WRONG_MEMBER: a statement for another round, chain or member', () => {
    const forR2 = seal(vector(4, 0.5), { round: 'r2' })
    expect(reason(input(forR2))).toBe('WRONG_ROUND')
    const s = seal(vector(4, 0.5))
    const otherChain = { ...s.statement, chain: 'other-chain' }
    expect(reason(input(s, { statement: otherChain, statementSig: signPayload(bankA.secretKey, DomainTag.UPDATE_STATEMENT, otherChain) }))).toBe('WRONG_ROUND')
    // bank-a's sealed update presented as bank-b's
    expect(reason(input(s, { member: 'bank-b', memberPublicKey: bankB.publicKey }))).toBe('WRONG_MEMBER')
  })

  it('BAD_STATEMENT_SIGNATURE: forged, altered, or signed under another domain tag', () => {
    const s = seal(vector(5, 0.5))
    expect(reason(input(s, { statementSig: signPayload(bankB.secretKey, DomainTag.UPDATE_STATEMENT, s.statement) }))).toBe('BAD_STATEMENT_SIGNATURE')
    expect(reason(input(s, { statementSig: signPayload(bankA.secretKey, DomainTag.TX, s.statement) }))).toBe('BAD_STATEMENT_SIGNATURE')
    expect(reason(input(s, { statement: { ...s.statement, declaredNorm: 0.25 } }))).toBe('BAD_STATEMENT_SIGNATURE')
    expect(reason(input(s, { statementSig: new Uint8Array(64) }))).toBe('BAD_STATEMENT_SIGNATURE')
  })

  it('DECRYPT_FAILED: wrong round key, and an envelope from another round replayed with a statement for this one', () => {
    const otherKey = generateRoundKey()
    expect(reason(input(seal(vector(6, 0.5), { roundPublicKey: otherKey.publicKey })))).toBe('DECRYPT_FAILED')
    // bank-a's r0 envelope (same round key, so only the bound-in round differs), re-committed in r1 with a fresh valid statement
    const update = vector(6, 0.5)
    const plaintext = encodeUpdate(update)
    const old = encryptUpdate({ chain: CHAIN, round: 'r0', member: 'bank-a', roundPublicKey: roundKey.publicKey, plaintext })
    const fresh = signedRaw(plaintext, l2Norm(update))
    expect(reason(input({ ...fresh, envelope: old, ciphertext: ciphertextCid(old) }))).toBe('DECRYPT_FAILED')
    // bank-b copies bank-a's envelope and signs a statement of its own with bank-a's plaintext hash
    const a = seal(update)
    const copied = { ...a.statement, member: 'bank-b' }
    const r = checkUpdate(input(a, { member: 'bank-b', memberPublicKey: bankB.publicKey, statement: copied, statementSig: signPayload(bankB.secretKey, DomainTag.UPDATE_STATEMENT, copied) }))
    expect(r.ok ? 'OK' : r.reason).toBe('DECRYPT_FAILED')
  })

  it('HASH_MISMATCH: the statement hashes other bytes than the envelope holds', () => {
    const s = seal(vector(7, 0.5))
    const statement = { ...s.statement, plaintextHash: hashUpdate(encodeUpdate(vector(8, 0.5))) }
    expect(reason(input(s, { statement, statementSig: signPayload(bankA.secretKey, DomainTag.UPDATE_STATEMENT, statement) }))).toBe('HASH_MISMATCH')
  })

  it('WRONG_LENGTH: too few or too many values, or an envelope too large for the model', () => {
    expect(reason(input(seal(vector(9, 0.5, DIM - 1))))).toBe('WRONG_LENGTH')
    expect(reason(input(seal(vector(9, 0.5, DIM + 1))))).toBe('WRONG_LENGTH')
    expect(reason(input(signedRaw(new Uint8Array(DIM * 4 + 2), 0)))).toBe('WRONG_LENGTH')
    expect(reason(input(seal(vector(9, 0.1, DIM * 10))))).toBe('WRONG_LENGTH') // refused by size before decryption
  })

  it('NOT_FINITE: NaN or ±Infinity in the plaintext', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const plaintext = new Uint8Array(DIM * 4)
      new DataView(plaintext.buffer).setFloat32(17 * 4, bad, true)
      const r = checkUpdate(input(signedRaw(plaintext, 0)))
      expect(r.ok ? 'OK' : `${r.reason} ${r.message}`).toMatch(/^NOT_FINITE value 17 /)
    }
  })

  it('NORM_ABOVE_BOUND: actual norm above the bound (even by one float32 ulp), or a declared norm above it', () => {
    const big = vector(10, 1.5)
    expect(reason(input(seal(big)))).toBe('NORM_ABOVE_BOUND') // declared 1.5 > 1
    const honestDeclared = signedRaw(encodeUpdate(big), 0.9) // declared within, actual 1.5
    expect(reason(input(honestDeclared))).toBe('NORM_ABOVE_BOUND')
    // just over: bump the largest coordinate of an exactly-clipped vector by one ulp
    const edge = vector(11, CLIP)
    let k = 0
    for (let i = 1; i < DIM; i++) if (Math.abs(edge[i]!) > Math.abs(edge[k]!)) k = i
    const over = edge.slice()
    while (l2Norm(over) <= CLIP) over[k] = Math.fround(over[k]! * (1 + 2 ** -23))
    expect(reason(input(signedRaw(encodeUpdate(over), CLIP)))).toBe('NORM_ABOVE_BOUND')
  })

  it('NORM_MISMATCH: the declared norm is not the actual one; a relative 1e-7 difference is tolerated', () => {
    const update = vector(12, 0.5)
    const n = l2Norm(update)
    expect(reason(input(signedRaw(encodeUpdate(update), n * 0.9)))).toBe('NORM_MISMATCH')
    expect(reason(input(signedRaw(encodeUpdate(update), 0)))).toBe('NORM_MISMATCH')
    expect(reason(input(signedRaw(encodeUpdate(update), n * (1 + 1e-7))))).toBe('OK')
    expect(reason(input(signedRaw(encodeUpdate(update), n * (1 + 1e-5))))).toBe('NORM_MISMATCH')
  })

  it('MALFORMED: unreadable envelope bytes, unknown suite, or a statement of the wrong shape', () => {
    const s = seal(vector(13, 0.5))
    const junk = new Uint8Array([0xa1, 0x61, 0x76])
    expect(reason(input(s, { envelope: junk, committedCiphertext: ciphertextCid(junk) }))).toBe('MALFORMED')
    const otherSuite = encode({ v: 1, suite: 'x25519-hkdf-sha256-chacha20poly1305', ephemeralPublicKey: new Uint8Array(32).fill(9), nonce: new Uint8Array(12), ciphertext: new Uint8Array(40) })
    expect(reason(input(s, { envelope: otherSuite, committedCiphertext: ciphertextCid(otherSuite) }))).toBe('MALFORMED')
    const extra = { ...s.statement, note: 'x' }
    expect(reason(input(s, { statement: extra, statementSig: signPayload(bankA.secretKey, DomainTag.UPDATE_STATEMENT, extra) }))).toBe('MALFORMED')
    expect(reason(input(s, { statement: { ...s.statement, plaintextHash: new Uint8Array(31) } }))).toBe('MALFORMED')
    expect(reason(input(s, { statement: null }))).toBe('MALFORMED')
    expect(reason(input(s, { envelope: 'not bytes' as unknown as Uint8Array }))).toBe('MALFORMED')
  })

  it('checks in the documented order: a wrong CID wins over everything else, the signature over decryption', () => {
    const s = seal(vector(14, 1.5), { roundPublicKey: generateRoundKey().publicKey })
    expect(reason(input(s, { committedCiphertext: seal(vector(14, 0.5)).ciphertext, statementSig: new Uint8Array(64) }))).toBe('NOT_COMMITTED')
    expect(reason(input(s, { statementSig: new Uint8Array(64) }))).toBe('BAD_STATEMENT_SIGNATURE')
    expect(reason(input(s))).toBe('NORM_ABOVE_BOUND')
  })

  it("throws BAD_ARGUMENT for the caller's own malformed inputs", () => {
    const s = seal(vector(15, 0.5))
    const bad: Array<Partial<CheckUpdateInput>> = [{ clipNorm: 0 }, { clipNorm: Number.NaN }, { dimension: 0 }, { dimension: 1.5 }, { roundSecretKey: new Uint8Array(31) }, { committedCiphertext: 'bafy' as unknown as CID }, { round: 'has space' }]
    for (const over of bad) {
      let code = 'no throw'
      try {
        checkUpdate(input(s, over))
      } catch (e) {
        code = e instanceof UpdateError ? e.code : String(e)
      }
      expect(`${JSON.stringify(over)}: ${code}`).toBe(`${JSON.stringify(over)}: BAD_ARGUMENT`)
    }
  })
})
