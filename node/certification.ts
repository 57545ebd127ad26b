/**
 * Certification: the validator's side of commit certificates (consensus/commits.ts).
 * After the app executes a committed height, the driver hands its header here; this
 * signs it and sends the vote, with the others of the last 500 ms, to the epoch's
 * other validators on `/fedledger/<chain>/commit/1`, counts theirs, and records every certificate in
 * the consensus store. Votes travel outside the consensus queue: certifying is
 * never on a view's critical path.
 *
 * A certificate whose header differs from the one this validator executed is a
 * `StateDivergenceError`: `onDiverged` stops the node (it must not vote on a chain
 * whose state it computes differently). A height this validator executed but could
 * not certify (it was down while the others voted, or restarted) is fetched from a
 * peer with a `commit-request`, and the answer is checked like any vote.
 */
import {
  CommitCertifier, decodeCommitMessage, describeHeader, encodeCommitMessage, MAX_COMMIT_BATCH, StateDivergenceError, WireError,
  type CertifierEvent, type CommitCertificate, type CommitHeader, type CommitMessage, type CommitVote, type EpochKeys, type EpochSetup, type NetworkId, type QuorumSigner,
} from '../consensus/index.ts'
import { encode } from '../primitives/index.ts'
import type { NodeMetrics } from './api/index.ts'
import type { ConsensusStore } from './consensus-store.ts'
import type { Logger } from './logger.ts'
import type { P2PHost } from './p2p/index.ts'

export function commitProtocol(chainId: string): string {
  return `/fedledger/${chainId}/commit/1`
}

/** A commit message is small: a header, a bitmap and n signatures (a response holds up to MAX_COMMIT_BATCH). */
const MAX_COMMIT_MESSAGE_BYTES = 1024 * 1024
/** how long an executed height may wait for its certificate before peers are asked for it */
const FETCH_AFTER_MS = 2_000

export interface CertificationComponents {
  /** this node's peer id, and its signer at a validator index (the key is the same in every epoch) */
  self: string
  signer(index: number): QuorumSigner
  host: Pick<P2PHost, 'handle' | 'send' | 'request' | 'penalise'>
  store: Pick<ConsensusStore, 'saveCertificates' | 'certificate' | 'certificatesFrom' | 'lastCertifiedHeight'>
  metrics?: Pick<NodeMetrics, 'setCertifiedHeight'>
  logger: Logger
  now(): number
  /** a quorum certified a state this validator did not compute: stop voting and halt */
  onDiverged(error: StateDivergenceError): void
}

/** What this node's execution of one height gave; the network's chain id and genesis hash complete the header. */
export type ExecutedHeight = Omit<CommitHeader, 'chain' | 'genesis'>

export interface CertificationOptions {
  network: NetworkId
  /** how often to look for executed heights still without a certificate (ms; 0: never) */
  fetchIntervalMs?: number
  /** how long this node's votes wait to travel together (ms) */
  voteBatchMs?: number
}

interface EpochPeers {
  keys: EpochKeys
  /** the epoch's validators' peer ids, in index order */
  validators: readonly string[]
}

export class Certification {
  private readonly components: CertificationComponents
  private readonly chainId: string
  private readonly network: NetworkId
  private readonly fetchIntervalMs: number
  private readonly certifier: CommitCertifier
  private readonly epochs = new Map<number, EpochPeers>()
  /** executed heights without a certificate yet → when they were executed (ms) */
  private readonly waiting = new Map<number, number>()
  /** certificates formed and not yet written (written in one batch at a time) */
  private unsaved: CommitCertificate[] = []
  /** certificates formed here that may not be in the store yet (served from memory until their write lands) */
  private readonly recent = new Map<number, CommitCertificate>()
  private writing: Promise<void> = Promise.resolve()
  private ticker: ReturnType<typeof setInterval> | undefined
  /** this node's votes not sent yet, and the timer that sends them */
  private readonly outbox: CommitVote[] = []
  private flushTimer: ReturnType<typeof setTimeout> | undefined
  private readonly voteBatchMs: number
  private unhandle: (() => void) | undefined
  private certified = 0
  private halted = false

  constructor(components: CertificationComponents, options: CertificationOptions) {
    this.components = components
    this.network = options.network
    this.chainId = options.network.chain
    this.fetchIntervalMs = options.fetchIntervalMs ?? 1_000
    this.voteBatchMs = options.voteBatchMs ?? 500
    this.certifier = new CommitCertifier({ network: options.network })
  }

