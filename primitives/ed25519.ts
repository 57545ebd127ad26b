/**
 * ed25519 on node:crypto (about 15x faster than pure JS for verification on
 * this hardware). Keys travel as raw 32-byte public keys; node:crypto wants
 * KeyObjects, so verification keys are cached by their bytes.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { type DomainTag, signingBytes, toHex } from './codec.ts'

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface Ed25519KeyPair {
  /** raw 32-byte public key */
  publicKey: Uint8Array
  /** raw 32-byte seed */
  secretKey: Uint8Array
}

export function generateKeyPair(): Ed25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const spki = publicKey.export({ format: 'der', type: 'spki' })
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' })
  return { publicKey: new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length)), secretKey: new Uint8Array(pkcs8.subarray(PKCS8_ED25519_PREFIX.length)) }
}

/** Deterministic key pair from a 32-byte seed (testnets, tests). */
export function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  if (seed.length !== 32) throw new Error('ed25519 seed must be 32 bytes')
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' })
  return { publicKey: new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length)), secretKey: seed.slice() }
}

const privateCache = new WeakMap<Uint8Array, KeyObject>()
function privateKeyObject(secretKey: Uint8Array): KeyObject {
  let k = privateCache.get(secretKey)
  if (k === undefined) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, secretKey]), format: 'der', type: 'pkcs8' })
    privateCache.set(secretKey, k)
  }
  return k
}

// Bounded cache of verification keys (members' keys are used over and over).
const PUBLIC_CACHE_MAX = 4096
const publicCache = new Map<string, KeyObject>()
function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  if (publicKey.length !== 32) return undefined
  const id = toHex(publicKey)
  let k = publicCache.get(id)
  if (k === undefined) {
    try {
      k = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' })
    } catch {
      return undefined
    }
    if (publicCache.size >= PUBLIC_CACHE_MAX) publicCache.delete(publicCache.keys().next().value!)
    publicCache.set(id, k)
  }
  return k
}

/**
 * True for a public key that is not a valid curve point or is of small order:
 * with such a key, signatures can be forged for any message (e.g. key 01 00..00),
 * so registration refuses it.
 */
export function isWeakPublicKey(publicKey: Uint8Array): boolean {
  try {
    return ed25519.Point.fromBytes(publicKey).isSmallOrder()
  } catch {
    return true
  }
}

export function signBytes(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, privateKeyObject(secretKey)))
}

/** False (never a throw) for a malformed key or signature. */
export function verifyBytes(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false
  const key = publicKeyObject(publicKey)
  if (key === undefined) return false
  try {
    return nodeVerify(null, message, key, signature)
  } catch {
    return false
  }
}

export function signPayload(secretKey: Uint8Array, tag: DomainTag, payload: unknown): Uint8Array {
  return signBytes(secretKey, signingBytes(tag, payload))
}

export function verifyPayload(publicKey: Uint8Array, tag: DomainTag, payload: unknown, signature: Uint8Array): boolean {
  return verifyBytes(publicKey, signingBytes(tag, payload), signature)
}
