/**
 * x25519 round keys (RFC 7748) on node:crypto. Keys travel as raw 32-byte strings,
 * like the ledger's ed25519 keys; node:crypto wants KeyObjects, built here from
 * the raw bytes with a fixed DER prefix (PKCS#8 / SPKI, OID 1.3.101.110).
 *
 * Nothing is cached: a cached KeyObject would outlive `destroyKey` on the bytes.
 * Zeroing is best-effort in JavaScript: OpenSSL's copy inside a KeyObject is freed
 * when the object is collected, and the engine may have copied the bytes elsewhere.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { UpdateError } from './errors.ts'

export const X25519_KEY_BYTES = 32
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

export interface RoundKeyPair {
  /** raw 32-byte x25519 public key (u-coordinate, little-endian) */
  publicKey: Uint8Array
  /** raw 32-byte x25519 secret scalar (unclamped bytes, as RFC 7748 stores it) */
  secretKey: Uint8Array
}

function plain(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))
}

function checkLength(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_BYTES) {
    throw new UpdateError('BAD_ARGUMENT', `${what} must be ${X25519_KEY_BYTES} bytes`)
  }
}

/** A fresh round key pair from the operating system's CSPRNG. */
export function generateRoundKey(): RoundKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  const spki = publicKey.export({ format: 'der', type: 'spki' })
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' })
  const keys = { publicKey: plain(spki.subarray(SPKI_X25519_PREFIX.length)), secretKey: plain(pkcs8.subarray(PKCS8_X25519_PREFIX.length)) }
  pkcs8.fill(0)
  return keys
}

export function x25519PrivateKeyObject(secretKey: Uint8Array): KeyObject {
  checkLength(secretKey, 'an x25519 secret key')
  const der = Buffer.concat([PKCS8_X25519_PREFIX, secretKey])
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } finally {
    der.fill(0)
  }
}

/** Throws BAD_ARGUMENT for a key of the wrong length; any 32 bytes are a valid encoding. */
export function x25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  checkLength(publicKey, 'an x25519 public key')
  return createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, publicKey]), format: 'der', type: 'spki' })
}

/** The raw public key of a raw secret key. */
export function roundPublicKeyOf(secretKey: Uint8Array): Uint8Array {
  return publicKeyBytes(createPublicKey(x25519PrivateKeyObject(secretKey)))
}

/** The raw public key of an x25519 KeyObject (public, or private: its public half). */
export function publicKeyBytes(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key
  return plain(pub.export({ format: 'der', type: 'spki' }).subarray(SPKI_X25519_PREFIX.length))
}

/**
 * X25519(secret, public) as raw 32 bytes. Throws (OpenSSL refuses) when the result
 * is all zeros, i.e. for small-order public keys (RFC 7748 §6.1's check).
 */
export function x25519(privateKey: KeyObject, publicKey: KeyObject): Uint8Array {
  const shared = diffieHellman({ privateKey, publicKey })
  const out = plain(shared)
  shared.fill(0)
  return out
}

/** Overwrites key bytes with zeros. Best-effort: see the file comment. */
export function destroyKey(key: Uint8Array): void {
  key.fill(0)
}
