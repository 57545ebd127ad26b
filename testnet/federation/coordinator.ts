/**
 * The coordinator of a local federation (the main job's own actor): opens
 * rounds, leaving out members whose budget the ledger says the round would
 * exceed; waits for results; closes rounds; anchors checkpoints (a validator's
 * state snapshot + the round's model, written as a UnixFS directory into the
 * coordinator's content store, which it serves over libp2p); and relays a
 * revocation-list entry signed by the attestation service (as the auditor).
 * Every action is a signed transaction through the validators' API. What it decides
 * on (a round's status, result and model, pending re-aggregations, heights, the
 * chain's grace period) it reads through a VerifiedReader, proven under certified
 * roots; the API's unproven round view is used for progress lines only.
 */
import { encodeTx, signTx, StateKey, writeCheckpoint, type CasBlockstore, type ChainParams, type MemberRecord, type RevocationEntry, type RoundRecord, type TxBody, type TxType } from '../../ledger/index.ts'
import { DomainTag, signPayload, type CID, type Ed25519KeyPair } from '../../primitives/index.ts'
import { ApiClient, sleep, type RoundDetail, type TxReceipt, type VerifiedReader } from '../../node/api/index.ts'
import { FederationError } from '../../node/federation/index.ts'
import { REVOCATION_AUTHORITY } from '../consortium.ts'

export interface CoordinatorComponents {
  ledger: ApiClient
  /** reads what the coordinator decides on, verified against the pinned genesis */
  verified: VerifiedReader
  /** the coordinator's content store (served over libp2p by the caller) */
  store: CasBlockstore
  log: (line: string) => void
}

export interface CoordinatorOptions {
  chainId: string
  apis: readonly string[]
  enclaveId: string
  /** keys by id: 'coordinator', 'auditor' and the revocation authority */
  keys: ReadonlyMap<string, Ed25519KeyPair>
}

export interface OpenRound {
  round: string
  baseModel: CID
  training: TxBody<'round.open'>['training']
  aggregation: TxBody<'round.open'>['aggregation']
  eligible: string[]
  deadlineBlocks: number
}

/** A round as certified state has it, at a certified height. */
export interface CertifiedRound {
  height: number
  record: RoundRecord
}

export interface Opened {
  eligible: string[]
  leftOut: Array<{ member: string; reason: string }>
}

export class Coordinator {
  private readonly components: CoordinatorComponents
  private readonly options: CoordinatorOptions
  private revocationSerial = 0

  constructor(components: CoordinatorComponents, options: CoordinatorOptions) {
    this.components = components
    this.options = options
  }

  /** Signs, submits and waits for one transaction; REFUSED (with the ledger's code first in the message) unless OK. */
  async tx<T extends TxType>(sender: string, type: T, body: TxBody<T>, signal?: AbortSignal): Promise<TxReceipt> {
    const key = this.options.keys.get(sender)
    if (key === undefined) throw new FederationError('BAD_ARGUMENT', `no key for '${sender}'`)
    const receipt = await this.components.ledger.send(sender, (nonce) => encodeTx(signTx({ chain: this.options.chainId, type, sender, nonce, body }, key.secretKey)), { signal })
    if (receipt.code !== 'OK') throw new FederationError('REFUSED', `${receipt.code}: ${type} by ${sender}: ${receipt.message}`)
    return receipt
  }

