/**
 * What each route says about itself in the OpenAPI document: operation id, summary,
 * tags, its path and query parameters and request bodies as zod schemas (the server
 * validates parameters with these very schemas, and handlers parse bodies with
 * them), and its responses with the zod schemas of schemas.ts. routes.ts pairs each
 * of these with its handler; openapi.ts turns the served routes into the document.
 */
import { z } from 'zod'
import * as S from './schemas.ts'
import { MAX_PROOF_BATCH_KEYS, MAX_PROOF_KEY_LENGTH } from './schemas.ts'

/** One response: what it means, its body per media type, and its headers. */
export interface ResponseDoc {
  description: string
  content?: Record<string, z.ZodType>
  headers?: Record<string, z.ZodType>
}

export interface RouteDoc {
  operationId: string
  summary: string
  description?: string
  tags: [ApiTag]
  /** path parameters, validated before the handler runs */
  params?: z.ZodObject
  /** query parameters, validated before the handler runs (unknown ones are ignored) */
  query?: z.ZodObject
  /** the request body per media type; the handler reads it (under its cap) and parses it */
  body?: Record<string, z.ZodType>
  responses: Record<number, ResponseDoc>
}

/** The document's tags, in the order the index lists them. */
export const API_TAGS = [
  { name: 'txs' },
  { name: 'blocks' },
  { name: 'state' },
  { name: 'node' },
  { name: 'events', description: 'Server-Sent Events streams of what the node commits.' },
  { name: 'admin', description: 'Testnet-only fault injection: block and unblock libp2p peers by connection gating, to build network partitions, and hold back a node\'s outgoing traffic by a fixed delay. Enabled only on testnet nodes (config api.admin); on every other node these routes answer 404 with code ADMIN_DISABLED.' },
] as const
export type ApiTag = (typeof API_TAGS)[number]['name']

const json = (schema: z.ZodType) => ({ 'application/json': schema })
const error = (description: string): ResponseDoc => ({ description, content: json(S.ErrorBody) })
/** a binary body of `mediaType` */
const bytes = (mediaType: string, description: string) => z.string().meta({ contentMediaType: mediaType, description })
const RETRY_AFTER = { 'Retry-After': z.number().int().min(0).describe('seconds to wait before offering the request again') }

/** The error responses many routes share; 405 and 500 every route has (openapi.ts adds them). */
export const ERR = {
  BadRequest: error('malformed request (bad id, CID, limit, cursor, key, JSON or base64)'),
  NotFound: error('no such object (code NOT_FOUND); an unknown path gets code NO_ROUTE'),
  MethodNotAllowed: { ...error('the path exists for other methods (see the Allow header)'), headers: { Allow: z.string().describe('the methods this path serves') } },
  NotReady: error('the node has no chain state yet, or the store does not answer'),
  Internal: error("an unexpected failure; the message is always 'internal error'"),
} satisfies Record<string, ResponseDoc>

/** The answers every admin route shares (ADMIN_DISABLED on production nodes, the 64 KiB body cap, JSON only). */
const ADMIN_ERRORS = {
  404: error("admin routes are disabled on this node (code ADMIN_DISABLED): they exist only on testnets, enabled via config api.admin"),
  413: error("body larger than 64 KiB"),
  415: error("content type is not application/json"),
} satisfies Record<number, ResponseDoc>
const PEERS_REFUSED = error("malformed body: not JSON, not {\"peers\": [...]}, 0 or more than 100 peers, or a peer id that is empty, longer than 128 characters, not letters and digits, or not a libp2p peer id")

/** ?limit=&cursor= of the paged lists */
const PAGE = z.object({
  limit: z.string().regex(/^(?=\d*[1-9])\d{1,6}$/, 'limit must be a positive integer').optional().describe('items per page, a positive integer (default 50; values above 500 are capped)'),
  cursor: z.string().min(1, 'cursor must be 1 to 256 characters').max(256, 'cursor must be 1 to 256 characters').optional().describe('the `next` of the previous page'),
})

