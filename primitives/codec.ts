/**
 * The one canonical encoding: DAG-CBOR for every transaction, block, vote, certificate
 * and receipt; an object's id is its CID (v1, dag-cbor, sha2-256).
 * Signing bytes are `domain tag || 0x00 || DAG-CBOR(payload)`, with one tag per
 * message kind, so a signature over one kind can never be replayed as another.
 */
import { hash } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 as sha256Hasher } from 'multiformats/hashes/sha2'
import { CodecError } from './errors.ts'

export { CID }

/** Domain tags, one per signed message kind. Never change an existing one. */
export const DomainTag = {
  TX: 'fedledger/tx/v1',
  UPDATE_STATEMENT: 'fedledger/update-statement/v1',
  REVOCATION: 'fedledger/revocation/v1',
  SIM_PLATFORM_CERT: 'fedledger/sim-v1/platform-cert',
  SIM_REPORT: 'fedledger/sim-v1/report',
  SIM_REVOCATION_LIST: 'fedledger/sim-v1/revocation-list',
  CONSENSUS_PROPOSAL: 'fedledger/consensus/proposal/v1',
  CONSENSUS_VOTE: 'fedledger/consensus/vote/v1',
  CONSENSUS_TIMEOUT: 'fedledger/consensus/timeout/v1',
  CONSENSUS_COMMIT: 'fedledger/consensus/commit/v1',
} as const
export type DomainTag = (typeof DomainTag)[keyof typeof DomainTag]

/** Upper bound for any single decoded object (transactions are smaller; see the ledger's tx limits). */
export const MAX_OBJECT_BYTES = 4 * 1024 * 1024

/** One-shot SHA-256 (crypto.hash avoids a Hash object per call: about 2x faster for small inputs). */
export function sha256(bytes: Uint8Array): Uint8Array {
  const digest = hash('sha256', bytes, 'buffer')
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength) // a plain view, like every other byte value here
}

export function encode(value: unknown): Uint8Array {
  try {
    return dagCbor.encode(value)
  } catch (e) {
    throw new CodecError('MALFORMED', `cannot encode as DAG-CBOR: ${(e as Error).message}`, { cause: e })
  }
}

/** Decodes untrusted bytes: size-limited, strict DAG-CBOR, typed errors only. */
export function decode<T = unknown>(bytes: Uint8Array, maxBytes = MAX_OBJECT_BYTES): T {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('MALFORMED', 'expected bytes')
  if (bytes.length > maxBytes) throw new CodecError('OVERSIZED', `object is ${bytes.length} bytes, limit ${maxBytes}`)
  try {
    return dagCbor.decode<T>(bytes)
  } catch (e) {
    throw new CodecError('MALFORMED', `malformed DAG-CBOR: ${(e as Error).message}`, { cause: e })
  }
}

/** CIDv1 (dag-cbor, sha2-256) of already-encoded bytes. */
export function cidOfBytes(bytes: Uint8Array): CID {
  return CID.createV1(dagCbor.code, Digest.create(sha256Hasher.code, sha256(bytes)))
}

export function signingBytes(tag: DomainTag, payload: unknown): Uint8Array {
  return taggedBytes(tag, encode(payload))
}

/** `domain tag || 0x00 || body`, for a payload already encoded as DAG-CBOR (`body`). */
export function taggedBytes(tag: DomainTag, body: Uint8Array): Uint8Array {
  const tagBytes = new TextEncoder().encode(tag)
  const out = new Uint8Array(tagBytes.length + 1 + body.length)
  out.set(tagBytes, 0)
  out[tagBytes.length] = 0
  out.set(body, tagBytes.length + 1)
  return out
}

export function parseCid(text: string): CID {
  try {
    return CID.parse(text)
  } catch (e) {
    throw new CodecError('BAD_ARGUMENT', `not a CID: '${text}'`, { cause: e })
  }
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

export function fromHex(s: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(s)) throw new CodecError('BAD_ARGUMENT', 'not hex')
  return Uint8Array.from(Buffer.from(s, 'hex'))
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}
