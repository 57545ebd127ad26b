/**
 * The JSON shapes the API returns, and the conversions from ledger records to
 * them. Every field that holds bytes is hex, every CID a string (see json.ts);
 * openapi.json documents the same shapes.
 */
import { epsilonFromRdp, StateKey, type BudgetRecord, type ChainParams, type LedgerState, type RoundRecord } from '../../ledger/index.ts'
import { signersOf, type CommitCertificate } from '../../consensus/index.ts'
import { encode, toHex } from '../../primitives/index.ts'
import { toJson, type JsonValue, type TrieProofJson } from './json.ts'

export type JsonObject = { [key: string]: JsonValue }

export interface ReceiptView {
  index: number
  tx: string
  code: string
  message: string
}

export interface TxView {
  id: string
  height: number
  index: number
  block: string
  receipt: ReceiptView
  /** the signed transaction as decoded: { tx: { chain, type, sender, nonce, body }, sig, approvals? } */
  tx: JsonValue
}

export interface BlockView {
  id: string
  chain: string
  height: number
  /** unix seconds, agreed by consensus */
  time: number
  parent: string | null
  stateRoot: string
  txs: string[]
  receipts: ReceiptView[]
  summary: { txs: number; ok: number; refused: number }
}

export interface RoundSummary {
  id: string
  status: string
  coordinator: string
  enclave: string
  openedAt: number
  deadline: number
  eligibleCount: number
  commitCount: number
  /** the result's model CID, or null before a result */
  model: string | null
}

export interface BudgetView {
  height: number
  member: string
  delta: number
  epsilonCap: number
  /** ε of what results have charged */
  epsilonSpent: number
  /** epsilonCap − epsilonSpent */
  epsilonRemaining: number
  /** ε of spent plus every open reservation (RDP composes; ε does not add) */
  epsilonCommitted: number
  /** epsilonCap − epsilonCommitted: what a new round may still reserve */
  epsilonAvailable: number
  reservations: Array<{ round: string; epsilon: number }>
}

export interface ProofView {
  key: string
  height: number
  /** the state root the proof leads to (hex) */
  stateRoot: string
  included: boolean
  /** the value decoded from DAG-CBOR as JSON, or null when absent */
  value: JsonValue
  /** the value's DAG-CBOR bytes (hex): what the proof commits to */
  valueCbor: string | null
  proof: TrieProofJson
  /** DAG-CBOR of the TrieProof (hex): `verifyProof(root, key, decode(bytes))` */
  proofCbor: string
  /** the commit certificate of `height` (added by the route), null if the node holds none */
  certificate?: CommitView | null
}

export function receiptView(r: { index: number; tx: unknown; code: string; message: string }): ReceiptView {
  return { index: r.index, tx: String(r.tx), code: r.code, message: r.message }
}

/** A member or enclave record, with whether it is revoked at `height`. */
export function revocableView(rec: object & { revokedAt: number | null }, height: number): JsonObject {
  return { ...(toJson(rec) as JsonObject), revoked: rec.revokedAt !== null && rec.revokedAt <= height }
}

export function roundSummary(r: RoundRecord): RoundSummary {
  return {
    id: r.id,
    status: r.status,
    coordinator: r.coordinator,
    enclave: r.enclave,
    openedAt: r.openedAt,
    deadline: r.deadline,
    eligibleCount: r.eligibleCount,
    commitCount: r.commitCount,
    model: r.result === null ? null : r.result.model.toString(),
  }
}

export function budgetView(state: LedgerState, params: ChainParams, b: BudgetRecord): BudgetView {
  const orders = params.rdpOrders
  const eps = (curve: readonly number[]) => (curve.every((x) => x === 0) ? 0 : epsilonFromRdp(orders, curve, b.delta, 'improved').epsilon)
  let committed: number[] = [...b.spent]
  const reservations: BudgetView['reservations'] = []
  for (const round of b.reservations) {
    const rdp = state.get<number[]>(StateKey.roundRdp(round))
    if (rdp === undefined) continue
    committed = committed.map((x, i) => x + (rdp[i] ?? 0))
    reservations.push({ round, epsilon: eps(rdp) })
  }
  const epsilonCommitted = eps(committed)
  return {
    height: state.height,
    member: b.member,
    delta: b.delta,
    epsilonCap: b.epsilonCap,
    epsilonSpent: b.epsilonSpent,
    epsilonRemaining: Math.max(0, b.epsilonCap - b.epsilonSpent),
    epsilonCommitted,
    epsilonAvailable: Math.max(0, b.epsilonCap - epsilonCommitted),
    reservations,
  }
}

export interface CommitView {
  header: { chain: string; genesis: string; epoch: number; height: number; block: string; ledgerBlock: string | null; stateRoot: string }
  signers: number[]
  signatures: { signers: string; signature: string }
  certificateCbor: string
}

/** A commit certificate as GET /v1/commits/{height} shows it, with its DAG-CBOR for light clients. */
export function commitView(cert: CommitCertificate): CommitView {
  const h = cert.header
  const { signers, signature } = cert.signatures
  return {
    header: { chain: h.chain, genesis: toHex(h.genesis), epoch: h.epoch, height: h.height, block: toHex(h.block), ledgerBlock: h.ledgerBlock?.toString() ?? null, stateRoot: toHex(h.stateRoot) },
    signers: signersOf(signers, signers.length * 8),
    signatures: { signers: toHex(signers), signature: toHex(signature) },
    certificateCbor: toHex(encode(cert)),
  }
}
