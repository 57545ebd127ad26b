/**
 * EnclaveHost: the untrusted process around an aggregation enclave (docs/ARCHITECTURE.md §2
 * steps 2, 4 and 7). It holds no secret: the enclave service (an EnclaveClient,
 * in-process or its own process) makes round keys, evidence, aggregates and
 * signed transactions; the host follows the ledger, moves bytes and submits.
 *
 * For each round assigned to its enclave, by polling a validator:
 *   open         → enclave.roundKey → submit `enclave.round-key`; keep the evidence
 *                  to show participants (round-key/1)
 *   keyed        → take participants' envelopes (update/1) from the members' own
 *                  libp2p identities, up to a few per member, kept by ciphertext CID
 *   past deadline (or every eligible member committed)
 *                → the committed set from the ledger, each commit matched with the
 *                  envelope of its ciphertext CID → enclave.aggregate → store the new
 *                  model (its CID must equal the one the enclave signed) → submit
 *                  `round.result`; keep the sealed record
 *   reaggregate  → (members revoked since) enclave.reaggregate with the sealed record
 *   closed       → enclave.closeRound (the round key is destroyed)
 *   checkpoint   → enclave.checkpointAnchored: sealed records of earlier windows
 *                  can never be opened again; the host drops its copies
 * The enclave takes no ledger fact from the host: aggregate, reaggregate and
 * checkpointAnchored carry proofs under a certified root (ledger-proofs.ts) of what
 * the enclave reads (the round, its commits, the members' keys, the newest
 * checkpoint), which the enclave checks against its pinned genesis; the host reads
 * them through a VerifiedReader first, so a validator that lies is logged and the
 * next one asked. What it decides on (whose round, its status, deadline and pending
 * revocations, the height) it reads through the VerifiedReader too; only the list of
 * rounds and a round's commits and eligible members come unproven from the API (a
 * lie there delays the host or gets a request the enclave refuses).
 * It serves the models it stores (content.ts), so participants can fetch them.
 */
import { addModel, float32ToLeBytes, leBytesToFloat32, StateKey, type CasBlockstore, type RoundRecord } from '../../ledger/index.ts'
import { CID, decode, encode } from '../../primitives/index.ts'
import { ciphertextCid, readSealedHeader, type AggregatedResponse, type EnclaveClient } from '../../enclave/index.ts'
import { peerIdOfPublicKey, type P2PHost } from '../p2p/index.ts'
import { fetchContent, readModel, serveContent } from './content.ts'
import { FederationError } from './errors.ts'
import { LedgerProofSource } from './ledger-proofs.ts'
import type { ApiClient, RoundDetail, VerifiedReader } from '../api/index.ts'
import type { Logger } from '../logger.ts'
import { startPolling, type PollLoop } from './poll.ts'
import { parseMessage, roundKeyProtocol, RoundKeyRequest, updateProtocol, UpdateRequest } from './protocols.ts'

export interface EnclaveHostComponents {
  /** follows rounds and submits transactions (what it reads here decides only when to act) */
  ledger: ApiClient
  /** reads, verified against the pinned genesis, the proofs the enclave's requests carry */
  verified: VerifiedReader
  enclave: EnclaveClient
  host: P2PHost
  store: CasBlockstore
  /** a child of the process's pino logger */
  logger: Logger
  /** unix seconds (evidence timestamps) */
  now?: () => number
}

export interface EnclaveHostOptions {
  chainId: string
  enclaveId: string
  /** peers that may hold base models (e.g. the coordinator) */
  providers?: readonly string[]
  pollMs?: number
  maxModelBytes?: number
  /** envelopes kept per member and round (a member may resend) */
  maxEnvelopesPerMember?: number
}

/** Where the host is with one round (the ledger's own status is read afresh on every pass). */
type HostPhase =
  /** the ledger does not have our round key yet: one is made, and made again if refused or lost */
  | { kind: 'keying' }
  /** the ledger has the round key: envelopes are taken until the deadline or until every eligible member committed */
  | { kind: 'collecting' }
  /** the committed set went to the enclave: no more envelopes; tried again until the result lands */
  | { kind: 'aggregating' }
  /** the enclave found too few valid updates: nothing to do until the ledger aborts the round */
  | { kind: 'insufficient' }
  /**
   * Our result is on the ledger. The enclave's sealed record of the newest release is kept
   * for re-aggregations until checkpoint `window` anchors (then erased: `sealed` undefined);
   * `keyClosed` once the round is closed and the enclave has destroyed its round key.
   */
  | { kind: 'released'; sealed: Uint8Array | undefined; window: number; keyClosed: boolean }
  /** nothing left to do here: a round of another enclave, or one of ours that is over */
  | { kind: 'done' }

