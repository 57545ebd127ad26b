/**
 * The two implementations of the quorum-signature port (../crypto.ts):
 * ed25519 multi-signatures (bitmap + one 64-byte signature per signer, checked
 * one by one through node:crypto) and BLS12-381 min-sig aggregate signatures
 * (bitmap + one 48-byte signature, one pairing check; keys admitted only with a
 * proof of possession). This module holds no keys and does no I/O.
 *
 * The default is ed25519: at the sizes fedledger targets (4-16 validators, 64
 * at most) a QC of q signatures verifies q ed25519 signatures at ~0.1 ms each
 * (0.3 / 1.1 / 4.6 ms for n = 4 / 16 / 64) while one BLS pairing check in pure
 * JS costs ~17 ms whatever n; a leader verifying 2f+1 votes pays ~12 ms per BLS
 * vote against ~0.1 ms. BLS only breaks even on QC verification near n ≈ 240;
 * its advantage is size (~50 bytes per QC against 64 per signer). Numbers:
 * bench/qc-verify.ts.
 */
import type { SchemeName } from '../crypto.ts'

export const DEFAULT_QUORUM_SCHEME: SchemeName = 'ed25519-multisig'

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
