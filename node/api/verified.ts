/**
 * VerifiedReader: reads ledger state from validators without trusting any of them
 * (DESIGN: "verify, don't trust"). Each answer is a value with its trie proof and
 * the commit certificate of the proof's height (GET /v1/proofs/{key}); the light
 * client (light/) checks the certificate against the validators of its epoch (learning
 * later epochs from GET /v1/epochs/{e} the same way) and the proof against the
 * certified root, and refuses a height below one it already verified. A validator
 * whose answer fails any check is logged with its URL and what was wrong, kept in
 * `faults`, and the next validator is asked.
 *
 * It answers for state keys, one (`read`) or several at one height (`readMany`).
 * Lists (all rounds, a page of members) are not provable this way; a caller finds
 * candidates with ApiClient and reads each one it acts on through here.
 */
import { decodeCertificate, type CommitCertificate, type CommitHeader } from '../../consensus/index.ts'
import type { LightClient } from '../../light/index.ts'
import { StateKey, type LedgerState } from '../../ledger/index.ts'
import { CodedError, decode } from '../../primitives/index.ts'
import type { Logger } from '../logger.ts'
import { ApiClient, ApiClientError, type CallOptions } from './client.ts'

/**
 * UNVERIFIED: no validator gave an answer that checks (the error a caller sees);
 * UNCERTIFIED and INCONSISTENT: what one validator's answer lacked (faults).
 */
export class VerifiedReadError extends CodedError<'UNVERIFIED' | 'UNCERTIFIED' | 'INCONSISTENT' | 'ROLLBACK'> {}

/** How far below the highest height it verified a reader takes an answer as the newest (honest validators certify a height or two apart). */
export const DEFAULT_MAX_LAG_HEIGHTS = 2

/** What one validator answered that did not verify. */
export interface ValidatorFault {
  api: string
  /** the light client's code (BAD_PROOF, BAD_CERTIFICATE, ROLLBACK, …), UNCERTIFIED, INCONSISTENT, the wire's (malformed) or the API client's (UNREACHABLE, API, BAD_ANSWER, …) */
  code: string
  message: string
}

export interface VerifiedRead<T> {
  key: string
  /** the value, decoded from DAG-CBOR; undefined when the proof shows the key absent */
  value: T | undefined
  /** the certified header the value was proven under */
  header: CommitHeader
}

export interface VerifiedReaderComponents {
  light: LightClient
  logger: Logger
}

export interface VerifiedReaderOptions {
  apis: readonly string[]
  /** per request, default 5 s */
  timeoutMs?: number
  /**
   * An answer about the newest state may be this many heights below the highest this
   * reader has verified (a validator that certifies a little later is honest); further
   * below is a rollback, refused and logged. Default DEFAULT_MAX_LAG_HEIGHTS.
   */
  maxLagHeights?: number
}

const MAX_FAULTS = 100

/** A whole state, verified against a certified root (VerifiedReader.syncState). */
export interface SyncedState {
  header: CommitHeader
  /** the certificate as it travels */
  certificate: Uint8Array
  state: LedgerState
  /** size of the snapshot as fetched */
  bytes: number
}

/** Several keys read at one certified height. */
export class VerifiedReads {
  readonly header: CommitHeader
  /** the certificate and proofs as they travel (verified), for a caller that relays them to another verifier */
  readonly raw: { certificate: Uint8Array; proofs: Array<[string, Uint8Array]> }
  private readonly values: ReadonlyMap<string, Uint8Array | undefined>

  constructor(header: CommitHeader, values: ReadonlyMap<string, Uint8Array | undefined>, raw: VerifiedReads['raw']) {
    this.header = header
    this.values = values
    this.raw = raw
  }

  /** The decoded value at `key` (undefined: proven absent). Throws for a key that was not read. */
  get<T>(key: string): T | undefined {
    if (!this.values.has(key)) throw new VerifiedReadError('INCONSISTENT', `'${key}' was not read`)
    const raw = this.values.get(key)
    return raw === undefined ? undefined : decode<T>(raw)
  }
}

export class VerifiedReader {
  private readonly light: LightClient
  private readonly logger: Logger
  private readonly validators: ReadonlyArray<{ api: string; client: ApiClient }>
  private current = 0
  private readonly maxLag: number
  /** epoch changes verified, as they travel, by epoch */
  private readonly epochChanges = new Map<number, [Uint8Array, Uint8Array]>()
  /** the latest faults, oldest first (at most 100) */
  readonly faults: ValidatorFault[] = []