interface HostedRound {
  id: string
  /** the round key as published (served to participants who ask), until the round is over */
  roundKey?: { publicKey: Uint8Array; attestation: { format: string; evidence: Uint8Array } }
  envelopes: Map<string, Map<string, Uint8Array>>
  eligible: Set<string>
  phase: HostPhase
}

/** Ledger statuses after which a round takes nothing more (a closed one may still be re-aggregated). */
const TERMINAL = new Set(['closed', 'aborted', 'discarded'])

export class EnclaveHost {
  private readonly components: EnclaveHostComponents
  private readonly options: Required<EnclaveHostOptions>
  private readonly rounds = new Map<string, HostedRound>()
  private readonly memberPeers = new Map<string, string>()
  private readonly unsubscribe: Array<() => void> = []
  private loop: PollLoop | undefined
  private checkpointSeq = 0
  private readonly proofs: LedgerProofSource

  constructor(components: EnclaveHostComponents, options: EnclaveHostOptions) {
    this.components = components
    this.options = { providers: [], pollMs: 300, maxModelBytes: 64 * 1024 * 1024, maxEnvelopesPerMember: 4, ...options }
    this.proofs = new LedgerProofSource(components.verified)
  }

  async start(): Promise<void> {
    const { host, store } = this.components
    this.unsubscribe.push(
      serveContent(host, this.options.chainId, store),
      host.handle(roundKeyProtocol(this.options.chainId), (_from, data) => this.onRoundKeyRequest(data)),
      host.handle(updateProtocol(this.options.chainId), (from, data) => this.onUpdate(from, data)),
    )
    this.loop = startPolling((signal) => this.step(signal), this.options.pollMs, this.components.logger)
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u()
    await this.loop?.stop()
  }

  /** What the host knows, for status lines and tests. */
  summary(): Array<{ round: string; phase: HostPhase['kind']; envelopes: number; sealed: boolean }> {
    return [...this.rounds.values()].map((r) => ({ round: r.id, phase: r.phase.kind, envelopes: r.envelopes.size, sealed: r.phase.kind === 'released' && r.phase.sealed !== undefined }))
  }

  private onRoundKeyRequest(data: Uint8Array): Uint8Array {
    const req = parseMessage(RoundKeyRequest, data, 'round-key request', 1024)
    const r = this.rounds.get(req.round)
    if (r?.roundKey === undefined) throw new FederationError('REFUSED_REQUEST', `no round key for round '${req.round}' here`)
    return encode({ round: r.id, publicKey: r.roundKey.publicKey, attestation: r.roundKey.attestation })
  }

  private async onUpdate(from: string, data: Uint8Array): Promise<Uint8Array> {
    const req = parseMessage(UpdateRequest, data, 'update', this.options.maxModelBytes * 2)
    const r = this.rounds.get(req.round)
    if (r === undefined || r.roundKey === undefined || (r.phase.kind !== 'keying' && r.phase.kind !== 'collecting')) throw new FederationError('REFUSED_REQUEST', `round '${req.round}' does not take updates here now`)
    if (!r.eligible.has(req.member)) throw new FederationError('REFUSED_REQUEST', `member '${req.member}' is not eligible for round '${req.round}'`)
    const peer = await this.peerOf(req.member)
    if (peer !== from) throw new FederationError('REFUSED_REQUEST', `an update for '${req.member}' must come from that member's own peer identity`)
    const ciphertext = ciphertextCid(req.envelope)
    const mine = r.envelopes.get(req.member) ?? new Map<string, Uint8Array>()
    if (!mine.has(ciphertext.toString()) && mine.size >= this.options.maxEnvelopesPerMember) throw new FederationError('REFUSED_REQUEST', `member '${req.member}' sent ${mine.size} envelopes for round '${req.round}' already`)
    mine.set(ciphertext.toString(), req.envelope)
    r.envelopes.set(req.member, mine)
    return encode({ accepted: true, ciphertext })
  }

  private async peerOf(member: string): Promise<string | undefined> {
    const known = this.memberPeers.get(member)
    if (known !== undefined) return known
    const m = await this.components.ledger.member(member)
    if (m === undefined) return undefined
    const peer = peerIdOfPublicKey(m.member.publicKey)
    this.memberPeers.set(member, peer)
    return peer
  }

