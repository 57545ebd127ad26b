/**
 * The wire encoding of consensus messages (docs/ARCHITECTURE.md §5, "One canonical encoding"): one DAG-CBOR map
 * per message, with exactly the fields of its type in consensus/types.ts, so a
 * block's bytes inside a message are the bytes its id (`blockId`) hashes.
 *
 * `decodeMessage` is where untrusted bytes from a peer become typed values. It
 * limits the size, decodes strict DAG-CBOR, checks every field (types, exact
 * field sets, non-negative safe integers, 32-byte hashes, list lengths) while
 * building fresh plain objects, and finally requires the bytes to be canonical
 * (re-encoding gives them back), so one message has one encoding. Anything else
 * is a `WireError`, never another exception. Signatures, certificates and epochs
 * are not judged here: that is the verifier's job (verify.ts).
 */
import { bytesEqual, CID, CodecError, CodedError, decode, encode } from '../primitives/index.ts'
import type { CommitCertificate, CommitHeader, CommitMessage, CommitRequest, CommitResponse, CommitVote, CommitVotes } from './commits.ts'
import type {
  AggregateSignature,
  Block,
  BlockRequest,
  BlockResponse,
  ConsensusMessage,
  EpochRequest,
  Proposal,
  QuorumCertificate,
  SyncInfo,
  Timeout,
  TimeoutCertificate,
  Vote,
} from './types.ts'

export type WireErrorCode = 'oversized' | 'malformed'

/** Bytes that are not exactly one well-formed consensus message within the limits. */
export class WireError extends CodedError<WireErrorCode> {}

export interface WireLimits {
  /** encoded message size */
  maxMessageBytes?: number
  /** commands in one block */
  maxPayloadCount?: number
  /** total command bytes in one block */
  maxPayloadBytes?: number
  /** blocks in one block-response or sync */
  maxSyncBlocks?: number
  /** ids in one block-request */
  maxRequestIds?: number
}

/** Generous defaults, consistent with MessageVerifier's (verify.ts). */
export const DEFAULT_WIRE_LIMITS: Readonly<Required<WireLimits>> = Object.freeze({
  maxMessageBytes: 8 * 1024 * 1024,
  maxPayloadCount: 10_000,
  maxPayloadBytes: 4 * 1024 * 1024,
  maxSyncBlocks: 1_000,
  maxRequestIds: 16,
})

export const HASH_BYTES = 32

/** The canonical bytes of a message. Throws WireError if the value cannot be DAG-CBOR (e.g. an undefined field). */
export function encodeMessage(m: ConsensusMessage): Uint8Array {
  try {
    return encode(m)
  } catch (e) {
    throw new WireError('malformed', `cannot encode ${String((m as { kind?: unknown } | null)?.kind)} message: ${(e as Error).message}`, { cause: e })
  }
}

/** Decodes untrusted bytes into a well-formed message. Throws WireError ('oversized' or 'malformed') only. */
export function decodeMessage(bytes: Uint8Array, limits: WireLimits = {}): ConsensusMessage {
  return decodeWith(bytes, limits, readMessage)
}

/** Most certificates in one commit-response, votes in one commit-votes, and heights in one commit-request. */
export const MAX_COMMIT_BATCH = 256

/** Decodes untrusted bytes into a well-formed commit message (commits.ts). Throws WireError only. */
export function decodeCommitMessage(bytes: Uint8Array, limits: WireLimits = {}): CommitMessage {
  return decodeWith(bytes, limits, readCommitMessage)
}

/** Most bytes of one encoded commit certificate (a header and up to a few hundred signatures). */
const MAX_CERTIFICATE_BYTES = 64 * 1024

