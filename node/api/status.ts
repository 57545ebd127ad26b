/**
 * What the node reports about itself (`GET /v1/status`, and the lag in
 * `/healthz`). The driver fills a NodeStatus with its own types; the API turns it
 * into JSON (state root hex, block id a CID string).
 */
import type { CID } from '../../primitives/index.ts'
import { toHex } from '../../primitives/index.ts'

export interface NodeStatus {
  chainId: string
  /** this node's validator id and index in the current set, or null for a non-validator */
  validator: { id: string; index: number } | null
  epoch: number
  view: number
  /** the leader of the current view, or null if not known */
  leader: { id: string; index: number } | null
  committedHeight: number
  /** id of the last committed block, null at genesis */
  committedBlock: CID | null
  stateRoot: Uint8Array
  peers: number
  mempoolSize: number
  syncing: boolean
  version: string
  /** the highest height heard of from peers, if known (lag = highestKnownHeight − committedHeight) */
  highestKnownHeight?: number
  /** when the node last committed a block (unix ms, local clock), if it has */
  lastCommitAt?: number
}

export interface NodeStatusJson {
  chainId: string
  validator: { id: string; index: number } | null
  epoch: number
  view: number
  leader: { id: string; index: number } | null
  committed: { height: number; block: string | null; stateRoot: string }
  peers: number
  mempoolSize: number
  syncing: boolean
  version: string
  highestKnownHeight: number | null
  lastCommitAt: number | null
}

export function statusToJson(s: NodeStatus): NodeStatusJson {
  return {
    chainId: s.chainId,
    validator: s.validator === null ? null : { id: s.validator.id, index: s.validator.index },
    epoch: s.epoch,
    view: s.view,
    leader: s.leader === null ? null : { id: s.leader.id, index: s.leader.index },
    committed: { height: s.committedHeight, block: s.committedBlock === null ? null : s.committedBlock.toString(), stateRoot: toHex(s.stateRoot) },
    peers: s.peers,
    mempoolSize: s.mempoolSize,
    syncing: s.syncing,
    version: s.version,
    highestKnownHeight: s.highestKnownHeight ?? null,
    lastCommitAt: s.lastCommitAt ?? null,
  }
}

/** How far behind the node is: in blocks (if peers told it a height) and in seconds since its last commit. */
export function lagOf(s: NodeStatus, nowMs: number): { blocks: number | null; secondsSinceCommit: number | null } {
  return {
    blocks: s.highestKnownHeight === undefined ? null : Math.max(0, s.highestKnownHeight - s.committedHeight),
    secondsSinceCommit: s.lastCommitAt === undefined ? null : Math.max(0, (nowMs - s.lastCommitAt) / 1000),
  }
}
