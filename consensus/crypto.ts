/**
 * The quorum-signature port. A scheme knows the validator set's public keys and
 * verifies single and aggregate signatures; a signer holds this replica's own
 * secret. The node's scheme is ed25519 multi-signatures (consensus/crypto/: a
 * signer bitmap plus the signatures, verified one by one through node:crypto);
 * the simulator has its own. BLS12-381 aggregates were built and measured, and
 * removed: in pure JavaScript one pairing check costs about 17 ms, 55× an n = 4
 * ed25519 QC, and a leader forms a QC about 130× slower (BENCHMARKS.md).
 */
import type { AggregateSignature, ValidatorIndex } from './types.ts'

export type SchemeName = 'ed25519-multisig'

export interface QuorumSigner {
  readonly scheme: SchemeName
  readonly index: ValidatorIndex
  sign(message: Uint8Array): Uint8Array
}

export interface QuorumScheme {
  readonly name: SchemeName
  /** number of validators (bitmap length is ceil(n / 8) bytes) */
  readonly size: number
  /** one validator's signature on `message`; false (never a throw) if malformed */
  verify(signer: ValidatorIndex, message: Uint8Array, signature: Uint8Array): boolean
  /** combines already-verified signatures on one message, in any order, duplicates ignored */
  aggregate(parts: ReadonlyArray<{ signer: ValidatorIndex; signature: Uint8Array }>): AggregateSignature
  /** verifies an aggregate on `message`; false (never a throw) if malformed or any signature is wrong */
  verifyAggregate(message: Uint8Array, aggregate: AggregateSignature): boolean
}

/** The validators whose bits are set, ascending; -1 entries never appear. Throws nothing. */
export function signersOf(bitmap: Uint8Array, size: number): ValidatorIndex[] {
  const out: ValidatorIndex[] = []
  for (let i = 0; i < size; i++) if (((bitmap[i >> 3] ?? 0) >> (i & 7)) & 1) out.push(i)
  return out
}

export function bitmapOf(signers: Iterable<ValidatorIndex>, size: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(size / 8))
  for (const i of signers) if (i >= 0 && i < size) out[i >> 3]! |= 1 << (i & 7)
  return out
}

/** A bitmap is well-formed iff it has ceil(size/8) bytes and no bit at or past `size`. */
export function bitmapWellFormed(bitmap: Uint8Array, size: number): boolean {
  if (bitmap.length !== Math.ceil(size / 8)) return false
  for (let i = size; i < bitmap.length * 8; i++) if (((bitmap[i >> 3] ?? 0) >> (i & 7)) & 1) return false
  return true
}
