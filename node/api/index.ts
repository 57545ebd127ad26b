/**
 * node/api/: the validator's HTTP JSON API, its OpenAPI document and its
 * Prometheus metrics. `LedgerQueries` reads the committed chain (ChainStore) and
 * the current LedgerState and returns JSON-ready views (bytes as lowercase hex,
 * CIDs as strings, lists paged by cursor); `ApiServer` serves them on fastify
 * with /v1 routes, POST /v1/txs (raw DAG-CBOR or {"tx": "<base64>"}) and
 * /v1/txs/batch (up to MAX_BATCH_TXS per request, one result each), committed
 * blocks as Server-Sent Events at /v1/events/blocks (from an optional `blocks`
 * component, a BlockFeed the node wires to its commit path), /healthz,
 * /metrics, Merkle proofs with the commit certificate of their height at
 * /v1/proofs/{key} and, for up to MAX_PROOF_BATCH_KEYS keys at one height, POST
 * /v1/proofs, recent whole states as DAG-CBOR at /v1/snapshots/{height} (from an
 * optional `snapshots` component of LedgerQueries, the node's LedgerApp) and,
 * on testnets only, POST /v1/admin/block|unblock (connection gating for
 * partitions, through an optional `admin` component), with a body cap,
 * request timeouts and JSON errors `{ "error": { "code", "message" } }`;
 * `NodeMetrics` owns every metric name so the driver only calls methods. It is
 * not a light client or a wallet: it never signs, never writes the chain, and
 * holds no state of its own beyond a per-state list index and the last encoded
 * snapshot. It serves its own OpenAPI 3.1 document at /openapi.json, generated from
 * the routes it registers (routes.ts with route-docs.ts; openapi.ts) and the zod
 * schemas of schemas.ts, which it validates parameters with and clients parse
 * responses with, and an index of the routes for people at /v1.
 */
export { ApiServer, DEFAULT_MAX_BODY_BYTES, type ApiServerComponents, type ApiServerOptions } from './server.ts'
export { DEFAULT_MAX_BATCH_BODY_BYTES, MAX_BATCH_TXS, type BatchItemResult } from './batch.ts'
export { ADMIT_CHUNK } from '../mempool/index.ts'
export { DEFAULT_EVENT_KEEP_ALIVE_MS, DEFAULT_EVENT_MAX_BUFFERED_BYTES, DEFAULT_MAX_EVENT_STREAMS, type BlockFeed, type CommittedBlock } from './events.ts'
export { LedgerQueries, DEFAULT_COMMIT_PAGE, type LedgerQueriesComponents } from './queries.ts'
export { MAX_PROOF_BATCH_KEYS, MAX_PROOF_KEY_LENGTH } from './schemas.ts'
export { MAX_PROOF_BATCH_BODY_BYTES, PROOF_CHUNK, ProofLies } from './proofs.ts'
export { encodeSnapshot, SNAPSHOT_CONTENT_TYPE, type SnapshotBody, type SnapshotSource } from './snapshots.ts'
export { NodeMetrics, type ApiRequestObserver, type MessageVerdict, type NodeMetricsComponents, type NodeMetricsOptions } from './metrics.ts'
export { ApiError, ApiErrorCode, SubmitError, type SubmitErrorReason } from './errors.ts'
export { statusToJson, type NodeStatus, type NodeStatusJson } from './status.ts'
export { MAX_ADMIN_PEERS, MAX_PEER_ID_LENGTH, ROUTES, type ApiAdmin, type CommitSource, type HttpMethod, type RouteDef, type SubmitFn } from './routes.ts'
export { API_TAGS, type ResponseDoc, type RouteDoc } from './route-docs.ts'
export { openApiDocument, operationList } from './openapi.ts'
export {
  ApiClient, ApiClientError, isApiClientError, sleep, SUBMIT_RETRY_MS,
  type ApiClientErrorCode, type ApiClientOptions, type CallOptions, type SnapshotOptions, type FetchedSnapshot, type NodeStatusView,
  type RoundView, type RoundDetail, type RoundResultView, type MemberView, type CheckpointView, type ChainParamsView, type EnclaveView, type TxReceipt, type ProofBatchAnswer,
} from './client.ts'
export { VerifiedReader, VerifiedReads, VerifiedReadError, type SyncedState, type ValidatorFault, type VerifiedRead, type VerifiedReaderComponents, type VerifiedReaderOptions } from './verified.ts'
export * as apiSchemas from './schemas.ts'
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type Page, type PageRequest } from './state-index.ts'
export { toJson, trieProofFromJson, trieProofToJson, type JsonValue, type TrieProofJson } from './json.ts'
export type { BlockView, BudgetView, CommitView, ProofView, ReceiptView, RoundSummary, TxView } from './views.ts'
