/**
 * The API's JSON bodies as zod schemas: the one source for what the server sends,
 * what clients accept (node/api/client.ts) and the schemas of the OpenAPI document
 * (openapi.ts generates its components from `API_SCHEMAS`). Each named schema is
 * registered under its component name; nested named schemas become `$ref`s.
 *
 * These describe the wire form (bytes as hex, CIDs as strings, heights as
 * integers). They are strict: the server never sends a field that is not here, and
 * the tests check live responses against them. The client (client.ts) reads with them
 * but drops fields it does not know, so an older client keeps working against a newer
 * validator.
 */
import { z } from 'zod'

/** The registry of named schemas, by component name (z.toJSONSchema turns it into the document's components). */
export const API_SCHEMAS = z.registry<{ id: string }>()
const byName = new Map<string, z.ZodType>()

function named<T extends z.ZodType>(id: string, schema: T, description?: string): T {
  const s = (description === undefined ? schema : schema.describe(description)) as T
  API_SCHEMAS.add(s, { id })
  byName.set(id, s)
  return s
}

/** The schema registered as component `name` (throws for an unknown name). */
export function apiSchema(name: string): z.ZodType {
  const s = byName.get(name)
  if (s === undefined) throw new Error(`no API schema named ${name}`)
  return s
}

/** The component names, in declaration order. */
export function apiSchemaNames(): string[] {
  return [...byName.keys()]
}

const height = z.number().int().min(0)
const count = z.number().int().min(0)
const nullable = <T extends z.ZodType>(s: T) => z.union([s, z.null()])
const page = <T extends z.ZodType>(item: T) => ({ height, items: z.array(item), next: z.string().nullable().describe('cursor of the next page; null on the last page') })

export const Hex = named('Hex', z.string().regex(/^([0-9a-f]{2})*$/), 'bytes as lowercase hex, no 0x prefix')
export const Hash = named('Hash', z.string().regex(/^[0-9a-f]{64}$/), '32 bytes as lowercase hex')
export const Cid = named('Cid', z.string().min(1), 'a CID in its canonical string form (base32 for CIDv1)')
export const Id = named('Id', z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/), 'member, enclave, round or chain id')

export const ErrorBody = named(
  'Error',
  z.strictObject({
    error: z.strictObject({
      code: z.string().describe("stable machine-readable code: an API code (BAD_REQUEST, NOT_FOUND, NO_ROUTE, METHOD_NOT_ALLOWED, REQUEST_TIMEOUT, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, HEADERS_TOO_LARGE, TX_REJECTED, RATE_LIMITED, NOT_READY, ADMIN_DISABLED, EVENTS_DISABLED, TOO_MANY_STREAMS, SNAPSHOT_NOT_RETAINED, INTERNAL) or, for a refused transaction, the node's or the ledger's own code (e.g. BAD_NONCE, MEMPOOL_FULL)"),
      message: z.string().describe('for a person; never a stack trace'),
      retryAfterMs: z
        .number()
        .int()
        .min(0)
        .optional()
        .describe("present on a refusal that means 'not now' (FULL, RATE_LIMITED, SENDER_LIMIT, NONCE_GAP): offer the same transaction again after about this many milliseconds, keeping each sender's nonces in order; the response also carries Retry-After in seconds"),
    }),
  }),
)

export const Receipt = named('Receipt', z.strictObject({ index: count, tx: Cid, code: z.string().describe('OK, or the typed code that refused the transaction'), message: z.string() }))

export const SignedTx = named(
  'SignedTx',
  z.strictObject({
    tx: z.strictObject({
      chain: Id,
      type: z.string(),
      sender: Id,
      nonce: count,
      body: z.record(z.string(), z.unknown()).describe('the body of the transaction type, bytes as hex and CIDs as strings'),
    }),
    sig: Hex,
    approvals: z.array(z.strictObject({ member: Id, sig: Hex })).optional(),
  }),
  'a transaction as decoded from its DAG-CBOR envelope',
)

export const TxView = named('TxView', z.strictObject({ id: Cid, height, index: count, block: Cid, receipt: Receipt, tx: SignedTx }))

export const BlockView = named(
  'Block',
  z.strictObject({
    id: Cid,
    chain: Id,
    height,
    time: z.number().int().describe('unix seconds, agreed by consensus'),
    parent: nullable(Cid),
    stateRoot: Hash,
    txs: z.array(Cid),
    receipts: z.array(Receipt),
    summary: z.strictObject({ txs: count, ok: count, refused: count }),
  }),
)

