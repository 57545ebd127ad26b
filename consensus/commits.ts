/**
 * Commit certificates: the state after each committed height, signed by a quorum
 * of the validators of the block's epoch (docs/ARCHITECTURE.md §3, "Certified
 * state"). Execution is decoupled from ordering, as in Aptos' LedgerInfo: once a
 * validator has executed committed height h it signs a `CommitHeader` (chain id
 * and genesis hash, epoch, height, consensus block id, the ledger block's CID, the
 * state root after h) and sends that commit vote to the epoch's other validators; 2f+1 matching
 * votes form the height's `CommitCertificate`, which anyone holding the epoch's
 * validator keys can check without the block, the state or the node that served
 * it.
 *
 * `CommitCertifier` is the pure part a validator runs: it signs its own headers,
 * checks and counts the votes of others, and reports a certificate once formed, or
 * a divergence when a quorum certified a header for a height that differs from
 * what this validator executed (its execution is wrong, or the quorum's is: either
 * way it must stop voting). No clock, no I/O; the node carries out what it returns.
 */
import { bytesEqual, CodedError, DomainTag, encode, taggedBytes, toHex, type CID } from '../primitives/index.ts'
import { bitmapWellFormed, signersOf, type QuorumScheme, type QuorumSigner } from './crypto.ts'
import { quorumSize } from './genesis.ts'
import { hashKey } from './signing.ts'
import type { AggregateSignature, Hash, ValidatorIndex } from './types.ts'

/** What a commit certificate binds: one committed height and the state after it. */
export interface CommitHeader {
  /** the chain id, as the genesis names it */
  chain: string
  /** the network's genesis hash (the state root at height 0): a certificate of one network never passes on another, even one with the same chain id and keys */
  genesis: Hash
  /** the epoch of the block; its validators sign */
  epoch: number
  height: number
  /** the consensus block's id (what QCs name) */
  block: Hash
  /** the CID of the ledger's block at this height (its transactions and time); null for an app without one */
  ledgerBlock: CID | null
  /** the application's state root after executing the block */
  stateRoot: Hash
}

/** One validator's signature over a header. */
export interface CommitVote {
  kind: 'commit-vote'
  header: CommitHeader
  voter: ValidatorIndex
  signature: Uint8Array
}

/** A quorum of the epoch's validators signed `header`. */
export interface CommitCertificate {
  header: CommitHeader
  signatures: AggregateSignature
}

/** A validator's votes for the heights it executed lately, sent to the epoch's other validators in one message. */
export interface CommitVotes {
  kind: 'commit-votes'
  votes: CommitVote[]
}

/** Asks a validator for the certificates of `count` heights from `from` (a node that missed the votes). */
export interface CommitRequest {
  kind: 'commit-request'
  from: number
  count: number
}

export interface CommitResponse {
  kind: 'commit-response'
  certificates: CommitCertificate[]
}

export type CommitMessage = CommitVotes | CommitRequest | CommitResponse

/**
 * This validator's execution of a committed height differs from what a quorum of
 * its epoch certified. Fatal: the validator stops voting and halts, and its
 * operator must find out why (a different build, corrupted state, nondeterminism)
 * before it rejoins from a certified snapshot.
 */
export class StateDivergenceError extends CodedError<'STATE_DIVERGED'> {
  readonly height: number
  readonly local: CommitHeader
  readonly certified: CommitHeader

  constructor(height: number, local: CommitHeader, certified: CommitHeader) {
    super('STATE_DIVERGED', `execution diverged at height ${height}: this validator computed state root ${toHex(local.stateRoot)}, a quorum certified ${toHex(certified.stateRoot)} (local ${describeHeader(local)}; certified ${describeHeader(certified)})`)
    this.height = height
    this.local = local
    this.certified = certified
  }
}

const encodings = new WeakMap<CommitHeader, Uint8Array>()

/** DAG-CBOR of a header, cached per header object (headers are never mutated; a header is encoded for signing, grouping and comparing). */
function encoded(header: CommitHeader): Uint8Array {
  let bytes = encodings.get(header)
  if (bytes === undefined) encodings.set(header, (bytes = encode(header)))
  return bytes
}

