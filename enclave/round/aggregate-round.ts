/**
 * The enclave's round pipeline (docs/ARCHITECTURE.md §2 step 4) as one pure function:
 * the ledger's committed set in, the noised aggregate and everything round.result
 * needs out.
 *
 *   1. check: for each commit in ledger order, rebuild the member's update
 *      statement from the commit record and run checkUpdate on the envelope the
 *      member sent. A member the ledger revoked → excluded 'REVOKED' (never
 *      opened); no envelope → excluded 'NO_UPDATE'; a rejection → excluded
 *      with its code (UpdateRejectionCode).
 *   2. if n valid ≤ 2f + 2, Multi-Krum cannot run: the outcome is 'insufficient'
 *      (the caller leaves the round to abort).
 *   3. Multi-Krum over the valid updates in ledger order with f and
 *      m' = min(m, n − f); the valid ones it does not select → 'MULTI_KRUM'.
 *   4. central DP: the quantized sum of the selected updates plus discrete
 *      Gaussian noise of std σ·Δ·scale, Δ = quantizedSensitivity(C, scale, d),
 *      dequantized and divided by |selected| (noised-mean.ts). σ is the round's
 *      aggregation.centralNoiseMultiplier when set (0 = no central noise), else
 *      training.noiseMultiplier.
 *   5. the transcript hash (transcript.ts).
 *
 * The returned `update` is the noised MEAN update; the caller adds it to the base
 * model's weights to get the new model. It also carries what sealed storage
 * needs for a later re-aggregation: the selected members' updates and the
 * integer noise vector of this release. Excluded reasons are short codes that fit
 * the ledger's Exclusion.reason, and included ∪ excluded is exactly the committed
 * set, each member once, as ledger/exec/results.ts requires; |included| ≤ m.
 *
 * Deterministic given `rng`: fixed orders everywhere, no clock except
 * performance.now() for the reported timings, no I/O. Envelopes of members
 * without a commit are ignored.
 */
import { Identifier, REVOKED_EXCLUSION, type CommitRecord } from '../../ledger/index.ts'
import { CID } from '../../primitives/index.ts'
import { multiKrum } from '../aggregate/index.ts'
import type { RandomSource } from '../noise/index.ts'
import { checkUpdate, X25519_KEY_BYTES, type UpdateRejectionCode } from '../updates/index.ts'
import { RoundError } from './errors.ts'
import { noisedMeanParts } from './noised-mean.ts'
import { compareIds, roundTranscriptHash, type TranscriptExclusion, type RoundDpParams } from './transcript.ts'

/** Why a committed member is not in the aggregate: a checkUpdate code, or one of the pipeline's own. */
export type RoundExclusionReason = UpdateRejectionCode | 'NO_UPDATE' | 'MULTI_KRUM' | 'REVOKED'
export const NO_UPDATE = 'NO_UPDATE'
export const MULTI_KRUM = 'MULTI_KRUM'
/** the ledger revoked the member: its update is never opened (and a re-aggregation drops it); the ledger's code */
export const REVOKED = REVOKED_EXCLUSION

/** What the pipeline needs of a round (a ledger RoundRecord fits). */
export interface RoundSpec {
  id: string
  /** centralNoiseMultiplier: σ of the central noise, 0 = none; absent = training.noiseMultiplier */
  aggregation: { f: number; m: number; centralNoiseMultiplier?: number | undefined }
  training: { clipNorm: number; noiseMultiplier: number; samplingRate: number; localEpochs: number }
  steps: number
}

export interface AggregateRoundInput {
  chain: string
  round: RoundSpec
  /** the model's number of parameters */
  dimension: number
  /** the ledger's committed set for this round, in ledger order (seq 0, 1, 2, …) */
  commits: readonly CommitRecord[]
  /** envelope bytes received, by member */
  envelopes: ReadonlyMap<string, Uint8Array>
  /** registered ed25519 public keys, by member; every committed member must have one */
  memberKeys: ReadonlyMap<string, Uint8Array>
  /** committed members the ledger has revoked: excluded 'REVOKED' without opening their updates */
  revoked?: ReadonlySet<string>
  /** the round's x25519 secret key */
  roundSecretKey: Uint8Array
  /** quantization scale for the noise, a power of two (e.g. 2^16) */
  scale: number
}

export interface RoundTimings {
  checkMs: number
  krumMs: number
  noiseMs: number
}

export interface RoundExclusion extends TranscriptExclusion {
  reason: RoundExclusionReason
}

export interface InsufficientRound {
  kind: 'insufficient'
  /** valid updates */
  valid: number
  /** 2f + 3: the fewest Multi-Krum accepts */
  needed: number
  /** sorted by member */
  excluded: RoundExclusion[]
  timings: RoundTimings
}

