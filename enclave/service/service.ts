/**
 * The aggregation enclave as a service (docs/ARCHITECTURE.md §5, "a request/response boundary"): the only holder of the
 * enclave's secrets — its registered ed25519 signing key, the per-round x25519
 * keys, the sealing keys — behind six operations the untrusted host calls:
 *
 *   identity            enclave id, platform, measurement, public key
 *   roundKey            a fresh round key bound into attestation evidence, as a signed enclave.round-key tx
 *   aggregate           the round pipeline on the committed set → new model, its CID, a signed
 *                       round.result tx and the sealed record of the release
 *   reaggregate         the same release without revoked members, from its sealed record (reaggregate.ts)
 *   closeRound          destroys the round key (forward secrecy)
 *   checkpointAnchored  erases the sealing keys of windows ≤ seq (sealing-keys.ts)
 *
 * The host is trusted for no ledger fact. aggregate, reaggregate and
 * checkpointAnchored take the round, its committed set, the members' keys and
 * revocations, the pending re-aggregations and the newest checkpoint from proofs
 * under a certified state root, checked against the genesis the service was
 * started with (certified.ts); the host supplies only envelopes, base model
 * weights (checked against the round's base model CID) and sealed records.
 *
 * A round is released once: asking again to aggregate it (a host retrying after a
 * crash) returns the same release, re-signed with the new nonce, never a second
 * draw of noise over the same updates. The round key is destroyed once the round is
 * released (or closed), and the release is held until closeRound or until a
 * certified request shows the round past aggregation; members the ledger revoked in
 * the meantime are marked for re-aggregation when it lands. A re-aggregation drops
 * exactly the members the certified round lists as pending, from the sealed record
 * of the round's current result only; it reuses
 * that release's noise, so asking again gives the same release. Every request's
 * certified `checkpoint/latest` erases the sealing keys up to it, whether or not
 * the host ever calls checkpointAnchored. Operations run one at a time. Pure: no
 * I/O, no clock (times come in requests), randomness from the RandomSource (noise)
 * and node:crypto (keys, IVs).
 */
import type { z } from 'zod'
import { decodeTx, encodeTx, evidenceNonce, Identifier, isLedgerError, makeTx, signTx, type TxBody, type TxType } from '../../ledger/index.ts'
import { bytesEqual, keyPairFromSeed, toHex } from '../../primitives/index.ts'
import { cryptoRandom, isNoiseError, type RandomSource } from '../noise/index.ts'
import { aggregateRound, aggregateRoundOn, isRoundError, type AggregateRoundInput, type DistancePool } from '../round/index.ts'
import { destroyKey, encodeUpdate, generateRoundKey, isUpdateError, type RoundKeyPair } from '../updates/index.ts'
import type { Attester } from './attester.ts'
import { CertifiedLedger, type CertifiedFacts, type CertifiedRound, type LedgerProofs, type LedgerTrust } from './certified.ts'
import { EnclaveServiceError } from './errors.ts'
import { applyUpdate, modelFile, parseBaseModel } from './model.ts'
import { reaggregateSealed } from './reaggregate.ts'
import { describeIssues, RequestSchemas, type Op } from './schemas.ts'
import { openSealed, readSealedHeader, sealRound, type SealedRound } from './sealed-record.ts'
import { SealingKeys } from './sealing-keys.ts'
import type {
  AggregatedResponse,
  AggregateRequest,
  AggregateResponse,
  CheckpointAnchoredRequest,
  CheckpointAnchoredResponse,
  CloseRoundRequest,
  CloseRoundResponse,
  EnclaveIdentity,
  EnclaveIdentityInfo,
  ReaggregateRequest,
  RoundKeyRequest,
  RoundKeyResponse,
} from './types.ts'

export const DEFAULT_SCALE = 2 ** 16

export interface EnclaveServiceIdentity {
  enclaveId: string
  platform: string
  measurement: Uint8Array
  /** ed25519 seed of the enclave key registered on the ledger */
  secretKey: Uint8Array
}

