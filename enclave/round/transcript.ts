/**
 * The round transcript: what an enclave did in one round, as one canonical
 * DAG-CBOR object whose sha256 is round.result's `transcriptHash`. Anyone holding
 * the committed set, the result and the published update can rebuild it and
 * check the hash. Field order does not matter (DAG-CBOR sorts map keys); list
 * orders are fixed here: commits in ledger order, included ascending, excluded
 * sorted by member (code-unit order, as the ledger's ids are ASCII).
 *
 *   { v: 1, chain, round,
 *     commits:   [[member, ciphertext CID], …]   ledger order
 *     included:  [member, …]                     ascending
 *     excluded:  [[member, reason], …]           by member
 *     aggregation: { rule: 'multi-krum', f, m }  m as applied: min(m, n − f)
 *     dp: { clipNorm, noiseMultiplier, samplingRate, steps },
 *     dimension, scale,
 *     updateHash: sha256(encodeUpdate(update)) }
 */
import { encode, sha256, type CID } from '../../ledger/index.ts'
import { encodeUpdate } from '../updates/index.ts'

export const ROUND_TRANSCRIPT_VERSION = 1

export interface RoundDpParams {
  clipNorm: number
  noiseMultiplier: number
  samplingRate: number
  steps: number
}

export interface TranscriptExclusion {
  member: string
  reason: string
}

export interface RoundTranscriptInput {
  chain: string
  round: string
  /** the committed set in ledger order */
  commits: ReadonlyArray<{ member: string; ciphertext: CID }>
  included: readonly string[]
  excluded: readonly TranscriptExclusion[]
  aggregation: { f: number; m: number }
  dp: RoundDpParams
  dimension: number
  scale: number
  /** the noised mean update as published */
  update: Float32Array
}

/** Code-unit order (not locale order): the same on every machine. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The transcript object, with its lists in canonical order. */
export function roundTranscript(t: RoundTranscriptInput): Record<string, unknown> {
  return {
    v: ROUND_TRANSCRIPT_VERSION,
    chain: t.chain,
    round: t.round,
    commits: t.commits.map((c) => [c.member, c.ciphertext]),
    included: [...t.included].sort(compareIds),
    excluded: [...t.excluded].sort((a, b) => compareIds(a.member, b.member)).map((e) => [e.member, e.reason]),
    aggregation: { rule: 'multi-krum', f: t.aggregation.f, m: t.aggregation.m },
    dp: { clipNorm: t.dp.clipNorm, noiseMultiplier: t.dp.noiseMultiplier, samplingRate: t.dp.samplingRate, steps: t.dp.steps },
    dimension: t.dimension,
    scale: t.scale,
    updateHash: sha256(encodeUpdate(t.update)),
  }
}

/** sha256 of the transcript's canonical DAG-CBOR: round.result's transcriptHash. */
export function roundTranscriptHash(t: RoundTranscriptInput): Uint8Array {
  return sha256(encode(roundTranscript(t)))
}