/** Decodes untrusted bytes into a well-formed commit certificate (its signatures unchecked: light/ does that). Throws WireError only. */
export function decodeCertificate(bytes: Uint8Array): CommitCertificate {
  if (!(bytes instanceof Uint8Array)) throw new WireError('malformed', 'commit certificate: expected bytes')
  if (bytes.length > MAX_CERTIFICATE_BYTES) throw new WireError('oversized', `commit certificate is ${bytes.length} bytes, limit ${MAX_CERTIFICATE_BYTES}`)
  let raw: unknown
  try {
    raw = decode(bytes, MAX_CERTIFICATE_BYTES)
  } catch (e) {
    throw new WireError('malformed', `commit certificate: ${(e as Error).message}`, { cause: e })
  }
  const cert = certificate(raw, 'certificate')
  if (!bytesEqual(encode(cert), bytes)) throw new WireError('malformed', 'commit certificate is not in canonical DAG-CBOR form')
  return cert
}

/** The canonical bytes of a commit message. */
export function encodeCommitMessage(m: CommitMessage): Uint8Array {
  try {
    return encode(m)
  } catch (e) {
    throw new WireError('malformed', `cannot encode ${m.kind} message: ${(e as Error).message}`, { cause: e })
  }
}

function decodeWith<M extends { kind: string }>(bytes: Uint8Array, limits: WireLimits, read: (v: unknown, lim: Limits) => M): M {
  const lim: Required<WireLimits> = {
    maxMessageBytes: limits.maxMessageBytes ?? DEFAULT_WIRE_LIMITS.maxMessageBytes,
    maxPayloadCount: limits.maxPayloadCount ?? DEFAULT_WIRE_LIMITS.maxPayloadCount,
    maxPayloadBytes: limits.maxPayloadBytes ?? DEFAULT_WIRE_LIMITS.maxPayloadBytes,
    maxSyncBlocks: limits.maxSyncBlocks ?? DEFAULT_WIRE_LIMITS.maxSyncBlocks,
    maxRequestIds: limits.maxRequestIds ?? DEFAULT_WIRE_LIMITS.maxRequestIds,
  }
  if (!(bytes instanceof Uint8Array)) throw new WireError('malformed', 'consensus message: expected bytes')
  if (bytes.length > lim.maxMessageBytes) throw new WireError('oversized', `consensus message is ${bytes.length} bytes, limit ${lim.maxMessageBytes}`)
  let raw: unknown
  try {
    raw = decode(bytes, lim.maxMessageBytes)
  } catch (e) {
    const code = e instanceof CodecError && e.code === 'OVERSIZED' ? 'oversized' : 'malformed'
    throw new WireError(code, `consensus message: ${(e as Error).message}`, { cause: e })
  }
  const message = read(raw, lim)
  // Canonical form: strict DAG-CBOR already refuses some variants (indefinite lengths, duplicate keys);
  // re-encoding catches the rest (key order, integers sent as floats, non-minimal lengths).
  if (!bytesEqual(encode(message), bytes)) throw new WireError('malformed', `${message.kind} message is not in canonical DAG-CBOR form`)
  return message
}

// ---- readers: each checks one value and returns a fresh, exactly-typed copy ----

type Limits = Required<WireLimits>
type Fields = Record<string, unknown>

function malformed(path: string, expected: string, got: unknown): WireError {
  return new WireError('malformed', `malformed consensus message: ${path}: expected ${expected}, got ${describe(got)}`)
}

function describe(v: unknown): string {
  if (v === null) return 'null'
  if (v instanceof Uint8Array) return `${v.length} bytes`
  if (Array.isArray(v)) return `a list of ${v.length}`
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === 'object') return Object.getPrototypeOf(v) === Object.prototype ? 'a map' : 'a link'
  return typeof v
}

/**
 * The field names of T, checked by the compiler to be all of them: adding a field
 * to a type in types.ts fails typechecking here until the wire format follows.
 */
function fieldsOf<T>() {
  return <const K extends readonly (keyof T & string)[]>(...keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : never)): readonly string[] => keys
}