  /**
   * Opens a round with as many of `eligible` as the ledger allows: a member the
   * ledger refuses for its budget or a revocation is left out, and the round is
   * opened again without it.
   */
  async openRound(spec: OpenRound, signal?: AbortSignal): Promise<Opened> {
    let eligible = [...spec.eligible]
    const leftOut: Opened['leftOut'] = []
    for (;;) {
      const height = await this.components.ledger.height(signal)
      // Multi-Krum selects at most n − f of the n eligible
      const aggregation = { ...spec.aggregation, m: Math.min(spec.aggregation.m, eligible.length - spec.aggregation.f) }
      const body: TxBody<'round.open'> = { round: spec.round, baseModel: spec.baseModel, training: spec.training, aggregation, eligible, deadline: height + spec.deadlineBlocks, enclave: this.options.enclaveId }
      try {
        await this.tx('coordinator', 'round.open', body, signal)
        return { eligible, leftOut }
      } catch (e) {
        const m = /^(OUT_OF_BUDGET|MEMBER_REVOKED|NO_BUDGET): .*?member '([^']+)'/.exec((e as Error).message)
        if (m === null || !eligible.includes(m[2]!)) throw e
        leftOut.push({ member: m[2]!, reason: m[1] === 'OUT_OF_BUDGET' ? 'budget would be exceeded' : m[1]!.toLowerCase().replace('_', ' ') })
        eligible = eligible.filter((id) => id !== m[2])
      }
    }
  }

  /** Waits until the round has a result (or ended without one); aborts it once its grace period is over. */
  async waitForResult(round: string, opts: { timeoutMs: number; signal?: AbortSignal; onPoll?: (d: RoundDetail) => void }): Promise<CertifiedRound> {
    const deadline = Date.now() + opts.timeoutMs
    const params = (await this.components.verified.read<ChainParams>(StateKey.params, { signal: opts.signal })).value!
    let abortSent = false
    for (;;) {
      if (opts.onPoll !== undefined) {
        const view = await this.components.ledger.round(round, opts.signal)
        if (view !== undefined) opts.onPoll(view)
      }
      // a read no validator could prove (all busy, or lying) is tried again until the timeout
      const d = await this.certifiedRound(round, opts.signal).catch((e: unknown) => {
        if (opts.signal?.aborted) throw e
        return undefined
      })
      if (d === undefined) {
        // certification trails the committed height by a block or two: the round is not proven yet
        if (Date.now() > deadline) throw new FederationError('TIMEOUT', `round '${round}' is not in certified state after ${opts.timeoutMs} ms`)
        await sleep(300, opts.signal)
        continue
      }
      const r = d.record
      if (r.result !== null || ['aborted', 'closed', 'discarded'].includes(r.status)) return d
      if (d.height > r.deadline + params.resultGraceBlocks && !abortSent) {
        this.components.log(`round ${round}: no result by height ${r.deadline + params.resultGraceBlocks}; aborting it`)
        await this.tx('coordinator', 'round.close', { round }, opts.signal)
        abortSent = true // certified state shows it a block or two later
        continue
      }
      if (Date.now() > deadline) throw new FederationError('TIMEOUT', `round '${round}' has no result after ${opts.timeoutMs} ms (status ${r.status}, ${r.commitCount}/${r.eligibleCount} committed, height ${d.height}, deadline ${r.deadline})`)
      await sleep(300, opts.signal)
    }
  }

  /** The round's record in the newest certified state a validator proves (undefined: not in it, or not yet). */
  async certifiedRound(round: string, signal?: AbortSignal): Promise<CertifiedRound | undefined> {
    const read = await this.components.verified.read<RoundRecord>(StateKey.round(round), { signal })
    return read.value === undefined ? undefined : { height: read.header.height, record: read.value }
  }

  async closeRound(round: string, signal?: AbortSignal): Promise<void> {
    await this.tx('coordinator', 'round.close', { round }, signal)
  }

  /** Relays the attestation service's signed revocation of `member` (as the auditor); returns the height it took effect at, as certified state shows it. */
  async revoke(member: string, reason: string, signal?: AbortSignal): Promise<number> {
    const entry: RevocationEntry = { chain: this.options.chainId, authority: REVOCATION_AUTHORITY, serial: this.revocationSerial + 1, subject: { kind: 'member', id: member }, reason, issuedAt: Math.floor(Date.now() / 1000) }
    const authority = this.options.keys.get(REVOCATION_AUTHORITY)
    if (authority === undefined) throw new FederationError('BAD_ARGUMENT', `no key for the revocation authority '${REVOCATION_AUTHORITY}'`)
    const sig = signPayload(authority.secretKey, DomainTag.REVOCATION, entry)
    await this.tx('auditor', 'member.revoke', { member, reason, evidence: { kind: 'revocation-list', entry, sig } }, signal)
    this.revocationSerial++
    // the receipt's height is a validator's word: the member record in certified state is not
    const deadline = Date.now() + 60_000
    for (;;) {
      const read = await this.components.verified.read<MemberRecord>(StateKey.member(member), { signal }).catch(() => undefined)
      const revokedAt = read?.value?.revokedAt
      if (revokedAt !== null && revokedAt !== undefined) return revokedAt
      if (Date.now() > deadline) throw new FederationError('TIMEOUT', `the revocation of '${member}' is not in certified state after 60 s`)
      await sleep(300, signal)
    }
  }

  /**
   * Waits until no round since the last checkpoint awaits re-aggregation, in certified
   * state at `sinceHeight` or later (the revocation's height: an earlier state does not
   * show it pending yet); returns the rounds' certified records.
   */
  async waitReaggregated(rounds: readonly string[], opts: { sinceHeight: number; timeoutMs: number; signal?: AbortSignal }): Promise<RoundRecord[]> {
    const deadline = Date.now() + opts.timeoutMs
    for (;;) {
      const records: RoundRecord[] = []
      let behind = false
      for (const r of rounds) {
        const d = await this.certifiedRound(r, opts.signal)
        if (d === undefined) throw new FederationError('BAD_ANSWER', `round '${r}' is not in certified state`)
        behind ||= d.height < opts.sinceHeight
        records.push(d.record)
      }
      const pending = behind ? records : records.filter((r) => r.status !== 'discarded' && r.reaggregate.length > 0)
      if (pending.length === 0) return records
      if (Date.now() > deadline) throw new FederationError('TIMEOUT', `rounds ${pending.map((r) => r.id).join(', ')} still await re-aggregation (or certification) after ${opts.timeoutMs} ms`)
      await sleep(300, opts.signal)
    }
  }

  /**
   * Anchors a checkpoint of `round` (its current result `model`, whose weights are
   * `weights`): a validator's snapshot of the latest committed state, written with
   * the model into the coordinator's store; returns the directory's root CID.
   */
  async checkpoint(round: string, model: CID, weights: Float32Array, signal?: AbortSignal): Promise<{ root: CID; height: number }> {
    const api = this.options.apis[0]!
    const node = new ApiClient({ apis: [api] })
    const height = (await node.status({ signal })).committed.height
    const snapshot = await node.snapshot(height, { signal, timeoutMs: 30_000 })
    const written = await writeCheckpoint(this.components.store, { state: snapshot.state, model: weights })
    if (!written.model.equals(model)) throw new FederationError('CONTENT', `the checkpoint's model file is ${written.model}, the round's result is ${model}`)
    await this.tx('coordinator', 'checkpoint', { round, model, snapshot: written.root, stateRoot: snapshot.stateRoot, height: snapshot.height }, signal)
    return { root: written.root, height: snapshot.height }
  }
}
