/**
 * The fixed points of an epoch: its genesis block and the QC that certifies it
 * (no signatures: every replica starts from it) and the quorum size.
 */
import { sha256 } from '../primitives/index.ts'
import { blockId, hashKey } from './signing.ts'
import type { Block, Hash, QuorumCertificate } from './types.ts'

const ZERO = new Uint8Array(32)

function noSignatures(n: number): QuorumCertificate['votes'] {
  return { signers: new Uint8Array(Math.ceil(n / 8)), signature: new Uint8Array(0) }
}

/** The genesis block of an epoch (view 0, height `height`), committed by definition. */
export function makeGenesis(epoch: number, n: number, height = 0, timeSec = 0, parent: Hash = ZERO): Block {
  return {
    epoch,
    view: 0,
    height,
    parent,
    justify: { epoch, view: 0, block: ZERO, height: Math.max(0, height - 1), votes: noSignatures(n) },
    proposer: 0,
    timeSec,
    payload: [],
  }
}

/**
 * The genesis of the epoch after the one whose last block is `last`: it stands at
 * the same height and names `last` as its parent, so the chain of block ids runs
 * on across epochs, and the next epoch's first block has height last.height + 1.
 */
export function nextEpochGenesis(epoch: number, n: number, last: Block): Block {
  return makeGenesis(epoch, n, last.height, last.timeSec, blockId(last))
}

/** The QC of view 0 that certifies the genesis block. */
export function genesisQC(genesis: Block): QuorumCertificate {
  return { epoch: genesis.epoch, view: 0, block: blockId(genesis), height: genesis.height, votes: noSignatures(genesis.justify.votes.signers.length * 8) }
}

/** Votes needed for a QC or TC: n − f with f = ⌊(n − 1)/3⌋ (2f + 1 when n = 3f + 1). */
export function quorumSize(n: number): number {
  return n - Math.floor((n - 1) / 3)
}

const commandKeys = new WeakMap<Uint8Array, string>()

/** The key a command is known by in mempools and in-flight sets (cached per command: commands are never mutated). */
export function commandKey(command: Uint8Array): string {
  let key = commandKeys.get(command)
  if (key === undefined) {
    key = hashKey(sha256(command))
    commandKeys.set(command, key)
  }
  return key
}