  async start(): Promise<void> {
    this.certified = await this.components.store.lastCertifiedHeight()
    this.components.metrics?.setCertifiedHeight(this.certified)
    this.unhandle = this.components.host.handle(commitProtocol(this.chainId), (from, data) => this.onMessage(from, data))
    if (this.fetchIntervalMs > 0) this.ticker = setInterval(() => void this.fetchMissing(), this.fetchIntervalMs)
  }

  /** Stops taking messages; waits for the certificates formed so far to be written. */
  async stop(): Promise<void> {
    clearInterval(this.ticker)
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    this.unhandle?.()
    this.unhandle = undefined
    await this.flush()
  }

  /** The highest certified height this node holds. */
  certifiedHeight(): number {
    return this.certified
  }

  /** The certificate of `height`, if this node holds it (formed here or fetched). */
  async certificate(height: number): Promise<CommitCertificate | undefined> {
    return this.recent.get(height) ?? (await this.components.store.certificate(height))
  }

  /** An epoch's validators and keys: from then on its votes are counted (and signed, if this node is one of them). */
  addEpoch(setup: EpochSetup): void {
    const index = setup.validators.indexOf(this.components.self)
    const keys: EpochKeys = { epoch: setup.epoch, scheme: setup.scheme, signer: index < 0 ? null : this.components.signer(index), firstHeight: setup.genesis.height + 1, lastHeight: setup.lastHeight }
    const validators = setup.validators
    this.epochs.set(keys.epoch, { keys, validators })
    for (const e of this.epochs.keys()) if (e < keys.epoch - 1) this.epochs.delete(e)
    this.certifier.addEpoch(keys)
  }

  /** This node executed a height: sign its header, send the vote to the epoch's other validators. */
  executed(executed: ExecutedHeight): void {
    if (this.halted) return
    const header: CommitHeader = { chain: this.network.chain, genesis: this.network.genesis, ...executed }
    this.waiting.set(header.height, this.components.now())
    const { vote, events } = this.certifier.executed(header)
    if (vote !== undefined) {
      this.outbox.push(vote)
      if (this.outbox.length >= MAX_COMMIT_BATCH) this.sendVotes()
      else this.flushTimer ??= setTimeout(() => this.sendVotes(), this.voteBatchMs)
    }
    this.apply(events)
    if (!this.certifier.awaiting(header.height)) this.waiting.delete(header.height)
  }

  /**
   * Sends the votes waiting in the outbox: one message per validator of each epoch
   * they are for. Votes travel in batches (every voteBatchMs, 500 ms by default) because each message
   * costs a libp2p stream: one per height and peer cost a fifth to two fifths of workload A's
   * throughput (BENCHMARKS.md).
   */
  private sendVotes(): void {
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    const byEpoch = Map.groupBy(this.outbox.splice(0), (v) => v.header.epoch)
    for (const [epoch, votes] of byEpoch) {
      const peers = this.epochs.get(epoch)
      if (peers === undefined) continue
      const bytes = encodeCommitMessage({ kind: 'commit-votes', votes })
      const self = votes[0]!.voter
      peers.validators.forEach((peer, i) => {
        if (i !== self) void this.components.host.send(peer, commitProtocol(this.chainId), bytes)
      })
    }
  }

  /** Waits until every certificate formed so far is durable. */
  async flush(): Promise<void> {
    while (this.unsaved.length > 0) await this.writeBatch()
    await this.writing
  }

  /** Writes what is unsaved as one batch; the certificates stay served from memory until it lands. */
  private async writeBatch(): Promise<void> {
    const batch = this.unsaved.splice(0)
    if (batch.length === 0) return
    await this.components.store.saveCertificates(batch)
    for (const c of batch) if (this.recent.get(c.header.height) === c) this.recent.delete(c.header.height)
  }