/** The bytes a commit vote signs: its own domain tag, so it can never pass for a consensus vote. */
export function commitMessage(header: CommitHeader): Uint8Array {
  return taggedBytes(DomainTag.CONSENSUS_COMMIT, encoded(header))
}

/** A header's identity, for grouping votes (the canonical encoding's hex). */
export function headerKey(header: CommitHeader): string {
  return hashKey(encoded(header))
}

export function headersEqual(a: CommitHeader, b: CommitHeader): boolean {
  return a === b || bytesEqual(encoded(a), encoded(b))
}

/** A readable one-line form of a header, for logs and errors. */
export function describeHeader(h: CommitHeader): string {
  return `height ${h.height} (epoch ${h.epoch}) block ${toHex(h.block).slice(0, 16)}… ledger block ${h.ledgerBlock?.toString() ?? 'none'} root ${toHex(h.stateRoot)}`
}

export type CertificateCheck = { ok: true } | { ok: false; reason: string }

/** Which network a party trusts: its chain id and genesis hash. */
export interface NetworkId {
  chain: string
  genesis: Hash
}

/** Why a header is not of `network` (undefined: it is). */
export function foreignHeader(header: CommitHeader, network: NetworkId): string | undefined {
  if (header.chain !== network.chain) return `certificate of chain '${header.chain}', expected '${network.chain}'`
  if (!bytesEqual(header.genesis, network.genesis)) return `certificate of genesis ${toHex(header.genesis).slice(0, 16)}…, expected ${toHex(network.genesis).slice(0, 16)}…`
  return undefined
}

/**
 * Checks a certificate against the validator set of its epoch: a well-formed signer
 * bitmap, at least a quorum of signers, and every signature valid over the header.
 * `network` is the one the caller trusts (from its genesis); a certificate of another
 * network is refused even if the keys are the same.
 */
export function checkCertificate(cert: CommitCertificate, network: NetworkId, scheme: QuorumScheme): CertificateCheck {
  const foreign = foreignHeader(cert.header, network)
  if (foreign !== undefined) return { ok: false, reason: foreign }
  const { signers } = cert.signatures
  if (!bitmapWellFormed(signers, scheme.size)) return { ok: false, reason: `signer bitmap is not ${Math.ceil(scheme.size / 8)} bytes for ${scheme.size} validators` }
  const count = signersOf(signers, scheme.size).length
  const quorum = quorumSize(scheme.size)
  if (count < quorum) return { ok: false, reason: `${count} signers, a quorum is ${quorum} of ${scheme.size}` }
  if (!scheme.verifyAggregate(commitMessage(cert.header), cert.signatures)) return { ok: false, reason: 'a signature does not verify over the header' }
  return { ok: true }
}

/** Why `header` cannot be of its epoch (undefined: it can). */
function outsideEpoch(header: CommitHeader, keys: EpochKeys): string | undefined {
  if (header.height >= keys.firstHeight && header.height <= keys.lastHeight) return undefined
  return `height ${header.height} is not in epoch ${keys.epoch} (heights ${keys.firstHeight} to ${keys.lastHeight})`
}

/** What the node should do after handing the certifier a header or a vote. */
export type CertifierEvent =
  | { type: 'certified'; certificate: CommitCertificate }
  /** a quorum certified `certified` for a height where this validator executed `local`: stop voting, halt */
  | { type: 'diverged'; height: number; local: CommitHeader; certified: CommitHeader }
  /** one validator signed a header that differs from this validator's (no quorum for it yet): worth a warning */
  | { type: 'disagreement'; voter: ValidatorIndex; local: CommitHeader; theirs: CommitHeader }

export type VoteVerdict = { ok: true } | { ok: false; action: 'reject' | 'ignore'; detail: string }

export interface EpochKeys {
  epoch: number
  scheme: QuorumScheme
  /** this validator's signer in the epoch, if it is one of its validators */
  signer: QuorumSigner | null
  /** the epoch's heights: a header of this epoch for any other height is refused (Infinity: it does not end) */
  firstHeight: number
  lastHeight: number
}

