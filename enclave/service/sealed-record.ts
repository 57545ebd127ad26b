/**
 * The sealed record of one release: what a later re-aggregation needs, encrypted
 * so that only this enclave instance, and only until the round's checkpoint
 * window is anchored, can read it (keys: sealing-keys.ts). The host stores the
 * bytes; they are useless to it.
 *
 *   sealed  = DAG-CBOR { v: 1, chain, round, window, iv (12 bytes), ct (ciphertext ‖ 16-byte tag) }
 *   ct      = AES-256-GCM(K_chain,window, iv, plaintext, AAD)
 *   AAD     = "fedledger/enclave-sealed/v1" ‖ 0x00 ‖ DAG-CBOR { v, chain, round, window }
 *   plaintext = DAG-CBOR {
 *     v: 1, chain, round, window, dimension, scale,
 *     aggregation: { f, m (as applied), centralNoiseMultiplier? (only if the round set it) },
 *     central: σ of the central noise as applied,
 *     dp: { clipNorm, noiseMultiplier, samplingRate, steps },
 *     commits:  [[member, ciphertext CID], …]   ledger order (the transcript needs them)
 *     included: [[member, float32-le update], …] ascending
 *     excluded: [[member, reason], …]           by member
 *     noise: int64 little-endian × dimension    the integer noise vector of the release
 *     transcriptHash,                           of the release this record seals
 *     reaggregation? }                          { without, previous } when that release was a re-aggregation
 *
 * Updates are kept as the float32 values the members sent: quantizing them again
 * (round half to even at the same power-of-two scale) is deterministic and gives
 * the integers that went into the sum.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { z } from 'zod'
import { Identifier } from '../../ledger/index.ts'
import { CID, decode, encode } from '../../primitives/index.ts'
import type { RoundDpParams } from '../round/index.ts'
import { decodeUpdate, encodeUpdate } from '../updates/index.ts'
import { EnclaveServiceError } from './errors.ts'
import type { ServiceExclusion } from './types.ts'

export const SEALED_VERSION = 1
const AAD_TAG = new TextEncoder().encode('fedledger/enclave-sealed/v1')
const IV_BYTES = 12
const TAG_BYTES = 16
/** Largest sealed record accepted (1,000 members × 10^5 parameters × 4 bytes fit). */
export const MAX_SEALED_BYTES = 1024 * 1024 * 1024

export interface SealedRound {
  chain: string
  round: string
  window: number
  dimension: number
  scale: number
  aggregation: { f: number; m: number; centralNoiseMultiplier?: number }
  /** σ of the central noise as applied */
  central: number
  dp: RoundDpParams
  commits: Array<{ member: string; ciphertext: CID }>
  /** ascending by member */
  included: Array<{ member: string; update: Float32Array }>
  excluded: ServiceExclusion[]
  noise: BigInt64Array
  transcriptHash: Uint8Array
  /** when the sealed release was itself a re-aggregation: whom it dropped, and the hash of the release before */
  reaggregation?: { without: string[]; previous: Uint8Array }
}

