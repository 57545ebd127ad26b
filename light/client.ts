/**
 * The light client: what every party that does not run a validator uses to believe
 * the ledger (docs/ARCHITECTURE.md, "Certified state"). Its only trust anchor is the
 * genesis: the document a consortium signed off, pinned by its hash (the state root
 * at height 0). From there it verifies:
 *  - commit certificates: a quorum of the height's epoch validators signed the
 *    header (chain id, genesis hash, epoch, height, block, ledger block, state root);
 *  - epoch changes: the certificate of an epoch's last height and a proof, under
 *    its state root, of the validator set that the next epoch runs with;
 *  - values: a trie proof that a key holds a value (or is absent) under a
 *    certified root.
 * It keeps the highest header it verified, which only moves up: a `latest` answer
 * below it is a rollback and is refused. Pure: no I/O, no clock; the caller fetches
 * (from any validator, which it need not trust) and persists `state()` if it must
 * survive restarts.
 */
import { checkCertificate, ed25519Scheme, headersEqual, type CommitCertificate, type CommitHeader, type NetworkId, type QuorumScheme } from '../consensus/index.ts'
import { genesisState, StateKey, verifyProof, type ChainParams, type Genesis, type ValidatorSetRecord } from '../ledger/index.ts'
import { bytesEqual, CodedError, decode, toHex } from '../primitives/index.ts'

export type LightClientErrorCode =
  /** the genesis does not hash to the pinned hash, or a certificate is of another network */
  | 'WRONG_NETWORK'
  /** a certificate of an epoch whose validator set this client has not verified yet */
  | 'UNKNOWN_EPOCH'
  /** too few signers, a bad signature, or a header that contradicts itself */
  | 'BAD_CERTIFICATE'
  /** a trie proof that is malformed, or does not lead to the certified root, or is for another key */
  | 'BAD_PROOF'
  /** an answer about the latest state below what this client already verified */
  | 'ROLLBACK'
  /** two certificates of one height with different headers: the network's safety is broken */
  | 'CONFLICT'

export class LightClientError extends CodedError<LightClientErrorCode> {}

/** A validator set the client has verified, for one epoch. */
export interface TrustedSet {
  epoch: number
  validators: ReadonlyArray<{ id: string; publicKey: Uint8Array }>
}

/** What a light client must keep to resume where it stopped (DAG-CBOR-friendly). */
export interface LightClientState {
  sets: TrustedSet[]
  highest: CommitHeader | null
}

/** An epoch change as a validator serves it: the last height of `epoch` certified, and the next set proven under its root. */
export interface EpochChangeProof {
  certificate: CommitCertificate
  /** trie proof of the state key `validators` under the certificate's state root */
  proof: unknown
}

export interface VerifiedValue {
  header: CommitHeader
  key: string
  /** the DAG-CBOR bytes the key holds, or undefined when the proof shows it absent */
  value: Uint8Array | undefined
}

export class LightClient {
  readonly network: NetworkId
  readonly epochLength: number
  private readonly sets = new Map<number, { set: TrustedSet; scheme: QuorumScheme }>()
  private highest: CommitHeader | undefined

  private constructor(network: NetworkId, epochLength: number) {
    this.network = network
    this.epochLength = epochLength
  }

  /**
   * A client anchored in `genesis`. `pinnedHash` is the genesis hash the user got
   * out of band (from the consortium, not from a validator): the genesis must give
   * it, or the client refuses to start. `state` resumes an earlier client.
   */
  static fromGenesis(genesis: Genesis, pinnedHash: Uint8Array, state?: LightClientState): LightClient {
    const initial = genesisState(genesis)
    if (!bytesEqual(initial.root, pinnedHash)) {
      throw new LightClientError('WRONG_NETWORK', `the genesis hashes to ${toHex(initial.root)}, not to the pinned ${toHex(pinnedHash)}`)
    }
    const params = initial.get<ChainParams>(StateKey.params)!
    const client = new LightClient({ chain: params.chainId, genesis: initial.root }, params.epochLength)
    client.trust({ epoch: 0, validators: genesis.validators.map((v) => ({ id: v.id, publicKey: v.publicKey })) })
    if (state !== undefined) {
      for (const set of state.sets) if (set.epoch > 0) client.trust(set)
      if (state.highest !== null) client.highest = state.highest
    }
    return client
  }

  /** The epoch a height belongs to: epoch e holds heights e·L … (e+1)·L − 1. */
  epochOf(height: number): number {
    return Math.floor(height / this.epochLength)
  }

  /** The last height of `epoch`. */
  lastHeightOf(epoch: number): number {
    return (epoch + 1) * this.epochLength - 1
  }

  /** The highest header verified so far (undefined: none yet). */
  highestVerified(): CommitHeader | undefined {
    return this.highest
  }

  /** Whether the validator set of `epoch` is verified. */
  knowsEpoch(epoch: number): boolean {
    return this.sets.has(epoch)
  }

  /** The highest epoch whose validator set is verified. */
  highestEpoch(): number {
    return Math.max(...this.sets.keys())
  }

