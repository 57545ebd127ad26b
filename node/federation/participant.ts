/**
 * ParticipantPeer: a bank's side of a training round (docs/ARCHITECTURE.md §2 step 3).
 * It finds rounds through any validator (a list it cannot prove) and reads what it
 * acts on through a VerifiedReader: the round (its training settings, round key and
 * enclave), its own eligibility and commit, the chain's parameters (the attestation
 * policy) and the enclave's record, all proven under one certified root and checked
 * by the light client against the genesis the bank pins. A validator whose answer
 * does not verify is logged and the next one asked. For each keyed round it is
 * eligible for and has not committed to, it:
 *
 *   1. asks the enclave host for the round key's evidence (round-key/1) and
 *      verifies it before anything leaves the bank: the key is the one on the
 *      ledger, the evidence passes the chain's attestation policy (format, trust
 *      anchors, measurement allow-list, age, debug refused, nonce made for this
 *      round and the pinned genesis) and binds both the round key and the
 *      enclave's registered key. A chain whose policy does not allow sim-v1 is
 *      held to the production policy. With a revocation list (`revocationList`),
 *      the evidence must also pass a fresh, not rolled-back list;
 *   2. fetches the base model by CID over libp2p (checked block by block);
 *   3. trains (a `Trainer`: local DP-SGD with the round's C, σ, q, steps, or an
 *      update produced elsewhere), clipped to the round's bound;
 *   4. seals the update to the round key and sends the envelope to the host;
 *   5. submits `round.commit` (ciphertext CID + signed statement) and waits for it.
 * Its own RDP accountant adds up what the rounds it sent a commit for cost it.
 *
 * A Byzantine bank for testnets is a participant with `tamper`: the update is
 * changed (e.g. sign-flipped and scaled) before sealing, then clipped so that
 * only Multi-Krum, not the norm check, can catch it.
 */
import { attestationVerifiers, clipToNorm, productionPolicy, RevocationListTracker, sealUpdate, SIM_FORMAT, testnetPolicy, verifyAttested } from '../../enclave/index.ts'
import { type AttestationVerifier, encodeTx, evidenceNonce, signTx, StateKey, type CasBlockstore, type ChainParams, type EnclaveRecord, type RoundRecord, type TxBody } from '../../ledger/index.ts'
import { bytesEqual, encode, fromHex } from '../../primitives/index.ts'
import { PrivacyAccountant, type Rng, type Trainer } from '../../participant/index.ts'
import type { P2PHost } from '../p2p/index.ts'
import { fetchModel } from './content.ts'
import { FederationError } from './errors.ts'
import type { ApiClient, VerifiedReader } from '../api/index.ts'
import type { Logger } from '../logger.ts'
import { startPolling, type PollLoop } from './poll.ts'
import { parseMessage, RoundKeyAnswer, roundKeyProtocol, UpdateAnswer, updateProtocol } from './protocols.ts'

/** tries per round before a peer gives up on it */
export const MAX_ATTEMPTS = 5

export interface ParticipantComponents {
  /** finds rounds and submits transactions (unverified: a list, and the bank's own signed commits) */
  ledger: ApiClient
  /** reads the facts the bank acts on, proven under certified roots */
  verified: VerifiedReader
  host: P2PHost
  store: CasBlockstore
  trainer: Trainer
  rng: Rng
  /** a child of the process's pino logger */
  logger: Logger
  /** evidence verifiers by format (default: sim-v1 only, for testnets) */
  verifier?: AttestationVerifier
  now?: () => number
  /**
   * The bank's revocation list as it stands now (e.g. read from the file its operator
   * keeps current): when given, every round key's evidence must pass a fresh list signed
   * by one of the chain's sim-v1 roots, and a list older than one already accepted is
   * refused (rollback)
   */
  revocationList?: () => Promise<Uint8Array>
}

export interface ParticipantOptions {
  chainId: string
  /** the network's genesis hash as the bank pinned it: the enclave's round-key evidence must bind it (the network the enclave trusts) */
  genesisHash: Uint8Array
  member: string
  /** the member's ed25519 seed: signs statements and transactions, and is its libp2p identity */
  secretKey: Uint8Array
  /** the enclave host's peer id */
  enclavePeer: string
  /** peers that may serve base models, in order (the enclave host, the coordinator) */
  providers: readonly string[]
  pollMs?: number
  maxModelBytes?: number
  /** δ at which the local accountant reports ε (default 1e-5) */
  delta?: number
  /** testnets: a Byzantine bank's change to its update before sealing */
  tamper?: (update: Float32Array) => Float32Array
}

export interface RoundReport {
  round: string
  committed: boolean
  reason?: string
  norm?: number
  epsilon?: number
}