export interface EnclaveServiceOptions {
  identity: EnclaveServiceIdentity
  /** evidence for round keys: simAttester on testnets, the TEE's hardware otherwise */
  attest: Attester
  /** randomness of the DP noise (default cryptoRandom(); seededRandom only in tests) */
  random?: RandomSource
  /** quantization scale of the noise, a power of two (default 2^16) */
  scale?: number
  /** Multi-Krum distances on worker threads (default: inline) */
  pool?: DistancePool
  /** the chain this enclave serves: its genesis and the hash the consortium pinned (certified.ts) */
  ledger: LedgerTrust
}

interface Release {
  response: Omit<AggregatedResponse, 'tx'>
  body: TxBody<'round.result'>
  /** the round key it was released under (the secret key is destroyed at release) */
  roundPublicKey?: Uint8Array
}

const roundId = (chain: string, round: string): string => `${chain}\0${round}`

function bad(message: string): EnclaveServiceError {
  return new EnclaveServiceError('BAD_REQUEST', message)
}

/** Errors of the modules below (bad input they refused) become BAD_REQUEST; the service's own pass through. */
function asServiceError(e: unknown): unknown {
  if (isRoundError(e) || isUpdateError(e) || isNoiseError(e) || isLedgerError(e)) return new EnclaveServiceError('BAD_REQUEST', `${e.code}: ${e.message}`, { cause: e })
  return e
}

export class EnclaveService {
  private readonly id: EnclaveIdentityInfo
  private readonly secretKey: Uint8Array
  private readonly attest: Attester
  private readonly random: RandomSource
  private readonly scale: number
  private readonly pool: DistancePool | undefined
  private readonly ledger: CertifiedLedger
  private readonly sealing = new SealingKeys()
  private readonly roundKeys = new Map<string, RoundKeyPair>()
  /** every chain+round a key was ever issued for (a destroyed key is not issued again) */
  private readonly issued = new Set<string>()
  private readonly releases = new Map<string, Release>()
  private queue: Promise<unknown> = Promise.resolve()

  constructor(options: EnclaveServiceOptions) {
    const { identity } = options
    if (!Identifier.safeParse(identity?.enclaveId).success) throw bad(`enclave id '${String(identity?.enclaveId)}' is not an identifier`)
    if (!Identifier.safeParse(identity.platform).success) throw bad(`platform '${String(identity.platform)}' is not an identifier`)
    if (!(identity.measurement instanceof Uint8Array) || identity.measurement.length > 64) throw bad('the measurement is at most 64 bytes')
    if (!(identity.secretKey instanceof Uint8Array) || identity.secretKey.length !== 32) throw bad('the enclave secret key is a 32-byte ed25519 seed')
    if (typeof options.attest !== 'function') throw bad('attest must be a function')
    const scale = options.scale ?? DEFAULT_SCALE
    if (!(scale > 0 && Number.isInteger(Math.log2(scale)))) throw bad(`scale must be a power of two, got ${scale}`)
    const keys = keyPairFromSeed(identity.secretKey)
    this.secretKey = keys.secretKey
    this.id = { enclaveId: identity.enclaveId, platform: identity.platform, measurement: identity.measurement.slice(), publicKey: keys.publicKey }
    this.attest = options.attest
    this.random = options.random ?? cryptoRandom()
    this.scale = scale
    this.pool = options.pool
    if (options.ledger === undefined) throw bad('the enclave needs the genesis of the chain it serves (ledger: { genesis, genesisHash })')
    this.ledger = new CertifiedLedger(options.ledger)
  }

  async identity(): Promise<EnclaveIdentity> {
    return { ...this.id, measurement: this.id.measurement.slice(), publicKey: this.id.publicKey.slice(), ledger: { chain: this.ledger.chain, genesisHash: this.ledger.genesisHash, epoch: this.ledger.epoch } }
  }

