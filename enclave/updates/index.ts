/**
 * enclave/updates: encrypted model updates and the enclave's checks on them.
 *
 * A participant clips its update (`clipToNorm`), encodes it as little-endian
 * float32 (`encodeUpdate`), and `sealUpdate` encrypts it to the round's x25519 key
 * (HKDF-SHA256, AES-256-GCM; chain, round and member bound in) and signs the
 * ledger's update statement (plaintext hash, declared norm). The enclave runs
 * `checkUpdate` on each committed update: committed CID, statement, signature,
 * decryption, hash, length, finiteness and norm ≤ the clip bound, in a fixed order;
 * a failure is an `UpdateRejection` (code + message) for round.result's excluded list.
 *
 * It is pure code over node:crypto: no network, disk or clock. It does not hold
 * round keys (callers keep the bytes and `destroyKey` them after the round), fetch
 * envelopes, or aggregate (see enclave/aggregate).
 */
export { UpdateRejectionCode, UpdateError, isUpdateError, rejection, type UpdateErrorCode, type UpdateRejection } from './errors.ts'
export { generateRoundKey, roundPublicKeyOf, destroyKey, X25519_KEY_BYTES, type RoundKeyPair } from './keys.ts'
export {
  UPDATE_DTYPE,
  BYTES_PER_VALUE,
  NORM_RELATIVE_TOLERANCE,
  encodeUpdate,
  decodeUpdate,
  l2Norm,
  hashUpdate,
  normsAgree,
  clipToNorm,
} from './plaintext.ts'
export {
  UPDATE_ENVELOPE,
  ENVELOPE_OVERHEAD_BYTES,
  DEFAULT_MAX_ENVELOPE_BYTES,
  envelopeSizeFor,
  updateAad,
  ciphertextCid,
  encryptUpdate,
  decryptUpdate,
  parseEnvelope,
  type UpdateEnvelope,
  type UpdateContext,
  type EncryptUpdateInput,
  type DecryptUpdateInput,
  type DecryptResult,
} from './envelope.ts'
export { sealUpdate, type SealUpdateInput, type SealedUpdate } from './seal.ts'
export { checkUpdate, type CheckUpdateInput, type CheckResult, type AcceptedUpdate } from './check.ts'