export class ParticipantPeer {
  private readonly components: ParticipantComponents
  private readonly revocations = new RevocationListTracker()
  private readonly options: Required<Omit<ParticipantOptions, 'tamper'>> & Pick<ParticipantOptions, 'tamper'>
  private readonly accountant: PrivacyAccountant
  /** rounds whose cost the accountant has counted (once per round, when its commit was sent) */
  private readonly counted = new Set<string>()
  private readonly handled = new Set<string>()
  private readonly attempts = new Map<string, number>()
  private loop: PollLoop | undefined
  readonly reports: RoundReport[] = []

  constructor(components: ParticipantComponents, options: ParticipantOptions) {
    this.components = components
    this.options = { pollMs: 300, maxModelBytes: 64 * 1024 * 1024, delta: 1e-5, ...options }
    this.accountant = new PrivacyAccountant()
  }

  /** ε this bank's own accountant has added up over the rounds it sent a signed commit for. */
  epsilon(): number {
    return this.accountant.epsilon(this.options.delta)
  }

  async start(): Promise<void> {
    this.loop = startPolling((signal) => this.step(signal), this.options.pollMs, this.components.logger)
  }

  async stop(): Promise<void> {
    await this.loop?.stop()
  }

  /** One look at the ledger: takes part in every keyed round it should. */
  async step(signal?: AbortSignal): Promise<void> {
    for (const { id, status } of await this.components.ledger.rounds(signal)) {
      if (this.handled.has(id) || status !== 'keyed') continue
      const me = this.options.member
      let facts
      try {
        facts = await this.components.verified.readMany([StateKey.round(id), StateKey.eligible(id, me), StateKey.commit(id, me)], { signal })
      } catch (e) {
        // no validator could prove it this time: the other rounds still get their look
        if (signal?.aborted) throw e
        this.components.logger.warn({ round: id, err: (e as Error).message }, 'could not read the round from certified state; looking again next time')
        continue
      }
      const round = facts.get<RoundRecord>(StateKey.round(id))
      // the list ran ahead of the certified state (certification trails a block or two, and a
      // validator may answer a little behind): look again next time
      if (round === undefined || round.status !== 'keyed') continue
      if (facts.get(StateKey.eligible(id, me)) === undefined) {
        this.handled.add(id)
        continue
      }
      if (facts.get(StateKey.commit(id, me)) !== undefined || facts.header.height >= round.deadline) {
        this.handled.add(id)
        continue
      }
      // a failure (the enclave host not reachable yet, a lost answer) is tried again at the next
      // look, up to MAX_ATTEMPTS; an attestation failure is final: nothing is sent to that enclave
      const attempt = (this.attempts.get(id) ?? 0) + 1
      this.attempts.set(id, attempt)
      try {
        this.reports.push(await this.participate(id, round.enclave, signal))
        this.handled.add(id)
      } catch (e) {
        if (signal?.aborted) throw e
        const final = attempt >= MAX_ATTEMPTS || (e instanceof FederationError && (e.code === 'ATTESTATION' || e.code === 'REFUSED'))
        if (final) {
          this.handled.add(id)
          this.reports.push({ round: id, committed: false, reason: (e as Error).message })
        }
        this.components.logger.warn({ round: id, attempt, of: MAX_ATTEMPTS, final, err: (e as Error).message }, final ? 'gave up on the round' : 'round attempt failed')
      }
    }
  }

