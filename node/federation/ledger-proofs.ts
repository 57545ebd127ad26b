/**
 * LedgerProofSource: how the enclave host gathers the ledger facts an enclave request
 * must carry (enclave/service/certified.ts): trie proofs of the state keys the
 * operation reads, all at one height, that height's commit certificate, and the epoch
 * changes after the last epoch the enclave has verified.
 *
 * It reads them through a VerifiedReader, so the host checks them with its own light
 * client (the same pinned genesis as the enclave) before it relays them: a validator
 * whose answer does not verify is logged and the next one asked, instead of the
 * enclave refusing the request. The enclave checks everything again; the host's
 * check is for failing over, not for trust.
 *
 * Keys beyond one POST /v1/proofs batch are read in further batches at the first
 * batch's height. At most MAX_EPOCH_CHANGES epoch changes go in one request (an
 * enclave far behind learns them over several requests: it keeps what it verified).
 */
import { MAX_EPOCH_CHANGES, type LedgerProofs } from '../../enclave/index.ts'
import { MAX_PROOF_BATCH_KEYS, type CallOptions, type VerifiedReader, type VerifiedReads } from '../api/index.ts'

export class LedgerProofSource {
  private readonly reader: VerifiedReader

  constructor(reader: VerifiedReader) {
    this.reader = reader
  }

  /** Proofs of `keys` at the newest certified height, with the epoch changes after `knownEpoch` (the enclave's, from its identity). */
  async prove(keys: readonly string[], knownEpoch: number, opts: CallOptions = {}): Promise<LedgerProofs> {
    const { proofs, reads } = await this.read(keys, opts)
    const epoch = reads.header.epoch
    const epochs = await this.reader.relayEpochChanges(knownEpoch + 1, Math.min(epoch, knownEpoch + MAX_EPOCH_CHANGES), opts)
    return { epochs, certificate: reads.raw.certificate, proofs }
  }

  /** Verified values and their proofs as they travel, all at one height. */
  async read(keys: readonly string[], opts: CallOptions = {}): Promise<{ reads: VerifiedReads; proofs: Array<[string, Uint8Array]> }> {
    const unique = [...new Set(keys)]
    const reads = await this.reader.readMany(unique.slice(0, MAX_PROOF_BATCH_KEYS), opts)
    const proofs = [...reads.raw.proofs]
    for (let at = MAX_PROOF_BATCH_KEYS; at < unique.length; at += MAX_PROOF_BATCH_KEYS) {
      const more = await this.reader.readMany(unique.slice(at, at + MAX_PROOF_BATCH_KEYS), { ...opts, height: reads.header.height })
      proofs.push(...more.raw.proofs)
    }
    return { reads, proofs }
  }
}
