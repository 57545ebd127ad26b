/**
 * The two implementations of the quorum-signature port (../crypto.ts):
 * ed25519 multi-signatures (bitmap + one 64-byte signature per signer, checked
 * one by one through node:crypto) and BLS12-381 min-sig aggregate signatures
 * (bitmap + one 48-byte signature, one pairing check; keys admitted only with a
 * proof of possession). This module holds no keys and does no I/O; the default
 * scheme and the numbers behind it are in bench/qc-verify.ts.
 */
export { ED25519_SIGNATURE_BYTES, ed25519Scheme, ed25519Signer } from './ed25519.ts'
export {
  BLS_POP_DST,
  BLS_PUBLIC_KEY_BYTES,
  BLS_SECRET_KEY_BYTES,
  BLS_SIGNATURE_BYTES,
  BLS_SIGNATURE_DST,
  blsKeyPairFromSeed,
  blsProofOfPossession,
  blsPublicKey,
  blsScheme,
  blsSigner,
  verifyProofOfPossession,
  type BlsKeyPair,
} from './bls.ts'
