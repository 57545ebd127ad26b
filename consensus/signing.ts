/**
 * Block ids and the exact bytes validators sign. A block's id is the sha256 of
 * its DAG-CBOR encoding. Each signed message is `domain tag || 0x00 ||
 * DAG-CBOR(fields)` with its own tag, so a vote can never pass for a timeout or a
 * proposal, nor a message of one epoch for another.
 */
import { DomainTag, encode, sha256, signingBytes } from '../primitives/index.ts'
import type { Block, Hash } from './types.ts'

const ids = new WeakMap<Block, Hash>()

/** sha256(DAG-CBOR(block)), cached per block object (blocks are never mutated). */
export function blockId(block: Block): Hash {
  let id = ids.get(block)
  if (id === undefined) {
    id = sha256(encode(block))
    ids.set(block, id)
  }
  return id
}

export function proposalMessage(epoch: number, block: Hash): Uint8Array {
  return signingBytes(DomainTag.CONSENSUS_PROPOSAL, { epoch, block })
}

export function voteMessage(epoch: number, view: number, block: Hash, height: number): Uint8Array {
  return signingBytes(DomainTag.CONSENSUS_VOTE, { epoch, view, block, height })
}

export function timeoutMessage(epoch: number, view: number): Uint8Array {
  return signingBytes(DomainTag.CONSENSUS_TIMEOUT, { epoch, view })
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** A hash as a hex string, for Map keys. */
export function hashKey(h: Hash): string {
  let s = ''
  for (let i = 0; i < h.length; i++) s += HEX[h[i]!]
  return s
}