export interface SealedHeader {
  chain: string
  round: string
  window: number
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array
const bytes = z.custom<Uint8Array>(isBytes, 'expected bytes')
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const positive = z.number().finite().positive()

const Envelope = z.strictObject({ v: z.literal(SEALED_VERSION), chain: Identifier, round: Identifier, window: uint.min(1), iv: bytes, ct: bytes })
const Plain = z.strictObject({
  v: z.literal(SEALED_VERSION),
  chain: Identifier,
  round: Identifier,
  window: uint.min(1),
  dimension: uint.min(1),
  scale: positive,
  aggregation: z.strictObject({ f: uint, m: uint.min(1), centralNoiseMultiplier: z.number().finite().nonnegative().optional() }),
  central: z.number().finite().nonnegative(),
  dp: z.strictObject({ clipNorm: positive, noiseMultiplier: positive, samplingRate: positive, steps: uint }),
  commits: z.array(z.tuple([Identifier, z.custom<CID>((v) => CID.asCID(v) !== null, 'expected a CID')])),
  included: z.array(z.tuple([Identifier, bytes])),
  excluded: z.array(z.tuple([Identifier, z.string()])),
  noise: bytes,
  transcriptHash: bytes,
  reaggregation: z.strictObject({ without: z.array(Identifier), previous: bytes }).optional(),
})

function aad(h: SealedHeader): Uint8Array {
  const body = encode({ v: SEALED_VERSION, chain: h.chain, round: h.round, window: h.window })
  const out = new Uint8Array(AAD_TAG.length + 1 + body.length)
  out.set(AAD_TAG, 0)
  out.set(body, AAD_TAG.length + 1)
  return out
}

function noiseToBytes(noise: BigInt64Array): Uint8Array {
  const out = new Uint8Array(noise.length * 8)
  const view = new DataView(out.buffer)
  for (let k = 0; k < noise.length; k++) view.setBigInt64(k * 8, noise[k]!, true)
  return out
}

function noiseFromBytes(b: Uint8Array, dimension: number): BigInt64Array {
  if (b.length !== dimension * 8) throw unreadable(`noise of ${b.length} bytes for dimension ${dimension}`)
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const out = new BigInt64Array(dimension)
  for (let k = 0; k < dimension; k++) out[k] = view.getBigInt64(k * 8, true)
  return out
}

function unreadable(why: string, cause?: unknown): EnclaveServiceError {
  return new EnclaveServiceError('SEALED_UNREADABLE', `the sealed record does not open: ${why}`, cause === undefined ? undefined : { cause })
}

/** Encrypts `record` under `key` (the window key of record.chain, record.window). */
export function sealRound(record: SealedRound, key: Uint8Array): Uint8Array {
  const aggregation: Record<string, number> = { f: record.aggregation.f, m: record.aggregation.m }
  if (record.aggregation.centralNoiseMultiplier !== undefined) aggregation.centralNoiseMultiplier = record.aggregation.centralNoiseMultiplier
  const plaintext = encode({
    v: SEALED_VERSION,
    chain: record.chain,
    round: record.round,
    window: record.window,
    dimension: record.dimension,
    scale: record.scale,
    aggregation,
    central: record.central,
    dp: { clipNorm: record.dp.clipNorm, noiseMultiplier: record.dp.noiseMultiplier, samplingRate: record.dp.samplingRate, steps: record.dp.steps },
    commits: record.commits.map((c) => [c.member, c.ciphertext]),
    included: record.included.map((i) => [i.member, encodeUpdate(i.update)]),
    excluded: record.excluded.map((e) => [e.member, e.reason]),
    noise: noiseToBytes(record.noise),
    transcriptHash: record.transcriptHash,
    ...(record.reaggregation === undefined ? {} : { reaggregation: { without: record.reaggregation.without, previous: record.reaggregation.previous } }),
  })
  const header: SealedHeader = { chain: record.chain, round: record.round, window: record.window }
  const iv = new Uint8Array(randomBytes(IV_BYTES))
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad(header))
  const ct = new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]))
  plaintext.fill(0)
  return encode({ v: SEALED_VERSION, ...header, iv, ct })
}

function decodeOrUnreadable(bytes: Uint8Array): unknown {
  try {
    return decode(bytes, MAX_SEALED_BYTES)
  } catch (e) {
    throw unreadable((e as Error).message, e)
  }
}

/** The cleartext header of sealed bytes (which window key opens them). Throws SEALED_UNREADABLE. */
export function readSealedHeader(sealed: Uint8Array): SealedHeader & { iv: Uint8Array; ct: Uint8Array } {
  const parsed = Envelope.safeParse(decodeOrUnreadable(sealed))
  if (!parsed.success) throw unreadable('not a sealed record')
  const { iv, ct } = parsed.data
  if (iv.length !== IV_BYTES || ct.length < TAG_BYTES) throw unreadable('bad iv or ciphertext length')
  return parsed.data
}

/** Decrypts and parses a sealed record with its window key. Throws SEALED_UNREADABLE. */
export function openSealed(sealed: Uint8Array, key: Uint8Array): SealedRound {
  const h = readSealedHeader(sealed)
  let plaintext: Uint8Array
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, h.iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(aad(h))
    decipher.setAuthTag(h.ct.subarray(h.ct.length - TAG_BYTES))
    plaintext = new Uint8Array(Buffer.concat([decipher.update(h.ct.subarray(0, h.ct.length - TAG_BYTES)), decipher.final()]))
  } catch (e) {
    throw unreadable('authentication failed (tampered, or sealed by another enclave instance)', e)
  }
  const parsed = Plain.safeParse(decodeOrUnreadable(plaintext))
  if (!parsed.success) throw unreadable('malformed contents')
  const p = parsed.data
  if (p.chain !== h.chain || p.round !== h.round || p.window !== h.window) throw unreadable('contents do not match the header')
  let included: SealedRound['included']
  try {
    included = p.included.map(([member, u]) => ({ member, update: decodeUpdate(u, p.dimension) }))
  } catch (e) {
    throw unreadable('a sealed update is malformed', e)
  }
  const aggregation: SealedRound['aggregation'] = { f: p.aggregation.f, m: p.aggregation.m }
  if (p.aggregation.centralNoiseMultiplier !== undefined) aggregation.centralNoiseMultiplier = p.aggregation.centralNoiseMultiplier
  plaintext.fill(0)
  return {
    chain: p.chain,
    round: p.round,
    window: p.window,
    dimension: p.dimension,
    scale: p.scale,
    aggregation,
    central: p.central,
    dp: p.dp,
    commits: p.commits.map(([member, ciphertext]) => ({ member, ciphertext })),
    included,
    excluded: p.excluded.map(([member, reason]) => ({ member, reason })),
    noise: noiseFromBytes(p.noise, p.dimension),
    transcriptHash: p.transcriptHash,
    ...(p.reaggregation === undefined ? {} : { reaggregation: p.reaggregation }),
  }
}