const FIELDS = {
  aggregate: fieldsOf<AggregateSignature>()('signers', 'signature'),
  qc: fieldsOf<QuorumCertificate>()('epoch', 'view', 'block', 'height', 'votes'),
  tc: fieldsOf<TimeoutCertificate>()('epoch', 'view', 'timeouts'),
  block: fieldsOf<Block>()('epoch', 'view', 'height', 'parent', 'justify', 'proposer', 'timeSec', 'payload'),
  proposal: fieldsOf<Proposal>()('kind', 'block', 'tc', 'signature'),
  vote: fieldsOf<Vote>()('kind', 'epoch', 'view', 'block', 'height', 'voter', 'signature'),
  timeout: fieldsOf<Timeout>()('kind', 'epoch', 'view', 'highQC', 'tc', 'voter', 'signature'),
  'block-request': fieldsOf<BlockRequest>()('kind', 'ids', 'knownHeight'),
  'block-response': fieldsOf<BlockResponse>()('kind', 'blocks'),
  sync: fieldsOf<SyncInfo>()('kind', 'highQC', 'blocks'),
  'epoch-request': fieldsOf<EpochRequest>()('kind', 'epoch'),
  header: fieldsOf<CommitHeader>()('chain', 'genesis', 'epoch', 'height', 'block', 'ledgerBlock', 'stateRoot'),
  certificate: fieldsOf<CommitCertificate>()('header', 'signatures'),
  'commit-vote': fieldsOf<CommitVote>()('kind', 'header', 'voter', 'signature'),
  'commit-votes': fieldsOf<CommitVotes>()('kind', 'votes'),
  'commit-request': fieldsOf<CommitRequest>()('kind', 'from', 'count'),
  'commit-response': fieldsOf<CommitResponse>()('kind', 'certificates'),
} as const

function isMap(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype
}

/** A map with exactly `fields` (decoded maps have no duplicate keys, so count + presence is exactness). */
function map(v: unknown, path: string, fields: readonly string[]): Fields {
  if (!isMap(v)) throw malformed(path, 'a map', v)
  const keys = Object.keys(v)
  for (const f of fields) if (!Object.hasOwn(v, f)) throw new WireError('malformed', `malformed consensus message: ${path}: missing field '${f}'`)
  if (keys.length !== fields.length) {
    const extra = keys.find((k) => !fields.includes(k))
    throw new WireError('malformed', `malformed consensus message: ${path}: unexpected field '${extra}'`)
  }
  return v
}

/** Views, heights, epochs, indices, times: non-negative safe integers (larger ints decode as bigint). */
function uint(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw malformed(path, 'a non-negative integer', v)
  return v
}

function bytes(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw malformed(path, 'bytes', v)
  return v
}

function hash(v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== HASH_BYTES) throw malformed(path, `a ${HASH_BYTES}-byte hash`, v)
  return v
}

function list(v: unknown, path: string, max: number, what: string): unknown[] {
  if (!Array.isArray(v)) throw malformed(path, 'a list', v)
  if (v.length > max) throw new WireError('oversized', `consensus message: ${path}: ${v.length} ${what}, limit ${max}`)
  return v
}

function aggregate(v: unknown, path: string): AggregateSignature {
  const o = map(v, path, FIELDS.aggregate)
  return { signers: bytes(o.signers, `${path}.signers`), signature: bytes(o.signature, `${path}.signature`) }
}

function qc(v: unknown, path: string): QuorumCertificate {
  const o = map(v, path, FIELDS.qc)
  return {
    epoch: uint(o.epoch, `${path}.epoch`),
    view: uint(o.view, `${path}.view`),
    block: hash(o.block, `${path}.block`),
    height: uint(o.height, `${path}.height`),
    votes: aggregate(o.votes, `${path}.votes`),
  }
}

function tcOrNull(v: unknown, path: string): TimeoutCertificate | null {
  if (v === null) return null
  const o = map(v, path, FIELDS.tc)
  return { epoch: uint(o.epoch, `${path}.epoch`), view: uint(o.view, `${path}.view`), timeouts: aggregate(o.timeouts, `${path}.timeouts`) }
}