  /** One pass over the ledger: each active round of ours moves on as far as it can. */
  async step(signal?: AbortSignal): Promise<void> {
    const { ledger } = this.components
    const latest = await ledger.latestCheckpoint(signal)
    if (latest !== undefined && latest.seq > this.checkpointSeq) await this.onCheckpoint(latest.seq)
    for (const { id, status } of await ledger.rounds(signal)) {
      const known = this.rounds.get(id)
      if (known?.phase.kind === 'done' || (known === undefined && TERMINAL.has(status))) continue
      // one round's failure (a validator's bad answer, a refusal) does not hold up the others
      try {
        // what decides (whose round, its status, deadline, pending revocations, the height)
        // is certified; the API's view adds the commits and eligible members, which the
        // enclave checks against proofs anyway
        const certified = await this.components.verified.read<RoundRecord>(StateKey.round(id), { signal })
        const record = certified.value
        if (record === undefined) continue // not certified yet: look again next pass
        if (record.enclave !== this.options.enclaveId) {
          this.rounds.set(id, { id, envelopes: new Map(), eligible: new Set(), phase: { kind: 'done' } })
          continue
        }
        const detail = await ledger.round(id, signal)
        if (detail === undefined) continue
        const { status, deadline, reaggregate, baseModel, enclave, roundKey } = record
        await this.advance({ ...detail, height: certified.header.height, round: { ...detail.round, status, deadline, reaggregate, baseModel, enclave, roundKey } }, signal)
      } catch (e) {
        if (signal?.aborted) throw e
        this.components.logger.warn({ round: id, err: (e as Error).message }, 'round step failed; the next pass tries again')
      }
    }
  }

  private async advance(d: RoundDetail, signal?: AbortSignal): Promise<void> {
    const { round } = d
    let r = this.rounds.get(round.id)
    if (r === undefined) {
      r = { id: round.id, envelopes: new Map(), eligible: new Set(d.eligible), phase: { kind: 'keying' } }
      this.rounds.set(round.id, r)
    }
    const phase = r.phase
    if (round.status === 'open' && phase.kind === 'keying' && d.height < round.deadline) await this.makeRoundKey(r, signal)
    else if (round.status === 'keyed' && (phase.kind === 'keying' || phase.kind === 'collecting' || phase.kind === 'aggregating') && (d.height > round.deadline || d.commits.length === d.eligible.length)) await this.aggregate(r, d, signal)
    else if (phase.kind === 'released' && (round.status === 'resulted' || round.status === 'closed')) {
      if (round.reaggregate.length > 0 && phase.sealed !== undefined) await this.reaggregate(r, phase, phase.sealed, d, signal)
      if (round.status === 'closed' && !phase.keyClosed) {
        await this.closeKey(r)
        phase.keyClosed = true
      }
      // over once closed with nothing left to re-aggregate and the sealed inputs erased (onCheckpoint)
      if (round.status === 'closed' && round.reaggregate.length === 0 && phase.sealed === undefined) r.phase = { kind: 'done' }
    } else if (TERMINAL.has(round.status)) {
      // aborted or discarded (or closed without our result): nothing more to do
      if (phase.kind !== 'released' || !phase.keyClosed) await this.closeKey(r)
      r.phase = { kind: 'done' }
    }
  }

  /** The round is over: the enclave destroys its round key (forward secrecy); envelopes go too. */
  private async closeKey(r: HostedRound): Promise<void> {
    await this.components.enclave.closeRound({ chain: this.options.chainId, round: r.id })
    r.envelopes.clear()
    r.roundKey = undefined
  }

  /**
   * Has the enclave make a transaction at the enclave's next nonce (`make`), submits it
   * and waits for it; REFUSED unless the ledger accepts it. Returns what `make` returned.
   */
  private async submit<R extends { tx: Uint8Array }>(what: string, make: (nonce: number) => Promise<R>, signal?: AbortSignal): Promise<R> {
    let made: R | undefined
    const receipt = await this.components.ledger.send(
      this.options.enclaveId,
      async (nonce) => {
        made = await make(nonce)
        return made.tx
      },
      { signal },
    )
    if (receipt.code !== 'OK') throw new FederationError('REFUSED', `${what} refused: ${receipt.code}: ${receipt.message}`)
    return made!
  }

  private async makeRoundKey(r: HostedRound, signal?: AbortSignal): Promise<void> {
    const now = this.components.now?.() ?? Math.floor(Date.now() / 1000)
    const attested = (res: { roundPublicKey: Uint8Array; tx: Uint8Array }) => ({ publicKey: res.roundPublicKey, attestation: (decode(res.tx) as { tx: { body: { attestation: { format: string; evidence: Uint8Array } } } }).tx.body.attestation })
    // shown to participants as soon as it is made: they check it against the ledger's round key anyway
    await this.submit(`enclave.round-key for '${r.id}'`, async (nonce) => {
      const res = await this.components.enclave.roundKey({ chain: this.options.chainId, round: r.id, nonce, time: now }, { signal })
      r.roundKey = attested(res)
      return res
    }, signal)
    r.phase = { kind: 'collecting' }
    this.components.logger.info({ round: r.id }, 'round key published')
  }

  private async baseModel(cid: CID, signal?: AbortSignal): Promise<Float32Array> {
    await fetchContent(this.components.host, this.options.chainId, this.options.providers, cid, this.components.store, { maxBytes: this.options.maxModelBytes, signal })
    return readModel(this.components.store, cid, this.options.maxModelBytes)
  }