export const Budget = named(
  'Budget',
  z.strictObject({
    height,
    member: Id,
    delta: z.number(),
    epsilonCap: z.number(),
    epsilonSpent: z.number().describe('ε of what results have charged'),
    epsilonRemaining: z.number().describe('epsilonCap − epsilonSpent'),
    epsilonCommitted: z.number().describe('ε of spent plus every open reservation (RDP curves add; ε does not)'),
    epsilonAvailable: z.number().describe('epsilonCap − epsilonCommitted'),
    reservations: z.array(z.strictObject({ round: Id, epsilon: z.number().describe("ε of the round's worst-case spend alone") })),
  }),
)

export const Member = named(
  'Member',
  z.strictObject({
    id: Id,
    org: z.string(),
    roles: z.array(z.enum(['participant', 'coordinator', 'auditor', 'governor'])),
    publicKey: Hex,
    attestation: nullable(Cid),
    registeredAt: height,
    revokedAt: z.number().int().nullable(),
    revocationReason: z.string().nullable(),
    revoked: z.boolean().describe('revoked at the height of the response'),
  }),
)

export const MemberDetail = named('MemberDetail', z.strictObject({ height, member: Member, nonce: count.describe("the nonce the member's next transaction must carry"), budget: nullable(Budget) }))
export const MemberPage = named('MemberPage', z.strictObject(page(Member)), 'members in ascending id order; the cursor is the last id returned')

export const Enclave = named(
  'Enclave',
  z.strictObject({
    id: Id,
    platform: z.string(),
    measurement: Hex,
    publicKey: Hex,
    registeredAt: height,
    revokedAt: z.number().int().nullable(),
    revocationReason: z.string().nullable(),
    revoked: z.boolean(),
    nonce: count.describe('the next transaction nonce of the enclave (it signs round keys and results)'),
  }),
)
export const EnclavePage = named('EnclavePage', z.strictObject(page(Enclave)), 'enclaves in ascending id order; the cursor is the last id returned')

export const RoundStatus = named('RoundStatus', z.enum(['open', 'keyed', 'resulted', 'closed', 'aborted', 'discarded']))

export const RoundSummary = named(
  'RoundSummary',
  z.strictObject({ id: Id, status: RoundStatus, coordinator: Id, enclave: Id, openedAt: height, deadline: height, eligibleCount: count, commitCount: count, model: nullable(Cid) }),
)
export const RoundPage = named('RoundPage', z.strictObject(page(RoundSummary)), 'rounds in ascending id order; the cursor is the last id returned')

export const RoundResult = named(
  'RoundResult',
  z.strictObject({
    model: Cid,
    included: z.array(Id),
    excluded: z.array(z.strictObject({ member: Id, reason: z.string() })),
    aggregation: z.strictObject({ f: count, m: count, centralNoiseMultiplier: z.number().describe("σ of the central noise the enclave added (0: none)") }).describe('Multi-Krum as applied and the central noise, checked by the ledger against the round'),
    transcriptHash: Hash,
    height,
    superseded: z.array(Cid),
  }),
)

export const Round = named(
  'Round',
  z.strictObject({
    id: Id,
    coordinator: Id,
    baseModel: Cid,
    training: z.strictObject({ clipNorm: z.number(), noiseMultiplier: z.number(), samplingRate: z.number(), localEpochs: z.number() }),
    aggregation: z.strictObject({ rule: z.literal('multi-krum'), f: count, m: count, centralNoiseMultiplier: z.number().optional() }),
    steps: count,
    eligibleCount: count,
    enclave: Id,
    openedAt: height,
    deadline: height,
    status: RoundStatus,
    roundKey: nullable(Hex),
    commitCount: count,
    result: nullable(RoundResult),
    reaggregate: z.array(Id),
    discardReason: z.string().nullable(),
  }),
)

export const Commit = named(
  'Commit',
  z.strictObject({ round: Id, member: Id, seq: count, ciphertext: Cid, plaintextHash: Hash, declaredNorm: z.number(), statementSig: Hex, height }),
)

export const RoundDetail = named(
  'RoundDetail',
  z.strictObject({
    height,
    round: Round,
    eligible: z.array(Id),
    commits: z
      .strictObject({ items: z.array(Commit), next: z.string().nullable().describe('the seq of the last commit returned; null on the last page') })
      .describe("one page of the round's commits in ledger order (by seq)"),
  }),
)

export const Checkpoint = named(
  'Checkpoint',
  z.strictObject({
    seq: z.number().int().min(1),
    round: Id,
    model: Cid,
    snapshot: Cid,
    stateRoot: Hash,
    height: height.describe('the height whose state root is anchored'),
    anchoredAt: height,
  }),
)
export const CheckpointResponse = named('CheckpointResponse', z.strictObject({ height, checkpoint: Checkpoint }))
export const CheckpointPage = named('CheckpointPage', z.strictObject(page(Checkpoint)), 'checkpoints newest first; the cursor is the last seq returned')