function payload(v: unknown, path: string, lim: Limits): Uint8Array[] {
  const items = list(v, path, lim.maxPayloadCount, 'commands')
  const out: Uint8Array[] = new Array(items.length)
  let total = 0
  for (let i = 0; i < items.length; i++) {
    const c = items[i]
    if (!(c instanceof Uint8Array)) throw malformed(`${path}[${i}]`, 'bytes', c)
    total += c.length
    out[i] = c
  }
  if (total > lim.maxPayloadBytes) throw new WireError('oversized', `consensus message: ${path}: ${total} command bytes, limit ${lim.maxPayloadBytes}`)
  return out
}

function block(v: unknown, path: string, lim: Limits): Block {
  const o = map(v, path, FIELDS.block)
  return {
    epoch: uint(o.epoch, `${path}.epoch`),
    view: uint(o.view, `${path}.view`),
    height: uint(o.height, `${path}.height`),
    parent: hash(o.parent, `${path}.parent`),
    justify: qc(o.justify, `${path}.justify`),
    proposer: uint(o.proposer, `${path}.proposer`),
    timeSec: uint(o.timeSec, `${path}.timeSec`),
    payload: payload(o.payload, `${path}.payload`, lim),
  }
}

function blocks(v: unknown, path: string, lim: Limits): Block[] {
  return list(v, path, lim.maxSyncBlocks, 'blocks').map((b, i) => block(b, `${path}[${i}]`, lim))
}

/** One reader per kind; the mapped type makes a new kind in types.ts a compile error here. */
const readers: { [K in ConsensusMessage['kind']]: (v: unknown, lim: Limits) => Extract<ConsensusMessage, { kind: K }> } = {
  proposal: (v, lim) => {
    const o = map(v, 'proposal', FIELDS.proposal)
    return { kind: 'proposal', block: block(o.block, 'proposal.block', lim), tc: tcOrNull(o.tc, 'proposal.tc'), signature: bytes(o.signature, 'proposal.signature') }
  },
  vote: (v) => {
    const o = map(v, 'vote', FIELDS.vote)
    return {
      kind: 'vote',
      epoch: uint(o.epoch, 'vote.epoch'),
      view: uint(o.view, 'vote.view'),
      block: hash(o.block, 'vote.block'),
      height: uint(o.height, 'vote.height'),
      voter: uint(o.voter, 'vote.voter'),
      signature: bytes(o.signature, 'vote.signature'),
    }
  },
  timeout: (v) => {
    const o = map(v, 'timeout', FIELDS.timeout)
    return {
      kind: 'timeout',
      epoch: uint(o.epoch, 'timeout.epoch'),
      view: uint(o.view, 'timeout.view'),
      highQC: qc(o.highQC, 'timeout.highQC'),
      tc: tcOrNull(o.tc, 'timeout.tc'),
      voter: uint(o.voter, 'timeout.voter'),
      signature: bytes(o.signature, 'timeout.signature'),
    }
  },
  'block-request': (v, lim) => {
    const o = map(v, 'block-request', FIELDS['block-request'])
    const ids = list(o.ids, 'block-request.ids', lim.maxRequestIds, 'ids').map((id, i) => hash(id, `block-request.ids[${i}]`))
    return { kind: 'block-request', ids, knownHeight: uint(o.knownHeight, 'block-request.knownHeight') }
  },
  'block-response': (v, lim) => {
    const o = map(v, 'block-response', FIELDS['block-response'])
    return { kind: 'block-response', blocks: blocks(o.blocks, 'block-response.blocks', lim) }
  },
  sync: (v, lim) => {
    const o = map(v, 'sync', FIELDS.sync)
    return { kind: 'sync', highQC: qc(o.highQC, 'sync.highQC'), blocks: blocks(o.blocks, 'sync.blocks', lim) }
  },
  'epoch-request': (v) => {
    const o = map(v, 'epoch-request', FIELDS['epoch-request'])
    return { kind: 'epoch-request', epoch: uint(o.epoch, 'epoch-request.epoch') }
  },
}