export interface CertifierOptions {
  network: NetworkId
  /** votes for heights more than this far above the highest executed are ignored (bounds memory against a lying peer) */
  maxHeightsAhead?: number
}

interface Pending {
  local: CommitHeader | undefined
  /** header key → voter → signature */
  votes: Map<string, { header: CommitHeader; signatures: Map<ValidatorIndex, Uint8Array> }>
  /** voters already counted at this height (one header per voter per height) */
  voted: Set<ValidatorIndex>
  certificate: CommitCertificate | undefined
}

export class CommitCertifier {
  private readonly network: NetworkId
  private readonly maxHeightsAhead: number
  private readonly epochs = new Map<number, EpochKeys>()
  /** heights with votes or a local header and no local header matched to a certificate yet */
  private readonly pending = new Map<number, Pending>()
  private executedHeight = 0

  constructor(options: CertifierOptions) {
    this.network = options.network
    this.maxHeightsAhead = options.maxHeightsAhead ?? 1000
  }

  /** Makes an epoch's keys known (the current one, and the one before while its last votes arrive). Keeps the last two. */
  addEpoch(keys: EpochKeys): void {
    this.epochs.set(keys.epoch, keys)
    for (const e of this.epochs.keys()) if (e < keys.epoch - 1) this.epochs.delete(e)
  }

  /** Whether this validator executed `height` and holds no certificate for it yet (it may ask peers for one). */
  awaiting(height: number): boolean {
    const p = this.pending.get(height)
    return p !== undefined && p.local !== undefined && p.certificate === undefined
  }

  /**
   * This validator executed `header.height`: returns its signed vote (to send to the
   * epoch's other validators; none if it is not one of them) and what follows from
   * votes or a certificate already held for the height.
   */
  executed(header: CommitHeader): { vote: CommitVote | undefined; events: CertifierEvent[] } {
    this.executedHeight = Math.max(this.executedHeight, header.height)
    const p = this.slot(header.height)
    p.local = header
    const keys = this.epochs.get(header.epoch)
    let vote: CommitVote | undefined
    const events: CertifierEvent[] = []
    if (keys?.signer != null) {
      vote = { kind: 'commit-vote', header, voter: keys.signer.index, signature: keys.signer.sign(commitMessage(header)) }
      events.push(...this.count(p, vote, keys))
    }
    for (const g of p.votes.values()) {
      if (!headersEqual(g.header, header)) for (const voter of g.signatures.keys()) events.push({ type: 'disagreement', voter, local: header, theirs: g.header })
    }
    events.push(...this.settle(header.height, p))
    return { vote, events }
  }

  /** A vote from the network. Checks it (epoch known, voter in range, signature) and counts it. Never throws. */
  receive(vote: CommitVote): { verdict: VoteVerdict; events: CertifierEvent[] } {
    const h = vote.header
    const foreign = foreignHeader(h, this.network)
    if (foreign !== undefined) return { verdict: { ok: false, action: 'reject', detail: `commit vote: ${foreign}` }, events: [] }
    const keys = this.epochs.get(h.epoch)
    if (keys === undefined) return { verdict: { ok: false, action: 'ignore', detail: `commit vote of epoch ${h.epoch}, whose validators this node does not hold` }, events: [] }
    if (vote.voter >= keys.scheme.size) return { verdict: { ok: false, action: 'reject', detail: `voter ${vote.voter} of ${keys.scheme.size}` }, events: [] }
    // a height belongs to one epoch: otherwise a validator of the previous epoch could sign
    // this epoch's heights under its old index and be counted in place of whoever holds it now
    const outside = outsideEpoch(h, keys)
    if (outside !== undefined) return { verdict: { ok: false, action: 'reject', detail: outside }, events: [] }
    if (h.height > this.executedHeight + this.maxHeightsAhead) return { verdict: { ok: false, action: 'ignore', detail: `height ${h.height} is more than ${this.maxHeightsAhead} above ${this.executedHeight}` }, events: [] }
    const known = this.pending.get(h.height)
    if (known === undefined && h.height <= this.executedHeight) return { verdict: { ok: false, action: 'ignore', detail: `height ${h.height} is settled here` }, events: [] }
    if (known?.voted.has(vote.voter) === true) return { verdict: { ok: false, action: 'ignore', detail: `voter ${vote.voter} already counted at height ${h.height}` }, events: [] }
    if (!keys.scheme.verify(vote.voter, commitMessage(h), vote.signature)) return { verdict: { ok: false, action: 'reject', detail: `bad signature from voter ${vote.voter} at height ${h.height}` }, events: [] }
    const p = this.slot(h.height)
    const events = this.count(p, vote, keys)
    if (p.local !== undefined && !headersEqual(p.local, h)) events.push({ type: 'disagreement', voter: vote.voter, local: p.local, theirs: h })
    events.push(...this.settle(h.height, p))
    return { verdict: { ok: true }, events }
  }

