/**
 * LedgerProofSource: how the enclave host gathers the ledger facts an enclave request
 * must carry (enclave/service/certified.ts): trie proofs of the state keys the
 * operation reads, all at one height, that height's commit certificate, and the epoch
 * changes from the genesis to its epoch. The host checks none of it (the enclave does,
 * against its pinned genesis), so a validator that lies only makes the enclave refuse
 * the request; the host then asks again on its next pass.
 *
 * Keys beyond one POST /v1/proofs batch are fetched in further batches at the first
 * batch's height. Only the epoch changes after the enclave's highest verified epoch
 * are sent; they never change once certified, so they are fetched once and kept.
 */
import { decodeCertificate } from '../../consensus/index.ts'
import { MAX_EPOCH_CHANGES, type LedgerProofs } from '../../enclave/index.ts'
import { MAX_PROOF_BATCH_KEYS, type ApiClient, type CallOptions } from '../api/index.ts'
import { FederationError } from './errors.ts'

export class LedgerProofSource {
  private readonly ledger: ApiClient
  private readonly epochs = new Map<number, [Uint8Array, Uint8Array]>()

  constructor(ledger: ApiClient) {
    this.ledger = ledger
  }

  /**
   * Proofs of `keys` at the newest certified height the validator holds, with the epoch
   * changes after `knownEpoch` (the highest the enclave has verified; its identity says).
   */
  async prove(keys: readonly string[], knownEpoch: number, opts: CallOptions = {}): Promise<LedgerProofs> {
    const unique = [...new Set(keys)]
    const first = await this.ledger.proofs(unique.slice(0, MAX_PROOF_BATCH_KEYS), opts)
    if (first.certificate === null) throw new FederationError('BAD_ANSWER', `the validator holds no commit certificate for height ${first.height}`)
    const proofs: Array<[string, Uint8Array]> = first.proofs.map((p) => [p.key, p.proof])
    for (let at = MAX_PROOF_BATCH_KEYS; at < unique.length; at += MAX_PROOF_BATCH_KEYS) {
      const more = await this.ledger.proofs(unique.slice(at, at + MAX_PROOF_BATCH_KEYS), { ...opts, height: first.height })
      if (more.height !== first.height) throw new FederationError('BAD_ANSWER', `asked for proofs at height ${first.height}, answered at ${more.height}`)
      for (const p of more.proofs) proofs.push([p.key, p.proof])
    }
    let epoch: number
    try {
      epoch = decodeCertificate(first.certificate).header.epoch
    } catch (e) {
      throw new FederationError('BAD_ANSWER', `the certificate of height ${first.height} does not decode: ${(e as Error).message}`, { cause: e })
    }
    return { epochs: await this.epochChanges(knownEpoch + 1, epoch, opts), certificate: first.certificate, proofs }
  }

  /**
   * How epochs `from` … `to` got their validators, oldest first; at most MAX_EPOCH_CHANGES
   * (an enclave far behind learns them over several requests: it keeps what it verified).
   */
  private async epochChanges(from: number, to: number, opts: CallOptions): Promise<Array<[Uint8Array, Uint8Array]>> {
    const out: Array<[Uint8Array, Uint8Array]> = []
    for (let e = Math.max(1, from); e <= Math.min(to, from + MAX_EPOCH_CHANGES - 1); e++) {
      let change = this.epochs.get(e)
      if (change === undefined) {
        const answer = await this.ledger.epochChange(e, opts)
        if (answer?.certificate == null) throw new FederationError('BAD_ANSWER', `the validator cannot prove how epoch ${e} began`)
        change = [answer.certificate, answer.proof]
        this.epochs.set(e, change)
      }
      out.push(change)
    }
    return out
  }

  /** Forgets the epoch changes kept (one of them did not verify). */
  forgetEpochs(): void {
    this.epochs.clear()
  }
}
