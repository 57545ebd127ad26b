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
 * It answers for single state keys. Lists (all rounds, a page of members) are not
 * provable this way; a caller finds candidates with ApiClient and reads each one it
 * acts on through here.
 */
import { decodeCertificate, type CommitHeader } from '../../consensus/index.ts'
import type { LightClient } from '../../light/index.ts'
import { CodedError, decode } from '../../primitives/index.ts'
import type { Logger } from '../logger.ts'
import { ApiClient, ApiClientError, type CallOptions } from './client.ts'

/**
 * UNVERIFIED: no validator gave an answer that checks (the error a caller sees);
 * UNCERTIFIED and INCONSISTENT: what one validator's answer lacked (faults).
 */
export class VerifiedReadError extends CodedError<'UNVERIFIED' | 'UNCERTIFIED' | 'INCONSISTENT'> {}

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
}

const MAX_FAULTS = 100

export class VerifiedReader {
  private readonly light: LightClient
  private readonly logger: Logger
  private readonly validators: ReadonlyArray<{ api: string; client: ApiClient }>
  private current = 0
  /** the latest faults, oldest first (at most 100) */
  readonly faults: ValidatorFault[] = []

  constructor(components: VerifiedReaderComponents, options: VerifiedReaderOptions) {
    if (options.apis.length === 0) throw new ApiClientError('INVALID_ARGUMENT', 'a verified reader needs at least one validator API')
    this.light = components.light
    this.logger = components.logger
    this.validators = options.apis.map((api) => ({ api, client: new ApiClient({ apis: [api], timeoutMs: options.timeoutMs }) }))
  }

  /** The value at `key` in the newest certified state a validator proves. UNVERIFIED when none gives an answer that checks. */
  async read<T>(key: string, opts: CallOptions = {}): Promise<VerifiedRead<T>> {
    const failures: string[] = []
    for (let attempt = 0; attempt < this.validators.length; attempt++) {
      const { api, client } = this.validators[this.current]!
      try {
        return await this.readFrom<T>(client, key, opts)
      } catch (e) {
        if (opts.signal?.aborted) throw e
        const fault: ValidatorFault = { api, code: (e as { code?: unknown }).code === undefined ? 'INTERNAL' : String((e as { code: unknown }).code), message: (e as Error).message }
        this.faults.push(fault)
        if (this.faults.length > MAX_FAULTS) this.faults.shift()
        this.logger.warn({ validator: api, key, code: fault.code, err: fault.message }, 'a validator answered with something that does not verify; asking the next one')
        failures.push(`${api}: ${fault.code}: ${fault.message}`)
        this.current = (this.current + 1) % this.validators.length
      }
    }
    throw new VerifiedReadError('UNVERIFIED', `no validator gave a verifiable answer for '${key}': ${failures.join('; ')}`)
  }

  private async readFrom<T>(client: ApiClient, key: string, opts: CallOptions): Promise<VerifiedRead<T>> {
    const answer = await client.proof(key, opts)
    if (answer.certificate === null) throw new VerifiedReadError('UNCERTIFIED', `no commit certificate for height ${answer.height}`)
    const cert = decodeCertificate(answer.certificate)
    if (cert.header.height !== answer.height) throw new VerifiedReadError('INCONSISTENT', `the proof is said to be at height ${answer.height}, its certificate is for ${cert.header.height}`)
    await this.learnEpochs(client, cert.header.epoch, opts)
    const proven = this.light.verifyValue(cert, key, decode(answer.proof), { latest: true })
    return { key, value: proven.value === undefined ? undefined : decode<T>(proven.value), header: proven.header }
  }

  /** Verifies the epoch changes up to `epoch` that the light client does not know yet, from the same validator. */
  private async learnEpochs(client: ApiClient, epoch: number, opts: CallOptions): Promise<void> {
    for (let e = Math.max(...this.light.knownEpochs()) + 1; e <= epoch; e++) {
      const change = await client.epochChange(e, opts)
      if (change?.certificate == null) throw new VerifiedReadError('UNCERTIFIED', `answered for epoch ${epoch} but cannot prove how epoch ${e} began`)
      this.light.verifyEpochChange({ certificate: decodeCertificate(change.certificate), proof: decode(change.proof) })
    }
  }
}
