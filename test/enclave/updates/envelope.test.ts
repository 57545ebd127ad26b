// The update envelope: standard vectors for its primitives, an independent construction of the format, and tampering.
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  decryptUpdate,
  destroyKey,
  encryptUpdate,
  generateRoundKey,
  parseEnvelope,
  roundPublicKeyOf,
  UPDATE_ENVELOPE,
  UpdateError,
  type DecryptUpdateInput,
} from '../../../enclave/updates/index.ts'
import { x25519, x25519PrivateKeyObject, x25519PublicKeyObject } from '../../../enclave/updates/keys.ts'
import { decode, encode, fromHex, toHex } from '../../../primitives/index.ts'

// RFC 7748 §6.1
const ALICE_SECRET = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
const ALICE_PUBLIC = fromHex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
const BOB_SECRET = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
const BOB_PUBLIC = fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'

const CHAIN = 'fedledger-test'
const key = generateRoundKey()
const plaintext = new Uint8Array(Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff))
const ctx = { chain: CHAIN, round: 'r1', member: 'bank-a' }
const sealed = encryptUpdate({ ...ctx, roundPublicKey: key.publicKey, plaintext })

function open(over: Partial<DecryptUpdateInput> = {}): string {
  const r = decryptUpdate({ ...ctx, roundSecretKey: key.secretKey, envelope: sealed, ...over })
  return r.ok ? `OK ${toHex(r.plaintext)}` : r.reason
}

/** The envelope with one field replaced (re-encoded canonically). */
function withField(field: string, value: unknown): Uint8Array {
  return encode({ ...decode<Record<string, unknown>>(sealed), [field]: value })
}

function codeOf(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return e instanceof UpdateError ? e.code : `not an UpdateError: ${String(e)}`
  }
  return 'no throw'
}

function flipped(field: 'ephemeralPublicKey' | 'nonce' | 'ciphertext', index: number, mask = 1): Uint8Array {
  const bytes = (decode<Record<string, Uint8Array>>(sealed)[field] as Uint8Array).slice()
  bytes[index]! ^= mask
  return withField(field, bytes)
}

describe('standard vectors', () => {
  it('RFC 7748 §6.1 x25519 through the raw-key → KeyObject path', () => {
    expect(toHex(roundPublicKeyOf(ALICE_SECRET))).toBe(toHex(ALICE_PUBLIC))
    expect(toHex(roundPublicKeyOf(BOB_SECRET))).toBe(toHex(BOB_PUBLIC))
    expect(toHex(x25519(x25519PrivateKeyObject(ALICE_SECRET), x25519PublicKeyObject(BOB_PUBLIC)))).toBe(SHARED)
    expect(toHex(x25519(x25519PrivateKeyObject(BOB_SECRET), x25519PublicKeyObject(ALICE_PUBLIC)))).toBe(SHARED)
  })

  it('RFC 5869 A.1 HKDF-SHA256 through hkdfSync(digest, ikm, salt, info, length)', () => {
    const okm = hkdfSync('sha256', Buffer.alloc(22, 0x0b), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42)
    expect(Buffer.from(okm).toString('hex')).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
  })

  it('refuses small-order x25519 points (all-zero shared secret)', () => {
    for (const low of [new Uint8Array(32), fromHex('0100000000000000000000000000000000000000000000000000000000000000')]) {
      expect(() => x25519(x25519PrivateKeyObject(ALICE_SECRET), x25519PublicKeyObject(low))).toThrow()
      expect(() => encryptUpdate({ ...ctx, roundPublicKey: low, plaintext })).toThrow(/small order/)
      expect(open({ envelope: withField('ephemeralPublicKey', low) })).toBe('DECRYPT_FAILED')
    }
  })
})

