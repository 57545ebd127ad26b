/**
 * The node's implementation of the quorum-signature port (../crypto.ts): ed25519
 * multi-signatures, a signer bitmap and one 64-byte signature per signer, checked
 * one by one through node:crypto (a QC of q signatures verifies in about q × 0.1 ms:
 * 0.3 / 1.1 / 4.5 ms for n = 4 / 16 / 64). This module holds no keys and does no I/O.
 */
export { ED25519_SIGNATURE_BYTES, ed25519Scheme, ed25519Signer } from './ed25519.ts'