  constructor(components: VerifiedReaderComponents, options: VerifiedReaderOptions) {
    if (options.apis.length === 0) throw new ApiClientError('INVALID_ARGUMENT', 'a verified reader needs at least one validator API')
    this.light = components.light
    this.logger = components.logger
    this.validators = options.apis.map((api) => ({ api, client: new ApiClient({ apis: [api], timeoutMs: options.timeoutMs }) }))
    this.maxLag = options.maxLagHeights ?? DEFAULT_MAX_LAG_HEIGHTS
  }

  /** The value at `key` in the newest certified state a validator proves. UNVERIFIED when none gives an answer that checks. */
  async read<T>(key: string, opts: CallOptions = {}): Promise<VerifiedRead<T>> {
    return this.ask(`'${key}'`, (client) => this.readFrom<T>(client, key, opts), opts)
  }

  /**
   * The values at `keys`, all in one certified state (POST /v1/proofs: one certificate,
   * checked once): a caller that acts on several facts together sees them as of one
   * height. Keys are read in the order given; UNVERIFIED when no validator gives an
   * answer that checks.
   */
  async readMany(keys: readonly string[], opts: CallOptions & { height?: number } = {}): Promise<VerifiedReads> {
    return this.ask(`${keys.length} keys`, (client) => this.readManyFrom(client, keys, opts), opts)
  }

  /**
   * readMany from f+1 validators (f = ⌊(n−1)/3⌋ of the n this reader knows), each
   * answer verified, and the one of the highest height returned: at least one honest
   * validator is among them, so a liar cannot hold the caller on an old (genuinely
   * certified) state. For facts a caller acts on irrevocably (a bank sending its update).
   * UNVERIFIED unless f+1 validators give answers that check.
   */
  async readFresh(keys: readonly string[], opts: CallOptions = {}): Promise<VerifiedReads> {
    const n = this.validators.length
    const needed = Math.min(n, Math.floor((n - 1) / 3) + 1)
    const answers: VerifiedReads[] = []
    const failures: string[] = []
    for (let i = 0; i < n && answers.length < needed; i++) {
      const { api, client } = this.validators[(this.current + i) % n]!
      try {
        answers.push(await this.readManyFrom(client, keys, opts))
      } catch (e) {
        if (opts.signal?.aborted) throw e
        failures.push(`${api}: ${this.fault(api, `${keys.length} keys (fresh)`, e).code}`)
      }
    }
    if (answers.length < needed) throw new VerifiedReadError('UNVERIFIED', `${needed} validators must answer for fresh facts, ${answers.length} gave verifiable answers: ${failures.join('; ')}`)
    return answers.reduce((a, b) => (b.header.height > a.header.height ? b : a))
  }

  /**
   * State sync: the whole ledger state at the newest certified height a validator
   * holds a snapshot of, checked against that height's certified root before it is
   * returned (a snapshot whose entries do not rebuild the certified root is a fault,
   * and the next validator is asked). What a new node starts from instead of replaying
   * blocks older than its peers keep.
   */
  async syncState(opts: CallOptions & { timeoutMs?: number; maxBytes?: number } = {}): Promise<SyncedState> {
    return this.ask('a certified state snapshot', async (client) => {
      const at = await this.readManyFrom(client, [StateKey.params], opts)
      const snapshot = await client.snapshot(at.header.height, { ...opts, expectedRoot: at.header.stateRoot })
      return { header: at.header, certificate: at.raw.certificate, state: snapshot.state, bytes: snapshot.bytes }
    }, opts)
  }

  /** Asks the current validator, then each next one, until an answer verifies; a validator whose answer does not is logged and kept in `faults`. */
  private async ask<R>(what: string, fromOne: (client: ApiClient) => Promise<R>, opts: CallOptions): Promise<R> {
    const failures: string[] = []
    for (let attempt = 0; attempt < this.validators.length; attempt++) {
      const { api, client } = this.validators[this.current]!
      try {
        return await fromOne(client)
      } catch (e) {
        if (opts.signal?.aborted) throw e
        const fault = this.fault(api, what, e)
        failures.push(`${api}: ${fault.code}: ${fault.message}`)
        this.current = (this.current + 1) % this.validators.length
      }
    }
    throw new VerifiedReadError('UNVERIFIED', `no validator gave a verifiable answer for ${what}: ${failures.join('; ')}`)
  }