export const submitTx: RouteDoc = {
  operationId: "submitTx",
  summary: "Submit a signed transaction to the mempool",
  tags: ["txs"],
  body: {"application/cbor": bytes("application/cbor", "the encoded signed transaction (canonical DAG-CBOR), as raw bytes"), "application/json": S.TxSubmission},
  responses: {
    202: { description: "accepted into the mempool (not yet committed); poll GET /v1/txs/{id}", content: json(S.Submitted), headers: { Location: z.string().describe("/v1/txs/{id} of the accepted transaction") } },
    413: error("body larger than the cap (1 MiB by default)"),
    415: error("content type is neither application/cbor nor application/json"),
    422: error("the node or the ledger refused the transaction; the code says why (e.g. MALFORMED, BAD_SIGNATURE, BAD_NONCE)"),
    429: { description: "not now, for this sender: RATE_LIMITED (it sends faster than the mempool admits), SENDER_LIMIT (too many of its transactions pending) or NONCE_GAP (the nonce is too far ahead of its committed one, or the nonce before it is neither committed nor held here: submit in nonce order); offer it again after Retry-After", content: json(S.ErrorBody), headers: RETRY_AFTER },
    400: ERR.BadRequest,
    503: { description: "FULL: the node's mempool holds as many transactions as it takes from clients (offer it again after Retry-After), or NOT_READY: the node is not running yet", content: json(S.ErrorBody), headers: RETRY_AFTER },
  },
}

export const submitTxBatch: RouteDoc = {
  operationId: "submitTxBatch",
  summary: "Submit up to 1,000 signed transactions in one request, each with its own result",
  description: "For clients that submit at a high rate. The body is checked as a whole first: a malformed batch is refused with 400 and submits nothing. Then each transaction goes to the mempool in order, exactly as POST /v1/txs would take it, and gets its own result in `results`, at the same index: `{\"id\"}` when accepted, or the error POST /v1/txs would have answered with (same code and message, e.g. BAD_NONCE, MEMPOOL_FULL, RATE_LIMITED, MALFORMED, INTERNAL). A refused transaction does not stop the ones after it, but a sender's transactions are taken in nonce order only: once one is refused, the same sender's later nonces are refused too (NONCE_GAP, with retryAfterMs) until it is in, so nothing accepted waits behind a refused nonce. A refusal that carries retryAfterMs means 'not now': offer the same transactions again after that long, in nonce order. While the node takes no client transaction at all (its mempool holds as many as it takes from clients), the whole batch is refused with 503 FULL and Retry-After before its body is read. Accepted is not committed: watch GET /v1/events/blocks or poll GET /v1/txs/{id}.",
  tags: ["txs"],
  body: {"application/cbor": bytes("application/cbor", "DAG-CBOR of an array of 1 to 1,000 byte strings, each one an encoded signed transaction (canonical DAG-CBOR) exactly as POST /v1/txs takes it. At most 4 MiB by default (API server option maxBatchBodyBytes).")},
  responses: {
    200: { description: "one result per transaction, in the order of the request", content: json(S.BatchResults) },
    400: error("malformed batch (nothing was submitted): not DAG-CBOR, not an array, empty, more than 1,000 items, an item that is not a byte string, or an empty item"),
    413: error("body larger than the batch cap (4 MiB by default)"),
    415: error("content type is not application/cbor"),
    503: { description: "the node takes no client transaction now (FULL: its mempool holds as many as it takes from clients); nothing was read or submitted; offer the batch again after Retry-After", content: json(S.ErrorBody), headers: RETRY_AFTER },
  },
}