function readMessage(v: unknown, lim: Limits): ConsensusMessage {
  if (!isMap(v)) throw malformed('(message)', 'a map', v)
  const kind = v.kind
  if (typeof kind !== 'string') throw malformed('kind', 'a string', kind)
  if (!Object.hasOwn(readers, kind)) throw new WireError('malformed', `malformed consensus message: unknown kind ${describe(kind)}`)
  return readers[kind as ConsensusMessage['kind']](v, lim)
}

// ---- commit certificates (commits.ts) ----

function cidOrNull(v: unknown, path: string): CID | null {
  if (v === null) return null
  const cid = CID.asCID(v)
  if (cid === null) throw malformed(path, 'a CID or null', v)
  return cid
}

function header(v: unknown, path: string): CommitHeader {
  const o = map(v, path, FIELDS.header)
  if (typeof o.chain !== 'string' || o.chain.length === 0 || o.chain.length > 128) throw malformed(`${path}.chain`, 'a chain id (1 to 128 characters)', o.chain)
  return {
    chain: o.chain,
    genesis: hash(o.genesis, `${path}.genesis`),
    epoch: uint(o.epoch, `${path}.epoch`),
    height: uint(o.height, `${path}.height`),
    block: hash(o.block, `${path}.block`),
    ledgerBlock: cidOrNull(o.ledgerBlock, `${path}.ledgerBlock`),
    stateRoot: hash(o.stateRoot, `${path}.stateRoot`),
  }
}

function certificate(v: unknown, path: string): CommitCertificate {
  const o = map(v, path, FIELDS.certificate)
  return { header: header(o.header, `${path}.header`), signatures: aggregate(o.signatures, `${path}.signatures`) }
}

function commitVote(v: unknown, path: string): CommitVote {
  const o = map(v, path, FIELDS['commit-vote'])
  if (o.kind !== 'commit-vote') throw malformed(`${path}.kind`, "'commit-vote'", o.kind)
  return { kind: 'commit-vote', header: header(o.header, `${path}.header`), voter: uint(o.voter, `${path}.voter`), signature: bytes(o.signature, `${path}.signature`) }
}

const commitReaders: { [K in CommitMessage['kind']]: (v: unknown) => Extract<CommitMessage, { kind: K }> } = {
  'commit-votes': (v) => {
    const o = map(v, 'commit-votes', FIELDS['commit-votes'])
    return { kind: 'commit-votes', votes: list(o.votes, 'commit-votes.votes', MAX_COMMIT_BATCH, 'votes').map((x, i) => commitVote(x, `commit-votes.votes[${i}]`)) }
  },
  'commit-request': (v) => {
    const o = map(v, 'commit-request', FIELDS['commit-request'])
    const count = uint(o.count, 'commit-request.count')
    if (count < 1 || count > MAX_COMMIT_BATCH) throw malformed('commit-request.count', `1 to ${MAX_COMMIT_BATCH}`, count)
    return { kind: 'commit-request', from: uint(o.from, 'commit-request.from'), count }
  },
  'commit-response': (v) => {
    const o = map(v, 'commit-response', FIELDS['commit-response'])
    const certificates = list(o.certificates, 'commit-response.certificates', MAX_COMMIT_BATCH, 'certificates').map((c, i) => certificate(c, `commit-response.certificates[${i}]`))
    return { kind: 'commit-response', certificates }
  },
}

function readCommitMessage(v: unknown): CommitMessage {
  if (!isMap(v)) throw malformed('(message)', 'a map', v)
  const kind = v.kind
  if (typeof kind !== 'string') throw malformed('kind', 'a string', kind)
  if (!Object.hasOwn(commitReaders, kind)) throw new WireError('malformed', `malformed commit message: unknown kind ${describe(kind)}`)
  return commitReaders[kind as CommitMessage['kind']](v)
}