  roundKey(request: RoundKeyRequest): Promise<RoundKeyResponse> {
    return this.run('roundKey', request, (req) => {
      this.servesChain(req.chain)
      const key = roundId(req.chain, req.round)
      // Asked again while the key lives (the host's transaction did not make it, e.g. a stale
      // nonce): the same key, freshly attested, in a transaction with the new nonce. Once the
      // key is destroyed, never another key for that round.
      const held = this.roundKeys.get(key)
      if (this.issued.has(key) && held === undefined) throw new EnclaveServiceError('ROUND_KEY_EXISTS', `the key of round '${req.round}' on '${req.chain}' was issued and destroyed; a round gets one key`)
      const pair = held ?? generateRoundKey()
      let attestation
      try {
        attestation = this.attest({ keys: [pair.publicKey, this.id.publicKey], nonce: evidenceNonce(req.chain, 'enclave.round-key', req.round, this.ledger.genesisHash), timestamp: req.time })
      } catch (e) {
        if (held === undefined) destroyKey(pair.secretKey)
        throw new EnclaveServiceError('INTERNAL', `attestation failed: ${(e as Error).message}`, { cause: e })
      }
      const tx = this.signedTx(req.chain, 'enclave.round-key', req.nonce, { round: req.round, publicKey: pair.publicKey, attestation })
      this.issued.add(key)
      this.roundKeys.set(key, pair)
      return { roundPublicKey: pair.publicKey.slice(), tx }
    })
  }

  aggregate(request: AggregateRequest): Promise<AggregateResponse> {
    return this.run('aggregate', request, async (req) => {
      const facts = this.certified(req.chain, req.ledger)
      const round = this.ourRound(facts, req.round)
      const key = roundId(req.chain, round.id)
      if (round.status !== 'keyed') {
        // past aggregation on the ledger: whatever is still held for the round goes now
        if (round.status !== 'open') this.forgetRound(key)
        throw ledgerState(`round '${round.id}' is ${round.status} at height ${facts.height}; it is aggregated while keyed`)
      }
      const done = this.releases.get(key)
      const pair = this.roundKeys.get(key)
      const publicKey = done?.roundPublicKey ?? pair?.publicKey
      if (publicKey === undefined) throw new EnclaveServiceError('NO_ROUND_KEY', `no key is held for round '${round.id}' on '${req.chain}'${this.issued.has(key) ? ' (it was destroyed when the round closed)' : ''}`)
      if (round.roundKey === null || !bytesEqual(round.roundKey, publicKey)) throw ledgerState(`the ledger's key for round '${round.id}' is not the one this enclave holds`)
      // Commits are taken up to the deadline height: after it, or once every eligible member
      // committed, the set is final. Before, a host could pick a moment when only its target had.
      if (facts.height < round.deadline && round.commitCount < round.eligibleCount) {
        throw ledgerState(`round '${round.id}' takes commits until height ${round.deadline} (${round.commitCount} of ${round.eligibleCount} committed at height ${facts.height}): its committed set is not final`)
      }
      const commits = facts.committedSet(round)
      const members = commits.map((c) => facts.member(c.member))
      const revoked = new Set(members.filter((m) => m.revokedAt !== null && m.revokedAt <= facts.height).map((m) => m.id))
      const base = await this.baseModel(round, req.baseModel)
      if (done !== undefined) return { ...done.response, tx: this.signedTx(req.chain, 'round.result', req.nonce, done.body) }
      if (pair === undefined) throw new EnclaveServiceError('INTERNAL', `round '${round.id}' has neither a key nor a release`)
      // the round's window is the one after the newest checkpoint (a stale height gives an
      // earlier window: its key is erased sooner, never later)
      const window = facts.latestCheckpoint() + 1
      const sealingKey = this.sealing.windowKey(req.chain, window)
      const input: AggregateRoundInput = {
        chain: req.chain,
        round: spec(round),
        dimension: base.length,
        commits,
        envelopes: uniqueMap(req.envelopes, 'envelopes'),
        memberKeys: new Map(members.map((m) => [m.id, m.publicKey])),
        revoked,
        roundSecretKey: pair.secretKey,
        scale: this.scale,
      }
      const outcome = this.pool === undefined ? aggregateRound(input, this.random) : await aggregateRoundOn(input, this.random, this.pool)
      const excluded = outcome.excluded.map((e) => ({ member: e.member, reason: e.reason }))
      if (outcome.kind === 'insufficient') return { kind: 'insufficient', valid: outcome.valid, needed: outcome.needed, excluded }
      const { f, centralNoiseMultiplier } = round.aggregation
      const record: SealedRound = {
        chain: req.chain,
        round: round.id,
        window,
        dimension: base.length,
        scale: this.scale,
        aggregation: centralNoiseMultiplier === undefined ? { f, m: outcome.m } : { f, m: outcome.m, centralNoiseMultiplier },
        central: outcome.centralNoiseMultiplier,
        dp: outcome.dp,
        commits: commits.map((c) => ({ member: c.member, ciphertext: c.ciphertext })),
        included: outcome.selected,
        excluded,
        noise: outcome.noise,
        transcriptHash: outcome.transcriptHash,
      }
      const release = await this.release(record, outcome.update, applyUpdate(base, outcome.update), sealingKey)
      this.releases.set(key, { ...release, roundPublicKey: pair.publicKey })
      // released once: the round key is not needed any more (a retry re-signs the release)
      this.roundKeys.delete(key)
      destroyKey(pair.secretKey)
      return { ...release.response, tx: this.signedTx(req.chain, 'round.result', req.nonce, release.body) }
    })
  }

