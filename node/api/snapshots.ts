/**
 * GET /v1/snapshots/{height}: a recent committed ledger state, whole, as DAG-CBOR
 * `{ height, stateRoot, entries: [[key, valueBytes], …] }` with the entries in key
 * order (snapshotEntries, the order of a checkpoint's state.cbor). A coordinator
 * fetches it to write a checkpoint (ledger writeCheckpoint) of a state the ledger
 * can still verify. The states come from a SnapshotSource (the node's LedgerApp,
 * which keeps the last MAX_CHECKPOINT_LAG_BLOCKS); this file only encodes them.
 */
import { snapshotEntries, type LedgerState } from '../../ledger/index.ts'
import { encode } from '../../primitives/index.ts'
import { ApiError, ApiErrorCode, badRequest } from './errors.ts'

/** The media type of a snapshot response (IPLD's registered type for DAG-CBOR). */
export const SNAPSHOT_CONTENT_TYPE = 'application/vnd.ipld.dag-cbor'

/** Where snapshots come from: recent committed states by height. */
export interface SnapshotSource {
  /** the state after block `height`, while retained */
  snapshotAt(height: number): LedgerState | undefined
  /** the heights snapshotAt answers for (contiguous) */
  retainedSnapshots(): { from: number; to: number }
}

/** What a snapshot response decodes to. */
export interface SnapshotBody {
  height: number
  stateRoot: Uint8Array
  entries: Array<[string, Uint8Array]>
}

export function encodeSnapshot(state: LedgerState): Uint8Array {
  const body: SnapshotBody = { height: state.height, stateRoot: state.root, entries: snapshotEntries(state) }
  return encode(body)
}

/**
 * Encodes the snapshot at `heightText` (a path parameter), keeping the last
 * encoding: the states are immutable and clients of one checkpoint ask for the
 * same height. 400 for a malformed height, 404 SNAPSHOT_NOT_RETAINED naming the
 * retained heights.
 */
export class SnapshotEncoder {
  private readonly source: SnapshotSource | undefined
  private last: { state: LedgerState; bytes: Uint8Array } | undefined

  constructor(source: SnapshotSource | undefined) {
    this.source = source
  }

  encodeAt(heightText: string): Uint8Array {
    if (!/^\d{1,15}$/.test(heightText)) throw badRequest('snapshot height must be a non-negative integer')
    const height = Number(heightText)
    if (this.source === undefined) throw new ApiError(404, ApiErrorCode.SNAPSHOT_NOT_RETAINED, 'this node retains no ledger snapshots')
    const state = this.source.snapshotAt(height)
    if (state === undefined) {
      const { from, to } = this.source.retainedSnapshots()
      throw new ApiError(404, ApiErrorCode.SNAPSHOT_NOT_RETAINED, `no snapshot at height ${height}: this node retains heights ${from} to ${to}`)
    }
    if (this.last?.state !== state) this.last = { state, bytes: encodeSnapshot(state) }
    return this.last.bytes
  }
}
