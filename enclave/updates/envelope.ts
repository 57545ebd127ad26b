/**
 * The encrypted-update envelope: a participant's plaintext update sealed to the
 * round's x25519 key (ECIES-style, one ephemeral key per update).
 *
 *   shared = X25519(ephemeral secret, round public key)
 *   key    = HKDF-SHA256(ikm = shared, salt = ephemeralPublicKey ‖ roundPublicKey,
 *                        info = 'fedledger/update-encryption/v1' ‖ 0 ‖ chain ‖ 0 ‖ round ‖ 0 ‖ member, 32 bytes)
 *   AES-256-GCM(key, random 12-byte nonce, AAD = DAG-CBOR { chain, round, member }), 16-byte tag appended
 *   envelope = DAG-CBOR { v: 1, suite, ephemeralPublicKey, nonce, ciphertext }
 *
 * Ids cannot contain NUL (ledger Identifier), so the info string is unambiguous.
 * The salt carries the ephemeral key as sent: X25519 ignores the top bit of a
 * u-coordinate, so without it two envelope encodings would share a key.
 * The envelope's id is its CIDv1 (dag-cbor, sha2-256): `ciphertextCid`, the CID a
 * member puts in round.commit.
 */
import { createCipheriv, createDecipheriv, generateKeyPairSync, hkdfSync, randomBytes } from 'node:crypto'
import { z } from 'zod'
import { Identifier } from '../../ledger/index.ts'
import { bytesEqual, cidOfBytes, decode, encode, type CID } from '../../primitives/index.ts'
import { rejection, UpdateError, type UpdateRejection } from './errors.ts'
import { publicKeyBytes, x25519, x25519PrivateKeyObject, x25519PublicKeyObject } from './keys.ts'
import { BYTES_PER_VALUE } from './plaintext.ts'

/** The envelope format; changing any of it is a new version. */
export const UPDATE_ENVELOPE = Object.freeze({
  version: 1,
  suite: 'x25519-hkdf-sha256-aes256gcm',
  kdfInfoTag: 'fedledger/update-encryption/v1',
  keyBytes: 32,
  nonceBytes: 12,
  tagBytes: 16,
} as const)

/** Bytes an envelope adds around the ciphertext (CBOR map, field names, keys, nonce), rounded up. */
export const ENVELOPE_OVERHEAD_BYTES = 256
/** decryptUpdate's default size limit: 256 MiB, 64 Mi float32 values. */
export const DEFAULT_MAX_ENVELOPE_BYTES = 256 * 1024 * 1024

/** The largest envelope an update of `dimension` float32 values can take. */
export function envelopeSizeFor(dimension: number): number {
  return dimension * BYTES_PER_VALUE + UPDATE_ENVELOPE.tagBytes + ENVELOPE_OVERHEAD_BYTES
}

const bytes = (n: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === n, `expected ${n} bytes`)
const EnvelopeSchema = z.strictObject({
  v: z.number(),
  suite: z.string(),
  ephemeralPublicKey: bytes(32),
  nonce: bytes(UPDATE_ENVELOPE.nonceBytes),
  ciphertext: z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length >= UPDATE_ENVELOPE.tagBytes, 'expected a ciphertext with its tag'),
})
export type UpdateEnvelope = z.infer<typeof EnvelopeSchema>

/** Whom and what an update is for: bound into the key derivation and the AAD. */
export interface UpdateContext {
  chain: string
  round: string
  member: string
}

export interface EncryptUpdateInput extends UpdateContext {
  roundPublicKey: Uint8Array
  /** the encoded update (encodeUpdate) */
  plaintext: Uint8Array
}

export interface DecryptUpdateInput extends UpdateContext {
  roundSecretKey: Uint8Array
  envelope: Uint8Array
  /** refuse larger envelopes unread (default DEFAULT_MAX_ENVELOPE_BYTES) */
  maxEnvelopeBytes?: number
}

export type DecryptResult = { ok: true; plaintext: Uint8Array } | UpdateRejection

/** Throws BAD_ARGUMENT unless chain, round and member are ledger identifiers. */
export function checkContext(ctx: UpdateContext): void {
  for (const field of ['chain', 'round', 'member'] as const) {
    if (!Identifier.safeParse(ctx[field]).success) throw new UpdateError('BAD_ARGUMENT', `${field} '${String(ctx[field])}' is not an identifier`)
  }
}

/** DAG-CBOR { chain, round, member }: the AEAD's associated data. */
export function updateAad(ctx: UpdateContext): Uint8Array {
  return encode({ chain: ctx.chain, round: ctx.round, member: ctx.member })
}

function kdfInfo(ctx: UpdateContext): Buffer {
  return Buffer.from([UPDATE_ENVELOPE.kdfInfoTag, ctx.chain, ctx.round, ctx.member].join('\0'), 'utf8')
}

function deriveKey(shared: Uint8Array, ephemeralPublicKey: Uint8Array, roundPublicKey: Uint8Array, ctx: UpdateContext): Buffer {
  const salt = Buffer.concat([ephemeralPublicKey, roundPublicKey])
  return Buffer.from(hkdfSync('sha256', shared, salt, kdfInfo(ctx), UPDATE_ENVELOPE.keyBytes))
}