  reaggregate(request: ReaggregateRequest): Promise<AggregatedResponse> {
    return this.run('reaggregate', request, async (req) => {
      const facts = this.certified(req.chain, req.ledger)
      const round = this.ourRound(facts, req.round)
      if (round.result === null || round.status === 'discarded') throw ledgerState(`round '${round.id}' has no result to re-aggregate at height ${facts.height} (${round.status})`)
      if (round.reaggregate.length === 0) throw ledgerState(`round '${round.id}' has no revocation pending at height ${facts.height}: nothing to re-aggregate`)
      const header = readSealedHeader(req.sealed)
      if (header.chain !== req.chain || header.round !== round.id) throw bad(`the sealed record is of round '${header.round}' on '${header.chain}', not '${round.id}' on '${req.chain}'`)
      const sealingKey = this.sealing.windowKey(req.chain, header.window)
      const record = openSealed(req.sealed, sealingKey)
      // only the round's current result: an older release of it would give a different
      // set of updates minus the same pending members
      if (!bytesEqual(record.transcriptHash, round.result.transcriptHash)) {
        throw ledgerState(`the sealed record is of release ${toHex(record.transcriptHash)}; round '${round.id}''s current result is ${toHex(round.result.transcriptHash)}`)
      }
      const base = await this.baseModel(round, req.baseModel)
      if (base.length !== record.dimension) throw bad(`the sealed round has dimension ${record.dimension}, the base model ${base.length}`)
      const next = reaggregateSealed(record, round.reaggregate)
      // nobody left: the base model itself, bit for bit (base + 0 would turn −0 into +0)
      const model = next.record.included.length === 0 ? base : applyUpdate(base, next.update)
      const release = await this.release(next.record, next.update, model, sealingKey)
      return { ...release.response, tx: this.signedTx(req.chain, 'round.result', req.nonce, release.body) }
    })
  }

  closeRound(request: CloseRoundRequest): Promise<CloseRoundResponse> {
    return this.run('closeRound', request, (req) => {
      this.servesChain(req.chain)
      return { destroyed: this.forgetRound(roundId(req.chain, req.round)) }
    })
  }

  /** Destroys the round's key and drops its cached release; whether a key was held. */
  private forgetRound(key: string): boolean {
    const pair = this.roundKeys.get(key)
    this.roundKeys.delete(key)
    this.releases.delete(key)
    if (pair === undefined) return false
    destroyKey(pair.secretKey)
    return true
  }

  checkpointAnchored(request: CheckpointAnchoredRequest): Promise<CheckpointAnchoredResponse> {
    return this.run('checkpointAnchored', request, (req) => {
      this.certified(req.chain, req.ledger)
      return { erasedThrough: this.sealing.erasedThrough(req.chain) }
    })
  }

  /** The request's ledger facts, verified; the sealing keys of every window the facts show anchored are erased. */
  private certified(chain: string, proofs: LedgerProofs): CertifiedFacts {
    const facts = this.ledger.open(chain, proofs)
    this.sealing.eraseThrough(chain, facts.latestCheckpoint())
    return facts
  }