describe('envelope format', () => {
  it('opens an envelope built independently from the documented format (Alice ephemeral, Bob round key)', () => {
    // HKDF by hand (RFC 5869 extract-then-expand with HMAC-SHA256), not through the module
    const salt = Buffer.concat([ALICE_PUBLIC, BOB_PUBLIC])
    const prk = createHmac('sha256', salt).update(fromHex(SHARED)).digest()
    const info = Buffer.from(`fedledger/update-encryption/v1\0${CHAIN}\0r1\0bank-a`)
    const aesKey = createHmac('sha256', prk).update(Buffer.concat([info, Buffer.from([1])])).digest()
    const nonce = fromHex('000102030405060708090a0b')
    const cipher = createCipheriv('aes-256-gcm', aesKey, nonce)
    cipher.setAAD(encode({ chain: CHAIN, round: 'r1', member: 'bank-a' }))
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
    const envelope = encode({ v: 1, suite: 'x25519-hkdf-sha256-aes256gcm', ephemeralPublicKey: ALICE_PUBLIC, nonce, ciphertext: new Uint8Array(ciphertext) })
    const r = decryptUpdate({ ...ctx, roundSecretKey: BOB_SECRET, envelope })
    expect(r.ok && toHex(r.plaintext)).toBe(toHex(plaintext))
    // and the module's own envelopes have that shape
    const mine = decode<Record<string, unknown>>(encryptUpdate({ ...ctx, roundPublicKey: BOB_PUBLIC, plaintext }))
    expect(Object.keys(mine).sort()).toEqual(['ciphertext', 'ephemeralPublicKey', 'nonce', 'suite', 'v'])
    expect(mine.v).toBe(UPDATE_ENVELOPE.version)
    expect((mine.ciphertext as Uint8Array).length).toBe(plaintext.length + 16)
  })

  it('round-trips, with a fresh ephemeral key and nonce each time', () => {
    expect(open()).toBe(`OK ${toHex(plaintext)}`)
    const again = decode<Record<string, Uint8Array>>(encryptUpdate({ ...ctx, roundPublicKey: key.publicKey, plaintext }))
    const first = decode<Record<string, Uint8Array>>(sealed)
    expect(toHex(again.ephemeralPublicKey!)).not.toBe(toHex(first.ephemeralPublicKey!))
    expect(toHex(again.ciphertext!)).not.toBe(toHex(first.ciphertext!))
    const empty = encryptUpdate({ ...ctx, roundPublicKey: key.publicKey, plaintext: new Uint8Array(0) })
    expect(open({ envelope: empty })).toBe('OK ')
  })

  it('DECRYPT_FAILED for the wrong key and for another chain, round or member bound in', () => {
    expect(open({ roundSecretKey: generateRoundKey().secretKey })).toBe('DECRYPT_FAILED')
    expect(open({ round: 'r2' })).toBe('DECRYPT_FAILED')
    expect(open({ member: 'bank-b' })).toBe('DECRYPT_FAILED')
    expect(open({ chain: 'other-chain' })).toBe('DECRYPT_FAILED')
    const destroyed = key.secretKey.slice()
    destroyKey(destroyed)
    expect(destroyed.every((b) => b === 0)).toBe(true)
    expect(open({ roundSecretKey: destroyed })).toBe('DECRYPT_FAILED')
  })

  it('DECRYPT_FAILED for any altered ciphertext, tag, nonce or ephemeral key byte', () => {
    const ctLen = plaintext.length + 16
    for (const i of [0, 50, ctLen - 17, ctLen - 16, ctLen - 1]) expect(open({ envelope: flipped('ciphertext', i) })).toBe('DECRYPT_FAILED')
    for (const i of [0, 11]) expect(open({ envelope: flipped('nonce', i) })).toBe('DECRYPT_FAILED')
    expect(open({ envelope: flipped('ephemeralPublicKey', 0) })).toBe('DECRYPT_FAILED')
    // X25519 ignores the top bit of the u-coordinate; the salt does not
    expect(open({ envelope: flipped('ephemeralPublicKey', 31, 0x80) })).toBe('DECRYPT_FAILED')
    // a shortened ciphertext (its last 16 bytes are always the tag)
    const ct = decode<Record<string, Uint8Array>>(sealed).ciphertext!
    expect(open({ envelope: withField('ciphertext', ct.subarray(0, ct.length - 4)) })).toBe('DECRYPT_FAILED')
  })

  it('MALFORMED for unreadable, non-canonical, oversized or unknown-format envelopes', () => {
    const cases: Array<[string, unknown]> = [
      ['junk', new Uint8Array([1, 2, 3])],
      ['truncated', sealed.subarray(0, sealed.length - 1)],
      ['trailing byte', new Uint8Array([...sealed, 0])],
      ['version 2', withField('v', 2)],
      ['unknown suite', withField('suite', 'x25519-hkdf-sha256-chacha20poly1305')],
      ['extra field', withField('aad', new Uint8Array(1))],
      ['short nonce', withField('nonce', new Uint8Array(11))],
      ['short key', withField('ephemeralPublicKey', new Uint8Array(31))],
      ['no tag', withField('ciphertext', new Uint8Array(15))],
      ['not a map', encode([1, 2])],
      ['not bytes', 'envelope'],
    ]
    for (const [what, envelope] of cases) expect(`${what}: ${open({ envelope: envelope as Uint8Array })}`).toBe(`${what}: MALFORMED`)
    expect(open({ maxEnvelopeBytes: sealed.length - 1 })).toBe('MALFORMED')
    // v as float64 1.0 decodes (strict DAG-CBOR allows float64) but is not the canonical encoding
    expect(toHex(sealed.subarray(0, 4))).toBe('a5617601')
    const floatV = new Uint8Array([...sealed.subarray(0, 3), ...fromHex('fb3ff0000000000000'), ...sealed.subarray(4)])
    const r = parseEnvelope(floatV)
    expect(r.ok ? 'OK' : r.message).toMatch(/not canonical/)
  })

  it("throws BAD_ARGUMENT for the caller's own bad keys and ids", () => {
    const bad: Array<() => unknown> = [
      () => encryptUpdate({ ...ctx, roundPublicKey: new Uint8Array(31), plaintext }),
      () => encryptUpdate({ ...ctx, round: '', roundPublicKey: key.publicKey, plaintext }),
      () => encryptUpdate({ ...ctx, member: 'a\0b', roundPublicKey: key.publicKey, plaintext }),
      () => decryptUpdate({ ...ctx, roundSecretKey: new Uint8Array(33), envelope: sealed }),
      () => roundPublicKeyOf(new Uint8Array(0)),
    ]
    for (const f of bad) expect(codeOf(f)).toBe('BAD_ARGUMENT')
  })
})