/** The CID a member commits for an envelope: CIDv1, dag-cbor, sha2-256 of its bytes. */
export function ciphertextCid(envelope: Uint8Array): CID {
  return cidOfBytes(envelope)
}

/** Seals `plaintext` to the round key. Throws BAD_ARGUMENT for a malformed or small-order round key or a bad id. */
export function encryptUpdate(input: EncryptUpdateInput): Uint8Array {
  checkContext(input)
  if (!(input.plaintext instanceof Uint8Array)) throw new UpdateError('BAD_ARGUMENT', 'plaintext must be bytes')
  const roundKey = x25519PublicKeyObject(input.roundPublicKey)
  const ephemeral = generateKeyPairSync('x25519')
  let shared: Uint8Array
  try {
    shared = x25519(ephemeral.privateKey, roundKey)
  } catch (e) {
    throw new UpdateError('BAD_ARGUMENT', 'the round public key is of small order', { cause: e })
  }
  const ephemeralPublicKey = publicKeyBytes(ephemeral.publicKey)
  const key = deriveKey(shared, ephemeralPublicKey, input.roundPublicKey, input)
  shared.fill(0)
  const nonce = new Uint8Array(randomBytes(UPDATE_ENVELOPE.nonceBytes))
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: UPDATE_ENVELOPE.tagBytes })
  key.fill(0)
  cipher.setAAD(updateAad(input))
  const ciphertext = new Uint8Array(Buffer.concat([cipher.update(input.plaintext), cipher.final(), cipher.getAuthTag()]))
  return encode({ v: UPDATE_ENVELOPE.version, suite: UPDATE_ENVELOPE.suite, ephemeralPublicKey, nonce, ciphertext })
}

/** Decodes envelope bytes: canonical DAG-CBOR, the known version and suite, fields of the right sizes. */
export function parseEnvelope(envelope: unknown, maxEnvelopeBytes = DEFAULT_MAX_ENVELOPE_BYTES): { ok: true; envelope: UpdateEnvelope } | UpdateRejection {
  if (!(envelope instanceof Uint8Array)) return rejection('MALFORMED', 'the envelope is not bytes')
  if (envelope.length > maxEnvelopeBytes) return rejection('MALFORMED', `the envelope is ${envelope.length} bytes, limit ${maxEnvelopeBytes}`)
  let value: unknown
  try {
    value = decode(envelope, maxEnvelopeBytes)
  } catch (e) {
    return rejection('MALFORMED', `the envelope is not DAG-CBOR: ${(e as Error).message}`)
  }
  const parsed = EnvelopeSchema.safeParse(value)
  if (!parsed.success) return rejection('MALFORMED', `the envelope has the wrong shape: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`)
  const env = parsed.data
  if (env.v !== UPDATE_ENVELOPE.version || env.suite !== UPDATE_ENVELOPE.suite) {
    return rejection('MALFORMED', `unsupported envelope version ${env.v} / suite '${env.suite}' (expected ${UPDATE_ENVELOPE.version} / '${UPDATE_ENVELOPE.suite}')`)
  }
  // one envelope, one encoding, one CID
  if (!bytesEqual(encode(env), envelope)) return rejection('MALFORMED', 'the envelope is not canonical DAG-CBOR')
  return { ok: true, envelope: env }
}

/**
 * Opens an envelope with the round's secret key. Every failure from the envelope
 * bytes is a returned rejection (MALFORMED or DECRYPT_FAILED), never a throw;
 * a malformed secret key or id (the caller's own input) throws BAD_ARGUMENT.
 */
export function decryptUpdate(input: DecryptUpdateInput): DecryptResult {
  checkContext(input)
  const roundKey = x25519PrivateKeyObject(input.roundSecretKey)
  const parsed = parseEnvelope(input.envelope, input.maxEnvelopeBytes)
  if (!parsed.ok) return parsed
  const env = parsed.envelope
  let shared: Uint8Array
  try {
    shared = x25519(roundKey, x25519PublicKeyObject(env.ephemeralPublicKey))
  } catch {
    return rejection('DECRYPT_FAILED', 'the ephemeral public key is of small order')
  }
  const roundPublicKey = publicKeyBytes(roundKey)
  const key = deriveKey(shared, env.ephemeralPublicKey, roundPublicKey, input)
  shared.fill(0)
  const body = env.ciphertext.subarray(0, env.ciphertext.length - UPDATE_ENVELOPE.tagBytes)
  const tag = env.ciphertext.subarray(env.ciphertext.length - UPDATE_ENVELOPE.tagBytes)
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, env.nonce, { authTagLength: UPDATE_ENVELOPE.tagBytes })
    decipher.setAAD(updateAad(input))
    decipher.setAuthTag(tag)
    const plaintext = Buffer.concat([decipher.update(body), decipher.final()])
    return { ok: true, plaintext: new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength) }
  } catch {
    return rejection('DECRYPT_FAILED', `authenticated decryption failed: not sealed to this round's key for chain '${input.chain}', round '${input.round}' and member '${input.member}', or altered`)
  } finally {
    key.fill(0)
  }
}