export const Validator = named('Validator', z.strictObject({ id: Id, publicKey: Hex, power: z.number().int().min(1) }))
export const Validators = named(
  'Validators',
  z.strictObject({
    height,
    epoch: count.describe('floor(height / epochLength)'),
    current: z.strictObject({ epoch: count, validators: z.array(Validator) }),
    pending: nullable(z.strictObject({ epoch: count, validators: z.array(Validator), orderedAt: height }).describe('a set ordered to take effect at a later epoch boundary')),
  }),
)

export const Params = named(
  'Params',
  z.strictObject({
    height,
    params: z.strictObject({
      chainId: Id,
      epochLength: count,
      governanceThreshold: count,
      revocationAuthorities: z.record(z.string(), Hex),
      attestation: z.strictObject({ formats: z.array(z.string()), trustAnchors: z.record(z.string(), z.array(Hex)), maxEvidenceAgeSeconds: count, measurements: z.array(Hex) }),
      rdpOrders: z.array(z.number()),
      maxRoundBlocks: count,
      resultGraceBlocks: count,
    }),
  }),
)

export const TrieProof = named(
  'TrieProof',
  z.strictObject({
    depth: z.number().int().min(0).max(256),
    present: Hex.describe('bit d (MSB first) set ⇔ the sibling at depth d is non-empty'),
    siblings: z.array(Hash).describe('non-empty sibling hashes, deepest first'),
    end: z.union([
      z.strictObject({ kind: z.literal('value'), value: Hex }),
      z.strictObject({ kind: z.literal('empty') }),
      z.strictObject({ kind: z.literal('leaf'), keyHash: Hash, valueHash: Hash }),
    ]),
  }),
  'a sparse Merkle proof; see ledger/state/trie-proof.ts for the hashing rules',
)

export const CommitHeader = named(
  'CommitHeader',
  z.strictObject({
    chain: Id,
    genesis: Hash.describe("the network's genesis hash: the state root at height 0"),
    epoch: count,
    height,
    block: Hash.describe("the consensus block's id (sha256 of its DAG-CBOR)"),
    ledgerBlock: nullable(Cid).describe("the ledger block's CID (its transactions and time); null on a node that runs no ledger"),
    stateRoot: Hash.describe('the state root after the block'),
  }),
  'what a commit certificate binds: one committed height and the state after it',
)

export const CommitCertificate = named(
  'CommitCertificate',
  z.strictObject({
    header: CommitHeader,
    signers: z.array(count).describe("the indexes, in the epoch's validator set, of the validators that signed"),
    signatures: z.strictObject({ signers: Hex.describe('bitmap, bit i set iff validator i signed'), signature: Hex.describe("the signers' 64-byte ed25519 signatures, in index order") }),
    certificateCbor: Hex.describe('the certificate as DAG-CBOR ({header, signatures}): what a light client checks against the epoch\'s validator keys'),
  }),
  'a commit certificate: a quorum of the epoch\'s validators signed the header (signing bytes: "fedledger/consensus/commit/v1" ‖ 0x00 ‖ DAG-CBOR(header))',
)

export const EpochChange = named(
  'EpochChange',
  z.strictObject({
    epoch: count,
    height: height.describe('the last height of the epoch before'),
    certificate: nullable(CommitCertificate).describe('the commit certificate of `height`, or null if this node holds none'),
    proofCbor: Hex.describe("DAG-CBOR of the trie proof of the state key 'validators' under the state root after `height`: the set this epoch runs with"),
  }),
  'how an epoch got its validator set (for a light client: verifyEpochChange)',
)

export const Proof = named(
  'Proof',
  z.strictObject({
    key: z.string(),
    height,
    stateRoot: Hash,
    included: z.boolean(),
    value: z.unknown().describe('the value decoded from DAG-CBOR as JSON, or null when absent'),
    valueCbor: nullable(Hex),
    proof: TrieProof,
    proofCbor: Hex.describe('DAG-CBOR of the proof: verifyProof(stateRoot, key, decode(bytes))'),
    certificate: nullable(CommitCertificate).describe("the commit certificate of `height`, or null if this node holds none"),
  }),
)

/** Longest state key a proof may be asked for (state keys are short paths). */
export const MAX_PROOF_KEY_LENGTH = 512
/** At most this many keys per POST /v1/proofs: a round's record, every commit and member record of it, and the latest checkpoint fit. */
export const MAX_PROOF_BATCH_KEYS = 2048