  /** The epochs whose validator sets are verified, ascending. */
  knownEpochs(): number[] {
    return [...this.sets.keys()].sort((a, b) => a - b)
  }

  state(): LightClientState {
    return { sets: this.knownEpochs().map((e) => this.sets.get(e)!.set), highest: this.highest ?? null }
  }

  /** Verifies a certificate for any height whose epoch set is known; raises the highest verified header. */
  verifyCommit(cert: CommitCertificate): CommitHeader {
    const h = cert.header
    const epoch = this.epochOf(h.height)
    if (h.epoch !== epoch) throw new LightClientError('BAD_CERTIFICATE', `height ${h.height} is in epoch ${epoch}, the header says ${h.epoch}`)
    const trusted = this.sets.get(epoch)
    if (trusted === undefined) throw new LightClientError('UNKNOWN_EPOCH', `height ${h.height} is in epoch ${epoch}; this client has verified the validators of epochs ${this.knownEpochs().join(', ')} only (verify the epoch changes first)`)
    const check = checkCertificate(cert, this.network, trusted.scheme)
    if (!check.ok) throw new LightClientError(check.reason.startsWith('certificate of') ? 'WRONG_NETWORK' : 'BAD_CERTIFICATE', `certificate for height ${h.height}: ${check.reason}`)
    if (this.highest !== undefined && this.highest.height === h.height && !headersEqual(this.highest, h)) {
      throw new LightClientError('CONFLICT', `two certified headers for height ${h.height} (state roots ${toHex(this.highest.stateRoot)} and ${toHex(h.stateRoot)}): the validators of epoch ${epoch} broke safety`)
    }
    if (this.highest === undefined || h.height > this.highest.height) this.highest = h
    return h
  }

  /**
   * Verifies an answer about the latest state: as verifyCommit, and refused with
   * ROLLBACK if below the highest header already verified (a validator that serves
   * an old state as the current one).
   */
  verifyLatest(cert: CommitCertificate): CommitHeader {
    if (this.highest !== undefined && cert.header.height < this.highest.height) {
      throw new LightClientError('ROLLBACK', `offered height ${cert.header.height} as the latest; this client has already verified height ${this.highest.height}`)
    }
    return this.verifyCommit(cert)
  }

  /** A value (or its absence) at `key`, proven under a certified root. */
  verifyValue(cert: CommitCertificate, key: string, proof: unknown, options: { latest?: boolean } = {}): VerifiedValue {
    const { header, values } = this.verifyValues(cert, [[key, proof]], options)
    return { header, key, value: values.get(key) }
  }

  /**
   * Several values (or absences) proven under one certified root: the certificate is
   * checked once, then each key's proof. Returns the header and the bytes each key
   * holds (undefined: proven absent), in the order given. BAD_PROOF names the first
   * key whose proof fails.
   */
  verifyValues(cert: CommitCertificate, entries: ReadonlyArray<readonly [string, unknown]>, options: { latest?: boolean } = {}): { header: CommitHeader; values: Map<string, Uint8Array | undefined> } {
    const header = options.latest === true ? this.verifyLatest(cert) : this.verifyCommit(cert)
    const values = new Map<string, Uint8Array | undefined>()
    for (const [key, proof] of entries) {
      if (values.has(key)) throw new LightClientError('BAD_PROOF', `'${key}' is proven twice`)
      let result
      try {
        result = verifyProof(header.stateRoot, key, proof)
      } catch (e) {
        throw new LightClientError('BAD_PROOF', `proof of '${key}' under the root of height ${header.height}: ${(e as Error).message}`, { cause: e })
      }
      values.set(key, result.included ? result.value : undefined)
    }
    return { header, values }
  }

  /**
   * Learns the validator set of the epoch after `change.certificate`'s: the
   * certificate must be of that epoch's last height, signed by its (known) set, and
   * the proof must show the set under its root. Returns the new set.
   */
  verifyEpochChange(change: EpochChangeProof): TrustedSet {
    const header = this.verifyCommit(change.certificate)
    const epoch = header.epoch
    if (header.height !== this.lastHeightOf(epoch)) throw new LightClientError('BAD_PROOF', `an epoch change is proven at epoch ${epoch}'s last height ${this.lastHeightOf(epoch)}, not at ${header.height}`)
    const { value } = this.verifyValue(change.certificate, StateKey.validators, change.proof)
    if (value === undefined) throw new LightClientError('BAD_PROOF', `the state after height ${header.height} holds no validator set`)
    let record: ValidatorSetRecord
    try {
      record = decode<ValidatorSetRecord>(value)
    } catch (e) {
      throw new LightClientError('BAD_PROOF', `the validator set after height ${header.height} does not decode: ${(e as Error).message}`, { cause: e })
    }
    const set: TrustedSet = { epoch: epoch + 1, validators: record.validators.map((v) => ({ id: v.id, publicKey: v.publicKey })) }
    this.trust(set)
    return set
  }

  private trust(set: TrustedSet): void {
    this.sets.set(set.epoch, { set, scheme: ed25519Scheme(set.validators.map((v) => v.publicKey)) })
  }
}
