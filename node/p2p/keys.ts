/**
 * Peer identity helpers: a validator's libp2p identity is an ed25519 key derived
 * deterministically from a 32-byte seed (kept by the node's key store), and its
 * peer id is the usual base58 string form ("12D3KooW…").
 */
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PeerId, PrivateKey } from '@libp2p/interface'
import { P2PError } from './errors.ts'

/** The libp2p ed25519 private key for a 32-byte seed (same seed, same peer id). */
export async function peerKeyFromSeed(seed: Uint8Array): Promise<Ed25519PrivateKey> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new P2PError('INVALID_ARGUMENT', `peer key seed must be 32 bytes, got ${seed?.length ?? typeof seed}`)
  }
  return generateKeyPairFromSeed('Ed25519', seed)
}

/** The peer id string ("12D3KooW…") of a private key. */
export function peerIdOf(privateKey: PrivateKey): string {
  return peerIdFromPrivateKey(privateKey).toString()
}

/** The peer id string of a raw 32-byte ed25519 public key (a validator's key is its libp2p identity). */
export function peerIdOfPublicKey(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new P2PError('INVALID_ARGUMENT', `an ed25519 public key is 32 bytes, got ${publicKey?.length ?? typeof publicKey}`)
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

/** Parse a peer id string, as a typed INVALID_ARGUMENT error when it is not one. */
export function parsePeerId(peer: string): PeerId {
  try {
    return peerIdFromString(peer)
  } catch (err) {
    throw new P2PError('INVALID_ARGUMENT', `not a peer id: ${JSON.stringify(peer)}`, { cause: err })
  }
}