export const ProofBatchRequest = named(
  'ProofBatchRequest',
  z.strictObject({
    keys: z
      .array(z.string().min(1).max(MAX_PROOF_KEY_LENGTH).describe('a state key, e.g. round/r1, commit/r1/bank-a or checkpoint/latest'))
      .min(1)
      .max(MAX_PROOF_BATCH_KEYS)
      .meta({ uniqueItems: true, description: `1 to ${MAX_PROOF_BATCH_KEYS} distinct state keys of 1 to ${MAX_PROOF_KEY_LENGTH} characters each` }),
    height: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().describe('the height whose state to prove against (one this node retains); absent: the newest height that is certified and whose state this node still holds'),
  }),
  'the state keys to prove, all at one height (POST /v1/proofs)',
)

export const ProofBatch = named(
  'ProofBatch',
  z.strictObject({
    height: height.describe('the height every proof is at'),
    stateRoot: Hash.describe("the state root after `height`, which every proof leads to (a light client takes it from the certificate's header instead)"),
    certificate: nullable(CommitCertificate).describe('the commit certificate of `height`, or null if this node holds none'),
    proofs: z
      .array(z.strictObject({ key: z.string(), proofCbor: Hex.describe('DAG-CBOR of the trie proof of `key`: verifyProof(stateRoot, key, decode(bytes)) gives its value, or that it is absent') }))
      .min(1)
      .max(MAX_PROOF_BATCH_KEYS)
      .describe('one proof per key asked, in the order asked'),
  }),
  'proofs of many state keys under the one state root of a height, with that height\'s commit certificate',
)

export const ValidatorRef = named('ValidatorRef', z.strictObject({ id: z.string(), index: count }))

export const NodeStatus = named(
  'NodeStatus',
  z.strictObject({
    chainId: z.string(),
    validator: nullable(ValidatorRef),
    epoch: count,
    view: count,
    leader: nullable(ValidatorRef),
    committed: z.strictObject({ height, block: nullable(Cid), stateRoot: Hash }),
    peers: count,
    mempoolSize: count,
    syncing: z.boolean(),
    version: z.string(),
    highestKnownHeight: z.number().int().nullable(),
    lastCommitAt: z.number().nullable().describe('unix ms of the last local commit'),
  }),
)

export const Health = named(
  'Health',
  z.strictObject({
    status: z.literal('ok'),
    height,
    syncing: z.boolean(),
    lag: z.strictObject({
      blocks: z.number().int().nullable().describe('highest height heard from peers minus the committed height'),
      secondsSinceCommit: z.number().nullable(),
    }),
  }),
)

export const TxSubmission = named(
  'TxSubmission',
  z.strictObject({ tx: z.string().meta({ contentEncoding: 'base64', description: 'the encoded signed transaction, base64 (standard alphabet, padded)' }) }),
  'a transaction submitted as JSON (POST /v1/txs with application/json)',
)

export const Submitted = named('Submitted', z.strictObject({ id: Cid }))

/** At most this many peer ids per admin request. */
export const MAX_ADMIN_PEERS = 100
/** The longest peer id string an admin request may carry. */
export const MAX_PEER_ID_LENGTH = 128
/** The largest outgoing delay POST /v1/admin/delay accepts (the same cap as P2PHost.setDelay). */
export const MAX_ADMIN_DELAY_MS = 10_000

export const AdminPeers = named(
  'AdminPeers',
  z.strictObject({
    peers: z
      .array(
        z
          .string()
          .min(1)
          .max(MAX_PEER_ID_LENGTH)
          .regex(/^[A-Za-z0-9]+$/) // base58btc or a multibase CID string: letters and digits only
          .describe('a libp2p peer id string (base58btc, e.g. 12D3KooW…, or a CIDv1)'),
      )
      .min(1)
      .max(MAX_ADMIN_PEERS),
  }),
)
export const BlockedPeers = named('BlockedPeers', z.strictObject({ blocked: z.array(z.string()).describe('every peer id this node blocks now') }))
export const AdminDelay = named('AdminDelay', z.strictObject({ ms: z.number().int().min(0).max(MAX_ADMIN_DELAY_MS).describe('milliseconds by which every outgoing message is held back; 0 turns the delay off') }))
export const DelayState = named('DelayState', z.strictObject({ delayMs: z.number().int().min(0).max(MAX_ADMIN_DELAY_MS).describe('the outgoing delay this node applies now, in milliseconds (0: none)') }))

export const BatchResults = named(
  'BatchResults',
  z.strictObject({ results: z.array(z.union([Submitted, ErrorBody])).min(1).max(1000).describe('one entry per transaction of the request, at the same index') }),
)

export const BlockEvent = named(
  'BlockEvent',
  z.strictObject({
    height,
    id: Cid,
    time: z.number().int().describe('unix seconds, agreed by consensus'),
    txs: z.array(Cid).optional().describe("the block's transaction ids, in block order; left out with ?txs=false"),
  }),
  'the data of one `event: block` of GET /v1/events/blocks',
)
