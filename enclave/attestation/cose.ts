/**
 * A small, strict CBOR reader (RFC 8949) and the COSE_Sign1 envelope (RFC 9052 §4.2)
 * it exists for. Hardware attestation documents are generic CBOR: maps with integer
 * keys, an optional tag 18 around COSE_Sign1, which DAG-CBOR refuses, so they are
 * read here rather than with the ledger's codec.
 *
 * Only what attestation documents use is accepted: unsigned/negative integers up to
 * 2^53, byte and text strings, arrays, maps (integer or text keys, no duplicates),
 * tags, and the simple values false/true/null/undefined. Indefinite lengths, floats,
 * nesting deeper than 16 and trailing bytes are refused; every declared length is
 * checked against the bytes left before anything is allocated. Failures throw
 * `CborError`; callers turn it into their own typed error.
 */
import { CodedError } from '../../primitives/index.ts'

export class CborError extends CodedError<'MALFORMED_CBOR'> {
  constructor(message: string) {
    super('MALFORMED_CBOR', message)
  }
}

export class CborTag {
  readonly tag: number
  readonly value: CborValue
  constructor(tag: number, value: CborValue) {
    this.tag = tag
    this.value = value
  }
}

export type CborKey = number | string
export type CborValue = number | string | boolean | null | undefined | Uint8Array | CborValue[] | Map<CborKey, CborValue> | CborTag

const MAX_DEPTH = 16

/** Decodes exactly one CBOR item that spans all of `bytes`. */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const r = { bytes, pos: 0 }
  const value = readItem(r, 0)
  if (r.pos !== bytes.length) throw new CborError(`${bytes.length - r.pos} trailing bytes after the CBOR item`)
  return value
}

interface Reader {
  bytes: Uint8Array
  pos: number
}

function readArgument(r: Reader, info: number): number {
  if (info < 24) return info
  const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
  if (width === 0) throw new CborError(info === 31 ? 'indefinite lengths are not supported' : `reserved additional information ${info}`)
  if (r.pos + width > r.bytes.length) throw new CborError('truncated CBOR')
  let v = 0
  for (let i = 0; i < width; i++) v = v * 256 + r.bytes[r.pos + i]!
  r.pos += width
  if (!Number.isSafeInteger(v)) throw new CborError('integer beyond 2^53')
  return v
}

function take(r: Reader, n: number): Uint8Array {
  if (n > r.bytes.length - r.pos) throw new CborError('truncated CBOR')
  const out = r.bytes.subarray(r.pos, r.pos + n)
  r.pos += n
  return out
}

function readItem(r: Reader, depth: number): CborValue {
  if (depth > MAX_DEPTH) throw new CborError('CBOR nested too deeply')
  if (r.pos >= r.bytes.length) throw new CborError('truncated CBOR')
  const initial = r.bytes[r.pos++]!
  const major = initial >> 5
  const info = initial & 0x1f
  if (major === 7) {
    if (info === 20) return false
    if (info === 21) return true
    if (info === 22) return null
    if (info === 23) return undefined
    throw new CborError(`unsupported simple value or float (0x${initial.toString(16)})`)
  }
  const arg = readArgument(r, info)
  switch (major) {
    case 0:
      return arg
    case 1:
      return -1 - arg
    case 2:
      return take(r, arg)
    case 3:
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(take(r, arg))
      } catch (e) {
        if (e instanceof CborError) throw e
        throw new CborError('text string is not valid UTF-8')
      }
    case 4: {
      // every item takes at least one byte: bounds the allocation by the input size
      if (arg > r.bytes.length - r.pos) throw new CborError('truncated CBOR')
      const out: CborValue[] = []
      for (let i = 0; i < arg; i++) out.push(readItem(r, depth + 1))
      return out
    }
    case 5: {
      if (arg * 2 > r.bytes.length - r.pos) throw new CborError('truncated CBOR')
      const out = new Map<CborKey, CborValue>()
      for (let i = 0; i < arg; i++) {
        const key = readItem(r, depth + 1)
        if (typeof key !== 'number' && typeof key !== 'string') throw new CborError('map keys must be integers or text')
        if (out.has(key)) throw new CborError(`duplicate map key ${JSON.stringify(key)}`)
        out.set(key, readItem(r, depth + 1))
      }
      return out
    }
    default: // 6: tag
      return new CborTag(arg, readItem(r, depth + 1))
  }
}

function header(major: number, n: number): Uint8Array {
  if (n < 24) return Uint8Array.of((major << 5) | n)
  if (n < 0x100) return Uint8Array.of((major << 5) | 24, n)
  if (n < 0x10000) return Uint8Array.of((major << 5) | 25, n >> 8, n & 0xff)
  if (n > 0xffffffff) throw new CborError('item too large to encode')
  return Uint8Array.of((major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
}

export interface CoseSign1 {
  /** the serialized protected header, as signed */
  protectedBytes: Uint8Array
  protectedHeader: Map<CborKey, CborValue>
  unprotectedHeader: Map<CborKey, CborValue>
  payload: Uint8Array
  signature: Uint8Array
}

/** COSE header label and algorithm ids (IANA COSE registries). */
export const COSE_HEADER_ALG = 1
export const COSE_HEADER_CRIT = 2
export const COSE_ALG_ES384 = -35
const COSE_SIGN1_TAG = 18

/** Reads `[protected: bstr, unprotected: map, payload: bstr, signature: bstr]`, optionally under tag 18. */
export function decodeCoseSign1(bytes: Uint8Array): CoseSign1 {
  let top = decodeCbor(bytes)
  if (top instanceof CborTag) {
    if (top.tag !== COSE_SIGN1_TAG) throw new CborError(`unexpected CBOR tag ${top.tag} (COSE_Sign1 is 18)`)
    top = top.value
  }
  if (!Array.isArray(top) || top.length !== 4) throw new CborError('COSE_Sign1 must be an array of 4 items')
  const [protectedBytes, unprotectedHeader, payload, signature] = top
  if (!(protectedBytes instanceof Uint8Array)) throw new CborError('COSE_Sign1 protected header must be a byte string')
  if (!(unprotectedHeader instanceof Map)) throw new CborError('COSE_Sign1 unprotected header must be a map')
  if (!(payload instanceof Uint8Array)) throw new CborError('COSE_Sign1 payload must be an attached byte string')
  if (!(signature instanceof Uint8Array)) throw new CborError('COSE_Sign1 signature must be a byte string')
  const protectedHeader = protectedBytes.length === 0 ? new Map<CborKey, CborValue>() : decodeCbor(protectedBytes)
  if (!(protectedHeader instanceof Map)) throw new CborError('COSE_Sign1 protected header must encode a map')
  return { protectedBytes, protectedHeader, unprotectedHeader, payload, signature }
}

/** The bytes a COSE_Sign1 signature covers: `["Signature1", protected, external_aad, payload]`. */
export function coseSign1SigStructure(protectedBytes: Uint8Array, payload: Uint8Array, externalAad: Uint8Array = new Uint8Array(0)): Uint8Array {
  const context = new TextEncoder().encode('Signature1')
  return Buffer.concat([
    header(4, 4),
    header(3, context.length), context,
    header(2, protectedBytes.length), protectedBytes,
    header(2, externalAad.length), externalAad,
    header(2, payload.length), payload,
  ])
}