  /** Records and logs what a validator got wrong. */
  private fault(api: string, what: string, e: unknown): ValidatorFault {
    const fault: ValidatorFault = { api, code: (e as { code?: unknown }).code === undefined ? 'INTERNAL' : String((e as { code: unknown }).code), message: (e as Error).message }
    this.faults.push(fault)
    if (this.faults.length > MAX_FAULTS) this.faults.shift()
    this.logger.warn({ validator: api, read: what, code: fault.code, err: fault.message }, 'a validator answered with something that does not verify; asking the next one')
    return fault
  }

  private async readFrom<T>(client: ApiClient, key: string, opts: CallOptions): Promise<VerifiedRead<T>> {
    const answer = await client.proof(key, opts)
    const cert = await this.certificate(client, answer.height, answer.certificate, opts)
    this.notRolledBack(cert.header.height)
    const proven = this.light.verifyValue(cert, key, decode(answer.proof))
    return { key, value: proven.value === undefined ? undefined : decode<T>(proven.value), header: proven.header }
  }

  private async readManyFrom(client: ApiClient, keys: readonly string[], opts: CallOptions & { height?: number }): Promise<VerifiedReads> {
    const answer = await client.proofs([...keys], opts)
    if (opts.height !== undefined && answer.height !== opts.height) throw new VerifiedReadError('INCONSISTENT', `asked for height ${opts.height}, answered for ${answer.height}`)
    const cert = await this.certificate(client, answer.height, answer.certificate, opts)
    if (opts.height === undefined) this.notRolledBack(cert.header.height)
    const { header, values } = this.light.verifyValues(cert, answer.proofs.map((p) => [p.key, decode(p.proof)] as const))
    return new VerifiedReads(header, values, { certificate: answer.certificate!, proofs: answer.proofs.map((p) => [p.key, p.proof]) })
  }

  /** ROLLBACK when `height`, offered as the newest, is more than maxLag below the highest this reader verified. */
  private notRolledBack(height: number): void {
    const highest = this.light.highestVerified()?.height ?? 0
    if (highest - height > this.maxLag) throw new VerifiedReadError('ROLLBACK', `offered height ${height} as the newest; this reader has already verified height ${highest}`)
  }

  /** The answer's certificate, decoded, for the height the answer names, with the epochs up to it learned. */
  private async certificate(client: ApiClient, height: number, bytes: Uint8Array | null, opts: CallOptions): Promise<CommitCertificate> {
    if (bytes === null) throw new VerifiedReadError('UNCERTIFIED', `no commit certificate for height ${height}`)
    const cert = decodeCertificate(bytes)
    if (cert.header.height !== height) throw new VerifiedReadError('INCONSISTENT', `the proof is said to be at height ${height}, its certificate is for ${cert.header.height}`)
    await this.learnEpochs(client, cert.header.epoch, opts)
    return cert
  }

  /** Verifies the epoch changes up to `epoch` that the light client does not know yet, from the same validator. */
  private async learnEpochs(client: ApiClient, epoch: number, opts: CallOptions): Promise<void> {
    for (let e = Math.max(...this.light.knownEpochs()) + 1; e <= epoch; e++) await this.fetchEpochChange(client, e, opts)
  }

  /** How epoch `e` began, from `client`, verified (the light client learns its set) and kept as it travels. */
  private async fetchEpochChange(client: ApiClient, e: number, opts: CallOptions): Promise<[Uint8Array, Uint8Array]> {
    const change = await client.epochChange(e, opts)
    if (change?.certificate == null) throw new VerifiedReadError('UNCERTIFIED', `cannot prove how epoch ${e} began`)
    this.light.verifyEpochChange({ certificate: decodeCertificate(change.certificate), proof: decode(change.proof) })
    const raw: [Uint8Array, Uint8Array] = [change.certificate, change.proof]
    this.epochChanges.set(e, raw)
    return raw
  }

  /**
   * How epochs `from` … `to` began, as they travel (certificate, proof), each verified:
   * what a caller relays to another verifier, such as an enclave, that learns epochs
   * the same way. Those this reader has not kept are fetched (failing over).
   */
  async relayEpochChanges(from: number, to: number, opts: CallOptions = {}): Promise<Array<[Uint8Array, Uint8Array]>> {
    const out: Array<[Uint8Array, Uint8Array]> = []
    for (let e = Math.max(1, from); e <= to; e++) {
      const kept = this.epochChanges.get(e)
      out.push(kept ?? (await this.ask(`how epoch ${e} began`, (client) => this.fetchEpochChange(client, e, opts), opts)))
    }
    return out
  }
}