  /** `enclaveId`: the round's enclave as the step's certified read named it (checked again in the fresh read). */
  private async participate(id: string, enclaveId: string, signal?: AbortSignal): Promise<RoundReport> {
    // What the bank acts on irrevocably (its update leaves for this key), read fresh: from f+1
    // validators, keeping the newest, so that no validator can hold the bank on an old state
    // (an enclave revoked since, a trust anchor governance removed); all in one certified state.
    const me = this.options.member
    const facts = await this.components.verified.readFresh([StateKey.round(id), StateKey.eligible(id, me), StateKey.commit(id, me), StateKey.params, StateKey.enclave(enclaveId)], { signal })
    const round = facts.get<RoundRecord>(StateKey.round(id))
    if (round === undefined || round.status !== 'keyed' || round.enclave !== enclaveId) throw new FederationError('BAD_ANSWER', `round '${id}' is not keyed for enclave '${enclaveId}' in the newest certified state`)
    if (facts.get(StateKey.eligible(id, me)) === undefined || facts.get(StateKey.commit(id, me)) !== undefined) throw new FederationError('REFUSED', `round '${id}': not eligible, or committed already, in the newest certified state`)
    if (facts.header.height >= round.deadline) throw new FederationError('REFUSED', `round '${id}' passed its deadline ${round.deadline}`)
    const roundKey = await this.verifiedRoundKey(round, facts.get<ChainParams>(StateKey.params)!, facts.get<EnclaveRecord>(StateKey.enclave(enclaveId)), signal)
    const base = await fetchModel(this.components.host, this.options.chainId, this.options.providers, round.baseModel, this.components.store, { maxBytes: this.options.maxModelBytes, signal })
    const trained = await this.components.trainer.train(base, round.training, this.components.rng, { signal })
    let update = trained.update
    if (this.options.tamper !== undefined) update = clipToNorm(this.options.tamper(update), round.training.clipNorm)
    const sealed = sealUpdate({ chain: this.options.chainId, round: round.id, member: this.options.member, memberSecretKey: this.options.secretKey, roundPublicKey: roundKey, update })
    const ack = await this.components.host.request(this.options.enclavePeer, updateProtocol(this.options.chainId), encode({ round: round.id, member: this.options.member, envelope: sealed.envelope }), { signal, timeoutMs: 30_000 })
    const answer = parseMessage(UpdateAnswer, ack, 'update answer', 1024, true)
    if (!answer.ciphertext.equals(sealed.ciphertext)) throw new FederationError('BAD_ANSWER', `the enclave host acknowledged ${answer.ciphertext}, not ${sealed.ciphertext}`)
    const body: TxBody<'round.commit'> = { round: round.id, ciphertext: sealed.ciphertext, statement: sealed.statement, statementSig: sealed.statementSig }
    // counted once the signed commit leaves the bank: whatever a validator answers, it may get
    // onto the ledger, and then the enclave opens the update (a refusal does not undo that)
    if (!this.counted.has(round.id)) {
      this.accountant.spend(round.training)
      this.counted.add(round.id)
    }
    const receipt = await this.components.ledger.send(this.options.member, (nonce) => encodeTx(signTx({ chain: this.options.chainId, type: 'round.commit', sender: this.options.member, nonce, body }, this.options.secretKey)), { signal })
    if (receipt.code !== 'OK') throw new FederationError('REFUSED', `round.commit refused: ${receipt.code}: ${receipt.message}`)
    const epsilon = this.epsilon()
    this.components.logger.info({ round: round.id, norm: Number(sealed.statement.declaredNorm.toFixed(3)), epsilon: Number(epsilon.toFixed(3)) }, 'committed to the round')
    return { round: round.id, committed: true, norm: sealed.statement.declaredNorm, epsilon }
  }

  /** The round key, once its evidence checks out against the chain's (certified) policy and the ledger. */
  private async verifiedRoundKey(round: RoundRecord, params: ChainParams, enclave: EnclaveRecord | undefined, signal?: AbortSignal): Promise<Uint8Array> {
    if (round.roundKey === null) throw new FederationError('ATTESTATION', `round '${round.id}' has no round key on the ledger`)
    const raw = await this.components.host.request(this.options.enclavePeer, roundKeyProtocol(this.options.chainId), encode({ round: round.id }), { signal })
    const answer = parseMessage(RoundKeyAnswer, raw, 'round-key answer', 128 * 1024, true)
    if (!bytesEqual(answer.publicKey, round.roundKey)) throw new FederationError('ATTESTATION', `the enclave host offers a round key other than the ledger's for round '${round.id}'`)
    // revoked at any height: a revocation is never undone
    if (enclave === undefined || enclave.revokedAt !== null) throw new FederationError('ATTESTATION', `enclave '${round.enclave}' is ${enclave === undefined ? 'unknown' : 'revoked'}`)
    const a = params.attestation
    // a chain that does not allow the simulated format is held to the production policy
    const policyOf = a.formats.includes(SIM_FORMAT) ? testnetPolicy : productionPolicy
    const verifier = this.components.verifier ?? attestationVerifiers()
    const at = this.components.now?.() ?? Math.floor(Date.now() / 1000)
    try {
      const withList = this.components.revocationList !== undefined
      const policy = policyOf({ formats: a.formats, trustAnchors: a.trustAnchors, measurements: a.measurements.map(fromHex), maxAgeSeconds: a.maxEvidenceAgeSeconds, requireRevocationList: withList })
      // the list is signed by a root the chain trusts for simulated platforms (the testnet root)
      const list = withList ? this.revocations.accept(await this.components.revocationList!(), { at, trustAnchors: a.trustAnchors[SIM_FORMAT] ?? [] }) : undefined
      verifyAttested(verifier, policy, answer.attestation, {
        at,
        nonce: evidenceNonce(this.options.chainId, 'enclave.round-key', round.id, this.options.genesisHash),
        platform: enclave.platform,
        measurement: enclave.measurement,
        keys: [answer.publicKey, enclave.publicKey],
      }, list)
    } catch (e) {
      throw new FederationError('ATTESTATION', `round '${round.id}': the enclave's evidence does not verify: ${(e as Error).message}`, { cause: e })
    }
    return answer.publicKey
  }
}
