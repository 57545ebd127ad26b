/**
 * What a leader proposes: the next block on its highest QC, filled from the mempool
 * with commands that are not already in the uncommitted branch it extends (nor in
 * blocks committed in the same step), or nothing when the chain is idle. Past the
 * epoch's last height blocks are empty: they only serve to commit it.
 */
import { blockId } from './signing.ts'
import { commandKey } from './genesis.ts'
import type { KeySet, Mempool } from './mempool.ts'
import type { Block, QuorumCertificate, ValidatorIndex } from './types.ts'

export interface ProposalContext {
  epoch: number
  view: number
  proposer: ValidatorIndex
  /** the block the high QC certifies, and the QC */
  parent: Block
  highQC: QuorumCertificate
  /** the uncommitted blocks from the committed one up to `parent` */
  branch: readonly Block[]
  /** commands committed in this step, still in the mempool */
  committedThisStep: KeySet
  lastHeight: number
  nowMs: number
  /** an idle chain's empty block is due */
  emptyBlockDue: boolean
}

export interface BatchLimits {
  maxBatch: number
  maxBatchBytes: number
}

/** The block to propose, or undefined when there is nothing to order and nothing to finish. */
export function nextBlock(ctx: ProposalContext, mempool: Mempool, limits: BatchLimits): Block | undefined {
  const inBranch = new Set<string>()
  for (const blk of ctx.branch) for (const c of blk.payload) inBranch.add(commandKey(c))
  const exclude: KeySet = { has: (k) => inBranch.has(k) || ctx.committedThisStep.has(k) }
  const payload = ctx.parent.height >= ctx.lastHeight ? [] : mempool.take(limits.maxBatch, limits.maxBatchBytes, exclude)
  const unfinished = ctx.branch.some((blk) => blk.payload.length > 0 || blk.height >= ctx.lastHeight)
  if (payload.length === 0 && !unfinished && !ctx.emptyBlockDue) return undefined
  return {
    epoch: ctx.epoch,
    view: ctx.view,
    height: ctx.parent.height + 1,
    parent: blockId(ctx.parent),
    justify: ctx.highQC,
    proposer: ctx.proposer,
    timeSec: Math.max(ctx.parent.timeSec, Math.floor(ctx.nowMs / 1000)),
    payload,
  }
}