export interface AggregatedRound {
  kind: 'aggregated'
  /** the noised mean of the selected updates; add it to the base model */
  update: Float32Array
  /** ascending */
  included: string[]
  /** sorted by member */
  excluded: RoundExclusion[]
  dp: RoundDpParams
  /** m as applied: min(m, n − f) */
  m: number
  transcriptHash: Uint8Array
  timings: RoundTimings
  /** σ of the central noise as applied (0 = none) */
  centralNoiseMultiplier: number
  /** the selected members' updates, by member ascending (as `included`) */
  selected: Array<{ member: string; update: Float32Array }>
  /** the integer noise vector added to the quantized sum (all zeros when σ = 0) */
  noise: BigInt64Array
}

export type RoundOutcome = AggregatedRound | InsufficientRound

function bad(message: string): RoundError {
  return new RoundError('BAD_ARGUMENT', message)
}

function checkNumber(v: unknown, name: string, ok: (x: number) => boolean, what: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw bad(`${name} must be ${what}, got ${String(v)}`)
}

function isPowerOfTwo(x: number): boolean {
  return x > 0 && Number.isInteger(Math.log2(x)) && 2 ** Math.log2(x) === x
}

function checkInput(input: AggregateRoundInput): void {
  if (typeof input !== 'object' || input === null) throw bad('aggregateRound needs an input object')
  const { round } = input
  if (!Identifier.safeParse(input.chain).success) throw bad(`chain '${String(input.chain)}' is not an identifier`)
  if (typeof round !== 'object' || round === null || !Identifier.safeParse(round.id).success) throw bad('round.id is not an identifier')
  checkNumber(round.aggregation?.f, 'aggregation.f', (x) => Number.isSafeInteger(x) && x >= 0, 'an integer ≥ 0')
  checkNumber(round.aggregation?.m, 'aggregation.m', (x) => Number.isSafeInteger(x) && x >= 1, 'an integer ≥ 1')
  checkNumber(round.training?.clipNorm, 'training.clipNorm', (x) => x > 0, 'a number > 0')
  checkNumber(round.training?.noiseMultiplier, 'training.noiseMultiplier', (x) => x > 0, 'a number > 0')
  if (round.aggregation.centralNoiseMultiplier !== undefined) {
    checkNumber(round.aggregation.centralNoiseMultiplier, 'aggregation.centralNoiseMultiplier', (x) => x >= 0, 'a number ≥ 0')
  }
  checkNumber(round.training?.samplingRate, 'training.samplingRate', (x) => x > 0 && x <= 1, 'in (0, 1]')
  checkNumber(round.steps, 'steps', (x) => Number.isSafeInteger(x) && x >= 1, 'an integer ≥ 1')
  checkNumber(input.dimension, 'dimension', (x) => Number.isSafeInteger(x) && x >= 1, 'an integer ≥ 1')
  checkNumber(input.scale, 'scale', isPowerOfTwo, 'a power of two')
  if (!(input.roundSecretKey instanceof Uint8Array) || input.roundSecretKey.length !== X25519_KEY_BYTES) throw bad(`the round secret key must be ${X25519_KEY_BYTES} bytes`)
  if (!(input.envelopes instanceof Map) || !(input.memberKeys instanceof Map)) throw bad('envelopes and memberKeys must be Maps')
  if (!Array.isArray(input.commits)) throw bad('commits must be an array')
  const seen = new Set<string>()
  input.commits.forEach((c, i) => {
    if (c.round !== round.id) throw bad(`commit ${i} is for round '${c.round}', not '${round.id}'`)
    if (c.seq !== i) throw bad(`commit ${i} has seq ${c.seq}: pass the whole committed set in ledger order`)
    if (seen.has(c.member)) throw bad(`member '${c.member}' committed twice`)
    seen.add(c.member)
    if (CID.asCID(c.ciphertext) === null) throw bad(`commit ${i}'s ciphertext is not a CID`)
    const key = input.memberKeys.get(c.member)
    if (!(key instanceof Uint8Array) || key.length !== 32) throw bad(`no 32-byte ed25519 key for committed member '${c.member}'`)
  })
}

const byMember = (a: TranscriptExclusion, b: TranscriptExclusion): number => compareIds(a.member, b.member)

/** Runs the round pipeline; see the file comment. Throws RoundError only for the caller's malformed input. */
export function aggregateRound(input: AggregateRoundInput, rng: RandomSource): RoundOutcome {
  const checked = checkCommitted(input)
  if (checked.kind === 'insufficient') return checked
  const t1 = performance.now()
  const { selected } = multiKrum(checked.valid.map((v) => v.update), { f: input.round.aggregation.f, m: checked.m })
  return conclude(input, checked, selected, performance.now() - t1, rng)
}

/** Pairwise squared distances computed elsewhere, bit for bit as pairwiseSquaredDistances (DistanceWorkers). */
export interface DistancePool {
  pairwiseSquaredDistances(updates: readonly Float32Array[]): Promise<Float64Array>
}

