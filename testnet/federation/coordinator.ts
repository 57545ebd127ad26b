/**
 * The coordinator of a local federation (the main job's own actor): opens
 * rounds, leaving out members whose budget the ledger says the round would
 * exceed; waits for results; closes rounds; anchors checkpoints (a validator's
 * state snapshot + the round's model, written as a UnixFS directory into the
 * coordinator's content store, which it serves over libp2p); and relays a
 * revocation-list entry signed by the attestation service (as the auditor).
 * Every action is a signed transaction through the validators' API.
 */
import { encodeTx, signTx, writeCheckpoint, type CasBlockstore, type RevocationEntry, type TxBody, type TxType } from '../../ledger/index.ts'
import { DomainTag, signPayload, type CID, type Ed25519KeyPair } from '../../primitives/index.ts'
import { ApiClient, sleep, type RoundDetail, type TxReceipt } from '../../node/api/index.ts'
import { FederationError } from '../../node/federation/index.ts'
import { REVOCATION_AUTHORITY } from '../consortium.ts'

export interface CoordinatorComponents {
  ledger: ApiClient
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
  async waitForResult(round: string, opts: { timeoutMs: number; signal?: AbortSignal; onPoll?: (d: RoundDetail) => void }): Promise<RoundDetail> {
    const deadline = Date.now() + opts.timeoutMs
    const params = await this.components.ledger.params(opts.signal)
    for (;;) {
      const d = await this.components.ledger.round(round, opts.signal)
      if (d === undefined) throw new FederationError('BAD_ANSWER', `round '${round}' is unknown`)
      opts.onPoll?.(d)
      if (d.round.result !== null || ['aborted', 'closed', 'discarded'].includes(d.round.status)) return d
      if (d.height > d.round.deadline + params.resultGraceBlocks) {
        this.components.log(`round ${round}: no result by height ${d.round.deadline + params.resultGraceBlocks}; aborting it`)
        await this.tx('coordinator', 'round.close', { round }, opts.signal)
        continue
      }
      if (Date.now() > deadline) throw new FederationError('TIMEOUT', `round '${round}' has no result after ${opts.timeoutMs} ms (status ${d.round.status}, ${d.commits.length}/${d.eligible.length} committed, height ${d.height}, deadline ${d.round.deadline})`)
      await sleep(300, opts.signal)
    }
  }

  async closeRound(round: string, signal?: AbortSignal): Promise<void> {
    await this.tx('coordinator', 'round.close', { round }, signal)
  }

  /** Relays the attestation service's signed revocation of `member` (as the auditor). */
  async revoke(member: string, reason: string, signal?: AbortSignal): Promise<void> {
    const entry: RevocationEntry = { chain: this.options.chainId, authority: REVOCATION_AUTHORITY, serial: this.revocationSerial + 1, subject: { kind: 'member', id: member }, reason, issuedAt: Math.floor(Date.now() / 1000) }
    const authority = this.options.keys.get(REVOCATION_AUTHORITY)
    if (authority === undefined) throw new FederationError('BAD_ARGUMENT', `no key for the revocation authority '${REVOCATION_AUTHORITY}'`)
    const sig = signPayload(authority.secretKey, DomainTag.REVOCATION, entry)
    await this.tx('auditor', 'member.revoke', { member, reason, evidence: { kind: 'revocation-list', entry, sig } }, signal)
    this.revocationSerial++
  }

  /** Waits until no round since the last checkpoint awaits re-aggregation; returns the rounds' details. */
  async waitReaggregated(rounds: readonly string[], opts: { timeoutMs: number; signal?: AbortSignal }): Promise<RoundDetail[]> {
    const deadline = Date.now() + opts.timeoutMs
    for (;;) {
      const details = await Promise.all(rounds.map((r) => this.components.ledger.round(r, opts.signal)))
      const pending = details.filter((d) => d !== undefined && d.round.status !== 'discarded' && d.round.reaggregate.length > 0)
      if (pending.length === 0) return details.filter((d): d is RoundDetail => d !== undefined)
      if (Date.now() > deadline) throw new FederationError('TIMEOUT', `rounds ${pending.map((d) => d!.round.id).join(', ')} still await re-aggregation after ${opts.timeoutMs} ms`)
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