export const getTx: RouteDoc = {
  operationId: "getTx",
  summary: "A committed transaction: where, its receipt (OK or the code that refused it) and its decoded body",
  tags: ["txs"],
  params: z.object({ id: z.string().describe("the transaction id: CID of its DAG-CBOR envelope") }),
  responses: {
    200: { description: "OK", content: json(S.TxView) },
    400: ERR.BadRequest,
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const getLatestBlock: RouteDoc = {
  operationId: "getLatestBlock",
  summary: "The last committed block (404 while only genesis exists)",
  tags: ["blocks"],
  responses: {
    200: { description: "OK", content: json(S.BlockView) },
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const getBlock: RouteDoc = {
  operationId: "getBlock",
  summary: "A committed block by height or by CID",
  tags: ["blocks"],
  params: z.object({ ref: z.string().describe("a height (decimal; 0 is genesis, which has no block) or a block CID") }),
  responses: {
    200: { description: "OK", content: json(S.BlockView) },
    400: ERR.BadRequest,
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const listMembers: RouteDoc = {
  operationId: "listMembers",
  summary: "Members, paged",
  tags: ["state"],
  query: PAGE,
  responses: {
    200: { description: "OK", content: json(S.MemberPage) },
    400: ERR.BadRequest,
    503: ERR.NotReady,
  },
}

export const getMember: RouteDoc = {
  operationId: "getMember",
  summary: "A member with its nonce and budget",
  tags: ["state"],
  params: z.object({ id: z.string().describe("member id") }),
  responses: {
    200: { description: "OK", content: json(S.MemberDetail) },
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const listEnclaves: RouteDoc = {
  operationId: "listEnclaves",
  summary: "Registered enclaves, paged",
  tags: ["state"],
  query: PAGE,
  responses: {
    200: { description: "OK", content: json(S.EnclavePage) },
    400: ERR.BadRequest,
    503: ERR.NotReady,
  },
}

export const listRounds: RouteDoc = {
  operationId: "listRounds",
  summary: "Training rounds, paged",
  tags: ["state"],
  query: PAGE,
  responses: {
    200: { description: "OK", content: json(S.RoundPage) },
    400: ERR.BadRequest,
    503: ERR.NotReady,
  },
}

export const getRound: RouteDoc = {
  operationId: "getRound",
  summary: "A round: its record and result, its eligible members and one page of its commits (limit default 100; cursor = last seq)",
  tags: ["state"],
  params: z.object({ id: z.string().describe("round id") }),
  query: PAGE,
  responses: {
    200: { description: "OK", content: json(S.RoundDetail) },
    400: ERR.BadRequest,
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const getBudget: RouteDoc = {
  operationId: "getBudget",
  summary: "A member's privacy budget: ε spent, remaining, and what open rounds reserve",
  tags: ["state"],
  params: z.object({ member: z.string().describe("member id") }),
  responses: {
    200: { description: "OK", content: json(S.Budget) },
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const listCheckpoints: RouteDoc = {
  operationId: "listCheckpoints",
  summary: "Anchored checkpoints, newest first, paged",
  tags: ["state"],
  query: PAGE,
  responses: {
    200: { description: "OK", content: json(S.CheckpointPage) },
    400: ERR.BadRequest,
    503: ERR.NotReady,
  },
}

export const getLatestCheckpoint: RouteDoc = {
  operationId: "getLatestCheckpoint",
  summary: "The latest checkpoint (404 before the first)",
  tags: ["state"],
  responses: {
    200: { description: "OK", content: json(S.CheckpointResponse) },
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const getCheckpoint: RouteDoc = {
  operationId: "getCheckpoint",
  summary: "A checkpoint by sequence number (1, 2, …)",
  tags: ["state"],
  params: z.object({ seq: z.string().regex(/^[0-9]+$/, 'a checkpoint sequence number is a decimal integer').describe("checkpoint sequence number") }),
  responses: {
    200: { description: "OK", content: json(S.CheckpointResponse) },
    400: ERR.BadRequest,
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const getValidators: RouteDoc = {
  operationId: "getValidators",
  summary: "The validator set in force and the pending one",
  tags: ["state"],
  responses: {
    200: { description: "OK", content: json(S.Validators) },
    503: ERR.NotReady,
  },
}

export const getParams: RouteDoc = {
  operationId: "getParams",
  summary: "The chain parameters",
  tags: ["state"],
  responses: {
    200: { description: "OK", content: json(S.Params) },
    503: ERR.NotReady,
  },
}

export const getLatestCommit: RouteDoc = {
  operationId: "getLatestCommit",
  summary: "The commit certificate of the highest certified height this node holds",
  tags: ["blocks"],
  responses: {
    200: { description: "OK", content: json(S.CommitCertificate) },
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const getCommit: RouteDoc = {
  operationId: "getCommit",
  summary: "The commit certificate of a height: a quorum of its epoch's validators signed its block and the state root after it",
  description: "Like CometBFT's /commit. A height is certified once 2f+1 validators of its epoch have executed it and signed the same header; 404 until then (or if this node never received it).",
  tags: ["blocks"],
  params: z.object({ height: z.string().regex(/^[0-9]{1,15}$/, 'a height is a non-negative decimal integer').describe("block height (1 or more)") }),
  responses: {
    200: { description: "OK", content: json(S.CommitCertificate) },
    400: ERR.BadRequest,
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const getEpochChange: RouteDoc = {
  operationId: "getEpochChange",
  summary: "How an epoch got its validator set: the previous epoch's last height, its certificate, and a proof of the set under its state root",
  description: "A light client that trusts epoch e − 1's validators checks the certificate with them and the proof against the certified root, and from then on checks epoch e's certificates with the set the proof shows. 404 for epoch 0 (its set is in the genesis) and for an epoch this node did not see begin.",
  tags: ["blocks"],
  params: z.object({ epoch: z.string().regex(/^[0-9]{1,15}$/, 'an epoch is a non-negative decimal integer').describe("the epoch (1 or more)") }),
  responses: {
    200: { description: "OK", content: json(S.EpochChange) },
    400: ERR.BadRequest,
    404: ERR.NotFound,
    503: ERR.NotReady,
  },
}

export const getProof: RouteDoc = {
  operationId: "getProof",
  summary: "A Merkle proof that a state key holds its value, or is absent, under a certified state root",
  description: "Without `height`, the proof is under the newest height that is certified and whose state this node still holds (the last 128 heights it committed); with `height`, under that height. `certificate` is that height's commit certificate (null if this node holds none): a light client checks the certificate against the epoch's validators, then the proof against its state root, and so trusts no single node. For many keys at one height under one certificate, POST /v1/proofs.",
  tags: ["state"],
  params: z.object({ key: z.string().min(1, 'the key is empty').max(MAX_PROOF_KEY_LENGTH, `a state key is at most ${MAX_PROOF_KEY_LENGTH} characters`).describe("the state key, percent-encoded as one path segment (e.g. budget%2Fbank-a); 1 to 512 characters") }),
  query: z.object({ height: z.string().regex(/^[0-9]{1,15}$/, 'a height is a non-negative decimal integer').optional().describe("the height whose state to prove against (one this node retains)") }),
  responses: {
    200: { description: "OK", content: json(S.Proof) },
    400: ERR.BadRequest,
    404: error("the node does not retain the state at this height (code SNAPSHOT_NOT_RETAINED; the message names the heights it retains)"),
    503: ERR.NotReady,
  },
}

export const getProofBatch: RouteDoc = {
  operationId: "getProofBatch",
  summary: "Merkle proofs of up to 2,048 state keys, all under the one certified state root of a height",
  description: "The batch form of GET /v1/proofs/{key}, for a verifier that needs many keys at the same height (an enclave host proving a round's record, its commits, its members' records and the latest checkpoint to its enclave under one certificate). The height is chosen as GET /v1/proofs/{key} chooses it: without `height`, the newest height that is certified and whose state this node still holds (the last 128 heights it committed); with `height`, that height. `proofs` has one entry per key asked, in the order asked, each the DAG-CBOR of the key's trie proof, which carries the value (or shows the key absent); `certificate` is the height's commit certificate (null if this node holds none). A light client checks the certificate against the epoch's validators, then each proof against its header's state root. The body is read under a cap of 512 KiB (or the server's body cap, if smaller).",
  tags: ["state"],
  body: json(S.ProofBatchRequest),
  responses: {
    200: { description: "one proof per key, in the order asked, all at `height`", content: json(S.ProofBatch) },
    400: error(`malformed body: not JSON, not {"keys": [...], "height"?: N}, no keys or more than ${MAX_PROOF_BATCH_KEYS}, a key that is empty, longer than ${MAX_PROOF_KEY_LENGTH} characters or not well-formed Unicode, a key asked twice, or a height that is not a non-negative integer`),
    404: error("the node does not retain the state at this height (code SNAPSHOT_NOT_RETAINED; the message names the heights it retains)"),
    413: error("body larger than 512 KiB"),
    415: error("content type is not application/json"),
    503: ERR.NotReady,
  },
}

export const getSnapshot: RouteDoc = {
  operationId: "getSnapshot",
  summary: "The whole ledger state after a recent block, as DAG-CBOR (what a coordinator needs to write a checkpoint)",
  description: "The committed state after block `height`, while the node retains it: a validator keeps the states of the last 128 heights it committed (MAX_CHECKPOINT_LAG_BLOCKS, the heights a `checkpoint` transaction may anchor); after a restart only the states committed since. The body is DAG-CBOR (not JSON) of `{height, stateRoot, entries}`: `stateRoot` is the 32-byte state root, `entries` every `[key, value]` pair of the state, key-sorted, each value the DAG-CBOR bytes stored under the key: exactly the `entries` of a checkpoint's state.cbor. A client rebuilds the state trie from the entries and checks that it gives `stateRoot`, and that this is the root the chain recorded at that height (GET /v1/blocks/{height}).",
  tags: ["state"],
  params: z.object({ height: z.string().regex(/^[0-9]+$/, 'a height is a non-negative decimal integer').describe("block height (0 is genesis)") }),
  responses: {
    200: { description: "the snapshot, DAG-CBOR-encoded", content: {"application/vnd.ipld.dag-cbor": bytes("application/vnd.ipld.dag-cbor", "DAG-CBOR of {height: integer, stateRoot: bytes(32), entries: [[key: string, value: bytes], \u2026] sorted by key}")} },
    400: ERR.BadRequest,
    404: error("the node does not retain the state at this height (code SNAPSHOT_NOT_RETAINED; the message names the heights it retains)"),
    503: ERR.NotReady,
  },
}

export const getStatus: RouteDoc = {
  operationId: "getStatus",
  summary: "The node's consensus and sync status",
  tags: ["node"],
  responses: {
    200: { description: "OK", content: json(S.NodeStatus) },
    503: ERR.NotReady,
  },
}

export const blockEvents: RouteDoc = {
  operationId: "blockEvents",
  summary: "Committed blocks as a Server-Sent Events stream",
  description: "A text/event-stream that sends one event per committed block, in commit order, from the moment the client connects (no replay: a client that reconnects catches up with GET /v1/blocks/{ref}). Each event is `event: block` followed by `data: ` and one line of JSON (the component schema BlockEvent). A comment line `: keep-alive` goes out every 15 s so that idle timeouts and proxies leave the connection open. A client that stops reading is cut off once 8 MiB of events wait for it; the stream also ends when the node's API stops. A server holds at most 64 open streams by default.",
  tags: ["events"],
  query: z.object({ txs: z.enum(['true', 'false'], "txs must be 'true' or 'false'").optional().describe("false leaves the transaction ids out of each event (default true)") }),
  responses: {
    200: { description: "the event stream; it stays open until the client goes away, falls too far behind, or the node's API stops", content: {"text/event-stream": z.string().describe("`event: block\\ndata: <BlockEvent JSON>\\n\\n` per committed block, and `: keep-alive\\n\\n` comments")} },
    400: error("txs is neither 'true' nor 'false'"),
    404: error("this node serves no event streams (code EVENTS_DISABLED): its API was built without a block feed"),
    503: { description: "the server already holds its maximum of open streams (code TOO_MANY_STREAMS, with Retry-After), or it is stopping (NOT_READY)", content: json(S.ErrorBody), headers: RETRY_AFTER },
  },
}

export const adminBlock: RouteDoc = {
  operationId: "adminBlock",
  summary: "Block libp2p peers (testnet-only fault injection: network partitions by connection gating)",
  description: "Testnet-only fault injection. Refuses connections to and from these peers (both directions) and closes the open ones, so a test harness can split the network into partitions. Blocking a peer that is already blocked is a no-op; duplicates in the list are ignored.",
  tags: ["admin"],
  body: json(S.AdminPeers),
  responses: {
    200: { description: "done; lists every peer blocked now", content: json(S.BlockedPeers) },
    400: PEERS_REFUSED,
    ...ADMIN_ERRORS,
  },
}

export const adminUnblock: RouteDoc = {
  operationId: "adminUnblock",
  summary: "Unblock libp2p peers (testnet-only fault injection: network partitions by connection gating)",
  description: "Testnet-only fault injection. Lifts a block set by POST /v1/admin/block, healing a partition; static peers among them are redialled at once. Unblocking a peer that is not blocked is a no-op.",
  tags: ["admin"],
  body: json(S.AdminPeers),
  responses: {
    200: { description: "done; lists every peer blocked now", content: json(S.BlockedPeers) },
    400: PEERS_REFUSED,
    ...ADMIN_ERRORS,
  },
}

export const adminDelay: RouteDoc = {
  operationId: "adminDelay",
  summary: "Delay this node's outgoing libp2p traffic (testnet-only fault injection: a slow validator)",
  description: "Testnet-only fault injection. From now on every gossip message this node publishes and every direct message or request it sends leaves `ms` milliseconds after the node made it, in the order made (gossip it forwards for others and responses it serves are not held back). `ms` 0 turns the delay off; messages already waiting still leave at their time. The delay lives in the node's memory, so a restarted validator comes back without it; messages still waiting when the node stops are dropped.",
  tags: ["admin"],
  body: json(S.AdminDelay),
  responses: {
    200: { description: "done; the delay in force now", content: json(S.DelayState) },
    400: error("malformed body: not JSON, not {\"ms\": N}, or N not an integer from 0 to 10000"),
    ...ADMIN_ERRORS,
  },
}

export const health: RouteDoc = {
  operationId: "health",
  summary: "Liveness: 200 when the server runs and the store answers; reports the lag",
  tags: ["node"],
  responses: {
    200: { description: "OK", content: json(S.Health) },
    503: ERR.NotReady,
  },
}

export const metrics: RouteDoc = {
  operationId: "metrics",
  summary: "Prometheus metrics (text exposition format)",
  tags: ["node"],
  responses: {
    200: { description: "metrics", content: {"text/plain": z.string()} },
    503: ERR.NotReady,
  },
}

export const openapi: RouteDoc = {
  operationId: "openapi",
  summary: "This document (OpenAPI 3.1), generated by the node",
  tags: ["node"],
  responses: {
    200: { description: "the OpenAPI document", content: {"application/json": z.object({}).loose()} },
  },
}

export const index: RouteDoc = {
  operationId: "index",
  summary: "A page listing every route with its summary, for people",
  tags: ["node"],
  responses: {
    200: { description: "an HTML page", content: {"text/html": z.string()} },
  },
}