  /**
   * A certificate from a peer (a node catching up): checked against its epoch's
   * keys, then treated as if its votes had arrived. Returns the check's failure if any.
   */
  receiveCertificate(cert: CommitCertificate): { verdict: VoteVerdict; events: CertifierEvent[] } {
    const keys = this.epochs.get(cert.header.epoch)
    if (keys === undefined) return { verdict: { ok: false, action: 'ignore', detail: `certificate of epoch ${cert.header.epoch}, whose validators this node does not hold` }, events: [] }
    const outside = outsideEpoch(cert.header, keys)
    if (outside !== undefined) return { verdict: { ok: false, action: 'reject', detail: `certificate: ${outside}` }, events: [] }
    const check = checkCertificate(cert, this.network, keys.scheme)
    if (!check.ok) return { verdict: { ok: false, action: 'reject', detail: `certificate for height ${cert.header.height}: ${check.reason}` }, events: [] }
    const p = this.pending.get(cert.header.height)
    if (p === undefined || p.certificate !== undefined) return { verdict: { ok: true }, events: [] }
    p.certificate = cert
    return { verdict: { ok: true }, events: [{ type: 'certified', certificate: cert }, ...this.settle(cert.header.height, p)] }
  }

  private slot(height: number): Pending {
    let p = this.pending.get(height)
    if (p === undefined) {
      this.pending.set(height, (p = { local: undefined, votes: new Map(), voted: new Set(), certificate: undefined }))
      // heights far behind the executed one are forgotten, certified or not: memory stays bounded if certifying stalls
      if (this.pending.size > 2 * this.maxHeightsAhead) for (const h of this.pending.keys()) if (h < this.executedHeight - this.maxHeightsAhead) this.pending.delete(h)
    }
    return p
  }

  private count(p: Pending, vote: CommitVote, keys: EpochKeys): CertifierEvent[] {
    if (p.voted.has(vote.voter)) return []
    p.voted.add(vote.voter)
    const key = headerKey(vote.header)
    let group = p.votes.get(key)
    if (group === undefined) p.votes.set(key, (group = { header: vote.header, signatures: new Map() }))
    group.signatures.set(vote.voter, vote.signature)
    if (p.certificate !== undefined || group.signatures.size < quorumSize(keys.scheme.size)) return []
    const parts = [...group.signatures].map(([signer, signature]) => ({ signer, signature }))
    p.certificate = { header: group.header, signatures: keys.scheme.aggregate(parts) }
    return [{ type: 'certified', certificate: p.certificate }]
  }

  /** A height is settled once it has both a local header and a certificate: equal, it is forgotten; different, diverged. */
  private settle(height: number, p: Pending): CertifierEvent[] {
    if (p.local === undefined || p.certificate === undefined) return []
    // slots far behind a settled height will not settle now (their votes stopped coming): forget them
    for (const h of this.pending.keys()) if (h < height - this.maxHeightsAhead) this.pending.delete(h)
    if (headersEqual(p.local, p.certificate.header)) {
      this.pending.delete(height)
      return []
    }
    return [{ type: 'diverged', height, local: p.local, certified: p.certificate.header }]
  }
}
