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
 *
 * Two optional fields appear only when they apply, so transcripts without them
 * hash as before: `aggregation.centralNoiseMultiplier` when the round sets the
 * central noise explicitly (absent: training.noiseMultiplier), and
 * `reaggregation: { without: [member, …] ascending, previous: transcript hash }`
 * on the result of a re-aggregation after revocations.
 */
import { encode, sha256, type CID } from '../../primitives/index.ts'
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
  /** m as applied; centralNoiseMultiplier only when the round sets it */
  aggregation: { f: number; m: number; centralNoiseMultiplier?: number }
  dp: RoundDpParams
  dimension: number
  scale: number
  /** the noised mean update as published */
  update: Float32Array
  /** on a re-aggregation: the revoked members dropped and the transcript hash of the release it replaces */
  reaggregation?: { without: readonly string[]; previous: Uint8Array }
}

/** Code-unit order (not locale order): the same on every machine. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The transcript object, with its lists in canonical order. */
export function roundTranscript(t: RoundTranscriptInput): Record<string, unknown> {
  const aggregation: Record<string, unknown> = { rule: 'multi-krum', f: t.aggregation.f, m: t.aggregation.m }
  if (t.aggregation.centralNoiseMultiplier !== undefined) aggregation.centralNoiseMultiplier = t.aggregation.centralNoiseMultiplier
  const transcript: Record<string, unknown> = {
    v: ROUND_TRANSCRIPT_VERSION,
    chain: t.chain,
    round: t.round,
    commits: t.commits.map((c) => [c.member, c.ciphertext]),
    included: [...t.included].sort(compareIds),
    excluded: [...t.excluded].sort((a, b) => compareIds(a.member, b.member)).map((e) => [e.member, e.reason]),
    aggregation,
    dp: { clipNorm: t.dp.clipNorm, noiseMultiplier: t.dp.noiseMultiplier, samplingRate: t.dp.samplingRate, steps: t.dp.steps },
    dimension: t.dimension,
    scale: t.scale,
    updateHash: sha256(encodeUpdate(t.update)),
  }
  if (t.reaggregation !== undefined) transcript.reaggregation = { without: [...t.reaggregation.without].sort(compareIds), previous: t.reaggregation.previous }
  return transcript
}

/** sha256 of the transcript's canonical DAG-CBOR: round.result's transcriptHash. */
export function roundTranscriptHash(t: RoundTranscriptInput): Uint8Array {
  return sha256(encode(roundTranscript(t)))
}