  private servesChain(chain: string): void {
    if (chain !== this.ledger.chain) throw bad(`this enclave serves chain '${this.ledger.chain}', not '${chain}'`)
  }

  /** The certified round, which must be assigned to this enclave. */
  private ourRound(facts: CertifiedFacts, id: string): CertifiedRound {
    const round = facts.round(id)
    if (round.enclave !== this.id.enclaveId) throw ledgerState(`round '${id}' is assigned to enclave '${round.enclave}', not to '${this.id.enclaveId}'`)
    return round
  }

  /** The base model's weights; BAD_REQUEST unless their model file has the round's base model CID. */
  private async baseModel(round: CertifiedRound, bytes: Uint8Array): Promise<Float32Array> {
    if (bytes.length === 0 || bytes.length % 4 !== 0) throw bad(`the base model is ${bytes.length} bytes, not a whole number of float32 values`)
    const base = parseBaseModel(bytes, bytes.length / 4)
    const { cid } = await modelFile(base)
    if (!cid.equals(round.baseModel)) throw bad(`the base model's weights give ${cid.toString()}; round '${round.id}' starts from ${String(round.baseModel)}`)
    return base
  }

  /** The model file, the round.result body and the sealed record of a release. */
  private async release(record: SealedRound, update: Float32Array, model: Float32Array, sealingKey: Uint8Array): Promise<Release> {
    const file = await modelFile(model)
    const included = record.included.map((i) => i.member)
    const aggregation = { f: record.aggregation.f, m: record.aggregation.m, centralNoiseMultiplier: record.central }
    const body: TxBody<'round.result'> = { round: record.round, model: file.cid, included, excluded: record.excluded, dp: record.dp, aggregation, transcriptHash: record.transcriptHash }
    const sealed = sealRound(record, sealingKey)
    return { response: { kind: 'aggregated', model: file.bytes, modelCid: file.cid, update: encodeUpdate(update), included, excluded: record.excluded, transcriptHash: record.transcriptHash, sealed }, body }
  }

  /** Signs, encodes and self-checks a transaction from this enclave (decodeTx: schema and canonical form). */
  private signedTx<T extends TxType>(chain: string, type: T, nonce: number, body: TxBody<T>): Uint8Array {
    const bytes = encodeTx(signTx(makeTx(chain, type, this.id.enclaveId, nonce, body), this.secretKey))
    const decoded = decodeTx(bytes)
    if (!bytesEqual(decoded.bytes, bytes)) throw new EnclaveServiceError('INTERNAL', `the ${type} transaction does not round-trip`)
    return bytes
  }

  /** Validates the request with the wire schema, then runs `fn` after every earlier operation. */
  private run<T, K extends Op>(op: K, request: unknown, fn: (req: z.output<(typeof RequestSchemas)[K]>) => T | Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      const parsed = RequestSchemas[op].safeParse(request)
      if (!parsed.success) throw bad(`bad ${op} request: ${describeIssues(parsed.error)}`)
      try {
        return await fn(parsed.data as z.output<(typeof RequestSchemas)[K]>)
      } catch (e) {
        throw asServiceError(e)
      }
    })
    this.queue = next.catch(() => undefined)
    return next
  }
}

function ledgerState(message: string): EnclaveServiceError {
  return new EnclaveServiceError('LEDGER_STATE', message)
}

/** What the round pipeline needs of a certified round. */
function spec(r: CertifiedRound): AggregateRoundInput['round'] {
  const { f, m, centralNoiseMultiplier } = r.aggregation
  return { id: r.id, aggregation: centralNoiseMultiplier === undefined ? { f, m } : { f, m, centralNoiseMultiplier }, training: r.training, steps: r.steps }
}

function uniqueMap(pairs: ReadonlyArray<[string, Uint8Array]>, what: string): Map<string, Uint8Array> {
  const map = new Map<string, Uint8Array>()
  for (const [member, value] of pairs) {
    if (map.has(member)) throw bad(`${what} lists '${member}' twice`)
    map.set(member, value)
  }
  return map
}
