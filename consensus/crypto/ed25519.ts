/**
 * ed25519 multi-signatures: a quorum certificate carries the signer bitmap and
 * the signers' own 64-byte signatures, concatenated in ascending validator
 * order; verifying it checks each signature through node:crypto (reached via
 * ledger/, so that consensus/ itself imports no `node:` module).
 *
 * Cost grows with the quorum (one ed25519 verification per signer) and so does
 * the size (64 bytes per signer), but each verification is ~tens of µs, which
 * beats one BLS pairing check until quorums of several hundred (bench/qc-verify.ts).
 */
import { isWeakPublicKey, signBytes, verifyBytes } from '../../primitives/index.ts'
import { bitmapOf, bitmapWellFormed, signersOf, type QuorumScheme, type QuorumSigner } from '../crypto.ts'
import type { AggregateSignature, ValidatorIndex } from '../types.ts'

export const ED25519_SIGNATURE_BYTES = 64
const PUBLIC_KEY_BYTES = 32
const SECRET_KEY_BYTES = 32

/**
 * The scheme for one validator set, `publicKeys[i]` being validator i's raw
 * 32-byte key. Throws (a configuration error) for a key of the wrong length, off
 * the curve or of small order: anybody could forge that validator's votes.
 */
export function ed25519Scheme(publicKeys: readonly Uint8Array[]): QuorumScheme {
  const keys = publicKeys.map((k, i) => {
    if (!(k instanceof Uint8Array) || k.length !== PUBLIC_KEY_BYTES || isWeakPublicKey(k)) {
      throw new Error(`ed25519 scheme: validator ${i} has an invalid or weak public key`)
    }
    return k.slice()
  })
  const size = keys.length
  const inRange = (i: ValidatorIndex): boolean => Number.isInteger(i) && i >= 0 && i < size

  function verify(signer: ValidatorIndex, message: Uint8Array, signature: Uint8Array): boolean {
    if (!inRange(signer) || !(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false
    return verifyBytes(keys[signer]!, message, signature)
  }

  function aggregate(parts: ReadonlyArray<{ signer: ValidatorIndex; signature: Uint8Array }>): AggregateSignature {
    // first signature per signer wins; a duplicate is the same (already verified) vote
    const bySigner = new Map<ValidatorIndex, Uint8Array>()
    for (const { signer, signature } of parts) {
      if (!inRange(signer)) throw new RangeError(`ed25519 aggregate: signer ${signer} is not a validator`)
      if (signature.length !== ED25519_SIGNATURE_BYTES) throw new RangeError(`ed25519 aggregate: signature of ${signer} is not 64 bytes`)
      if (!bySigner.has(signer)) bySigner.set(signer, signature)
    }
    const signers = [...bySigner.keys()].sort((a, b) => a - b)
    const signature = new Uint8Array(signers.length * ED25519_SIGNATURE_BYTES)
    signers.forEach((s, k) => signature.set(bySigner.get(s)!, k * ED25519_SIGNATURE_BYTES))
    return { signers: bitmapOf(signers, size), signature }
  }

  function verifyAggregate(message: Uint8Array, agg: AggregateSignature): boolean {
    try {
      if (!(message instanceof Uint8Array) || !(agg.signers instanceof Uint8Array) || !(agg.signature instanceof Uint8Array)) return false
      if (!bitmapWellFormed(agg.signers, size)) return false
      const signers = signersOf(agg.signers, size)
      // an empty aggregate proves nothing; the caller still checks the quorum size
      if (signers.length === 0 || agg.signature.length !== signers.length * ED25519_SIGNATURE_BYTES) return false
      for (let k = 0; k < signers.length; k++) {
        const sig = agg.signature.subarray(k * ED25519_SIGNATURE_BYTES, (k + 1) * ED25519_SIGNATURE_BYTES)
        if (!verifyBytes(keys[signers[k]!]!, message, sig)) return false
      }
      return true
    } catch {
      return false
    }
  }

  return { name: 'ed25519-multisig', size, verify, aggregate, verifyAggregate }
}

/** This replica's signer: `secretKey` is its raw 32-byte ed25519 seed. */
export function ed25519Signer(index: ValidatorIndex, secretKey: Uint8Array): QuorumSigner {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`ed25519 signer: bad validator index ${index}`)
  if (secretKey.length !== SECRET_KEY_BYTES) throw new RangeError('ed25519 signer: secret key must be 32 bytes')
  const secret = secretKey.slice()
  return { scheme: 'ed25519-multisig', index, sign: (message) => signBytes(secret, message) }
}