  private async onMessage(from: string, data: Uint8Array): Promise<Uint8Array | undefined> {
    let message: CommitMessage
    try {
      message = decodeCommitMessage(data, { maxMessageBytes: MAX_COMMIT_MESSAGE_BYTES })
    } catch (e) {
      this.components.host.penalise(from, `commit: ${e instanceof WireError ? e.message : String(e)}`)
      return undefined
    }
    switch (message.kind) {
      case 'commit-votes': {
        for (const vote of message.votes) {
          const peers = this.epochs.get(vote.header.epoch)
          if (peers !== undefined && peers.validators[vote.voter] !== from) {
            this.components.host.penalise(from, `commit: vote signed as validator ${vote.voter}, which is not the sender`)
            return undefined
          }
          const { verdict, events } = this.certifier.receive(vote)
          if (!verdict.ok && verdict.action === 'reject') {
            this.components.host.penalise(from, `commit: ${verdict.detail}`)
            return undefined
          }
          this.apply(events)
        }
        return undefined
      }
      case 'commit-request': {
        await this.flush()
        const held = await this.components.store.certificatesFrom(message.from, Math.min(message.count, MAX_COMMIT_BATCH))
        // as many as fit in a message the asker accepts (large validator sets make large certificates)
        const certificates: CommitCertificate[] = []
        let bytes = 64
        for (const c of held) {
          bytes += encode(c).length
          if (bytes > MAX_COMMIT_MESSAGE_BYTES && certificates.length > 0) break
          certificates.push(c)
        }
        return encodeCommitMessage({ kind: 'commit-response', certificates })
      }
      case 'commit-response':
        // responses arrive as answers to our requests (fetchMissing), never unasked
        this.components.host.penalise(from, 'commit: unsolicited commit-response')
        return undefined
    }
  }

  /** Asks one validator for the certificates of executed heights that have waited longer than FETCH_AFTER_MS. */
  private async fetchMissing(): Promise<void> {
    if (this.halted) return
    const now = this.components.now()
    for (const h of this.waiting.keys()) if (!this.certifier.awaiting(h)) this.waiting.delete(h)
    const late = [...this.waiting].filter(([, at]) => now - at >= FETCH_AFTER_MS).map(([h]) => h).sort((a, b) => a - b)
    if (late.length === 0) return
    const from = late[0]!
    const count = Math.min(MAX_COMMIT_BATCH, late.at(-1)! - from + 1)
    const candidates = [...this.epochs.values()].flatMap((e) => e.validators.filter((_, i) => i !== e.keys.signer?.index))
    if (candidates.length === 0) return
    const peer = candidates[Math.floor(now / this.fetchIntervalMs) % candidates.length]!
    let answer: CommitMessage
    try {
      answer = decodeCommitMessage(await this.components.host.request(peer, commitProtocol(this.chainId), encodeCommitMessage({ kind: 'commit-request', from, count })), { maxMessageBytes: MAX_COMMIT_MESSAGE_BYTES })
    } catch (e) {
      // an oversized answer may be honest (an older node, a large set): only malformed bytes are an offence
      if (e instanceof WireError && e.code === 'malformed') this.components.host.penalise(peer, `commit: ${e.message}`)
      this.components.logger.debug({ peer, from, count, err: (e as Error).message }, 'commit certificate request failed')
      return
    }
    if (answer.kind !== 'commit-response') {
      this.components.host.penalise(peer, `commit: answered a commit-request with a ${answer.kind}`)
      return
    }
    for (const cert of answer.certificates) {
      const { verdict, events } = this.certifier.receiveCertificate(cert)
      if (!verdict.ok && verdict.action === 'reject') {
        this.components.host.penalise(peer, `commit: ${verdict.detail}`)
        this.components.logger.warn({ peer, height: cert.header.height, detail: verdict.detail }, 'a peer served an invalid commit certificate')
        return
      }
      this.apply(events)
    }
  }

  private apply(events: readonly CertifierEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case 'certified':
          this.onCertified(e.certificate)
          break
        case 'disagreement':
          this.components.logger.warn({ voter: e.voter, height: e.local.height, local: describeHeader(e.local), theirs: describeHeader(e.theirs) }, 'a validator signed a different state for a height this node executed')
          break
        case 'diverged': {
          if (this.halted) break
          this.halted = true
          clearInterval(this.ticker)
          clearTimeout(this.flushTimer)
          const error = new StateDivergenceError(e.height, e.local, e.certified)
          this.components.logger.error({ code: error.code, height: e.height, local: describeHeader(e.local), certified: describeHeader(e.certified) }, error.message)
          this.components.onDiverged(error)
          break
        }
      }
    }
  }

  private onCertified(cert: CommitCertificate): void {
    const height = cert.header.height
    this.waiting.delete(height)
    if (height > this.certified) {
      this.certified = height
      this.components.metrics?.setCertifiedHeight(height)
    }
    this.recent.set(height, cert)
    this.unsaved.push(cert)
    // one write in flight at a time; certificates formed meanwhile go in the next batch
    this.writing = this.writing
      .then(() => this.writeBatch())
      .catch((e: unknown) => this.components.logger.error({ err: (e as Error).message }, 'could not record commit certificates'))
  }
}