/**
 * aggregateRound with Multi-Krum's distances from `pool` (worker threads): the
 * same outcome for the same input and randomness, in less time.
 */
export async function aggregateRoundOn(input: AggregateRoundInput, rng: RandomSource, pool: DistancePool): Promise<RoundOutcome> {
  const checked = checkCommitted(input)
  if (checked.kind === 'insufficient') return checked
  const t1 = performance.now()
  const updates = checked.valid.map((v) => v.update)
  const distances = await pool.pairwiseSquaredDistances(updates)
  const { selected } = multiKrum(updates, { f: input.round.aggregation.f, m: checked.m, distances })
  return conclude(input, checked, selected, performance.now() - t1, rng)
}

interface Checked {
  kind: 'checked'
  valid: Array<{ member: string; update: Float32Array }>
  excluded: RoundExclusion[]
  /** the m Multi-Krum uses: min(m, n − f) */
  m: number
  checkMs: number
}

/** Steps 1 and 2: every committed update checked in ledger order; 'insufficient' when Multi-Krum cannot run. */
function checkCommitted(input: AggregateRoundInput): Checked | Extract<RoundOutcome, { kind: 'insufficient' }> {
  checkInput(input)
  const { chain, round, dimension } = input
  const { clipNorm } = round.training
  const { f } = round.aggregation

  const t0 = performance.now()
  const excluded: RoundExclusion[] = []
  const valid: Array<{ member: string; update: Float32Array }> = []
  for (const c of input.commits) {
    if (input.revoked?.has(c.member) === true) {
      excluded.push({ member: c.member, reason: REVOKED })
      continue
    }
    const envelope = input.envelopes.get(c.member)
    if (envelope === undefined) {
      excluded.push({ member: c.member, reason: NO_UPDATE })
      continue
    }
    const result = checkUpdate({
      chain,
      round: round.id,
      member: c.member,
      memberPublicKey: input.memberKeys.get(c.member)!,
      statement: { chain, round: round.id, member: c.member, plaintextHash: c.plaintextHash, declaredNorm: c.declaredNorm },
      statementSig: c.statementSig,
      envelope,
      committedCiphertext: c.ciphertext,
      roundSecretKey: input.roundSecretKey,
      clipNorm,
      dimension,
    })
    if (result.ok) valid.push({ member: c.member, update: result.update })
    else excluded.push({ member: c.member, reason: result.reason })
  }
  const checkMs = performance.now() - t0

  const n = valid.length
  if (n <= 2 * f + 2) {
    return { kind: 'insufficient', valid: n, needed: 2 * f + 3, excluded: excluded.sort(byMember), timings: { checkMs, krumMs: 0, noiseMs: 0 } }
  }
  return { kind: 'checked', valid, excluded, m: Math.min(round.aggregation.m, n - f), checkMs }
}

/** Steps 3 (the rest) to 5: exclusions by Multi-Krum, the noised mean, the transcript. */
function conclude(input: AggregateRoundInput, checked: Checked, selected: readonly number[], krumMs: number, rng: RandomSource): RoundOutcome {
  const { chain, round, dimension, scale } = input
  const { clipNorm, noiseMultiplier, samplingRate } = round.training
  const { f, centralNoiseMultiplier } = round.aggregation
  const central = centralNoiseMultiplier ?? noiseMultiplier
  const { valid, excluded, m, checkMs } = checked
  const chosen = new Set(selected)
  valid.forEach((v, i) => {
    if (!chosen.has(i)) excluded.push({ member: v.member, reason: MULTI_KRUM })
  })

  // 4. central DP on the sum of the selected updates
  const t2 = performance.now()
  const { mean: update, noise } = noisedMeanParts(selected.map((i) => valid[i]!.update), { clipNorm, noiseMultiplier: central, scale }, rng)
  const noiseMs = performance.now() - t2

  // 5. transcript
  const included = selected.map((i) => valid[i]!.member).sort(compareIds)
  excluded.sort(byMember)
  const dp: RoundDpParams = { clipNorm, noiseMultiplier, samplingRate, steps: round.steps }
  const transcriptHash = roundTranscriptHash({
    chain,
    round: round.id,
    commits: input.commits.map((c) => ({ member: c.member, ciphertext: c.ciphertext })),
    included,
    excluded,
    aggregation: centralNoiseMultiplier === undefined ? { f, m } : { f, m, centralNoiseMultiplier },
    dp,
    dimension,
    scale,
    update,
  })
  const chosenUpdates = selected.map((i) => valid[i]!).sort((a, b) => compareIds(a.member, b.member))
  return { kind: 'aggregated', update, included, excluded, dp, m, transcriptHash, timings: { checkMs, krumMs, noiseMs }, centralNoiseMultiplier: central, selected: chosenUpdates, noise }
}