  private async aggregate(r: HostedRound, d: RoundDetail, signal?: AbortSignal): Promise<void> {
    r.phase = { kind: 'aggregating' }
    const base = await this.baseModel(d.round.baseModel, signal)
    const envelopes: Array<[string, Uint8Array]> = []
    for (const c of d.commits) {
      const env = r.envelopes.get(c.member)?.get(c.ciphertext.toString())
      if (env !== undefined) envelopes.push([c.member, env])
    }
    // what the enclave reads, proven: the round, every commit, every committed member, the newest checkpoint
    const keys = [StateKey.round(r.id), ...d.commits.map((c) => StateKey.commit(r.id, c.member)), ...d.commits.map((c) => StateKey.member(c.member)), StateKey.checkpointLatest]
    const ledger = await this.proofs.prove(keys, await this.enclaveEpoch(signal), { signal })
    const request = { chain: this.options.chainId, round: r.id, envelopes, baseModel: float32ToLeBytes(base), ledger }
    // The enclave releases a round once; asked again (the transaction was lost, or the nonce
    // moved on) it re-signs the same release at the new nonce.
    const firstNonce = await this.components.ledger.nextNonce(this.options.enclaveId, signal)
    const first = await this.components.enclave.aggregate({ ...request, nonce: firstNonce }, { signal })
    if (first.kind === 'insufficient') {
      r.phase = { kind: 'insufficient' }
      this.components.logger.warn({ round: r.id, valid: first.valid, needed: first.needed }, 'too few valid updates for Multi-Krum; the round is left to abort')
      return
    }
    await this.storeModel(first.model, first.modelCid)
    const res = await this.submit(`round.result for '${r.id}'`, async (nonce) => (nonce === firstNonce ? first : ((await this.components.enclave.aggregate({ ...request, nonce }, { signal })) as AggregatedResponse)), signal)
    r.phase = { kind: 'released', sealed: res.sealed, window: readSealedHeader(res.sealed).window, keyClosed: false }
    this.components.logger.info({ round: r.id, model: res.modelCid.toString(), included: res.included.length, excluded: res.excluded.map((e) => `${e.member}: ${e.reason}`) }, 'result submitted')
  }

  private async reaggregate(r: HostedRound, phase: Extract<HostPhase, { kind: 'released' }>, sealed: Uint8Array, d: RoundDetail, signal?: AbortSignal): Promise<void> {
    const base = await this.baseModel(d.round.baseModel, signal)
    const ledger = await this.proofs.prove([StateKey.round(r.id), StateKey.checkpointLatest], await this.enclaveEpoch(signal), { signal })
    const request = { chain: this.options.chainId, round: r.id, sealed, baseModel: float32ToLeBytes(base), ledger }
    const res = await this.submit(`re-aggregation of '${r.id}'`, async (nonce) => {
      const made = await this.components.enclave.reaggregate({ ...request, nonce }, { signal })
      await this.storeModel(made.model, made.modelCid)
      return made
    }, signal)
    phase.sealed = res.sealed
    this.components.logger.info({ round: r.id, without: d.round.reaggregate, model: res.modelCid.toString() }, 're-aggregated')
  }

  /** The highest epoch whose validators the enclave has verified (it forgets them when it restarts). */
  private async enclaveEpoch(signal?: AbortSignal): Promise<number> {
    return (await this.components.enclave.identity({ signal })).ledger.epoch
  }

  private async storeModel(bytes: Uint8Array, expected: CID): Promise<void> {
    const cid = await addModel(this.components.store, leBytesToFloat32(bytes))
    if (!cid.equals(expected)) throw new FederationError('CONTENT', `the enclave signed model ${expected}, its bytes give ${cid}`)
  }

  private async onCheckpoint(seq: number): Promise<void> {
    const ledger = await this.proofs.prove([StateKey.checkpointLatest], await this.enclaveEpoch())
    const { erasedThrough } = await this.components.enclave.checkpointAnchored({ chain: this.options.chainId, ledger })
    if (erasedThrough < seq) {
      // certification trails the committed height a little: the next pass proves it
      this.components.logger.debug({ checkpoint: seq, certified: erasedThrough }, 'checkpoint not certified yet')
      return
    }
    this.checkpointSeq = seq
    for (const r of this.rounds.values()) {
      const phase = r.phase
      if (phase.kind !== 'released' || phase.window > seq) continue
      phase.sealed = undefined
      if (phase.keyClosed) r.phase = { kind: 'done' } // closed, its key destroyed, and now its inputs erased
    }
    this.components.logger.info({ checkpoint: seq }, 'checkpoint anchored: sealed inputs of its rounds erased')
  }
}
