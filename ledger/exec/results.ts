/**
 * Handlers that end a round and anchor progress: `round.result` (from the
 * assigned enclave, after the deadline or once every eligible member has
 * committed, accounting for exactly the committed set), `round.close`, `round.discard` and `checkpoint`. A result charges the round's RDP to
 * every committed member whose update the enclave opened, included or excluded
 * (UNOPENED_EXCLUSIONS), and releases every eligible member's reservation.
 * After a member is revoked, a round it was included in accepts one more result
 * (a re-aggregation without it); budgets are not charged again.
 */
import { bytesEqual, toHex } from '../../primitives/index.ts'
import { LedgerError } from '../errors.ts'
import { StateKey } from '../state/keys.ts'
import type { BudgetRecord, CheckpointRecord, MemberRecord, RoundRecord, RoundResultRecord } from '../state/records.ts'
import type { StateOverlay } from '../state/state.ts'
import { addCurves, epsilonOf } from './budget.ts'
import { isRevoked, requireEnclave, requireGovernance, requireRole, type TxContext } from './context.ts'
import { getRound } from './rounds.ts'

/**
 * The exclusion reasons (the enclave's codes, enclave/updates and
 * enclave/round) that say the enclave never opened the member's update: no update
 * arrived, or it failed a check made before decryption (it is not the committed
 * envelope, names another chain, round or member, its statement's signature fails,
 * it is malformed or does not decrypt), or the member was revoked when the
 * enclave aggregated (REVOKED, checked here). Every other committed member is charged:
 * its plaintext was in the enclave, and which updates Multi-Krum selects depends on
 * the distances between all of them, so even an excluded update shapes the release.
 * A reason that may come before or after decryption (WRONG_LENGTH, NORM_ABOVE_BOUND)
 * is charged: overcharging costs a member budget, undercharging would cost it privacy.
 */
export const UNOPENED_EXCLUSIONS: ReadonlySet<string> = new Set(['NO_UPDATE', 'NOT_COMMITTED', 'WRONG_ROUND', 'WRONG_MEMBER', 'BAD_STATEMENT_SIGNATURE', 'MALFORMED', 'DECRYPT_FAILED', 'REVOKED'])

/** The exclusion reason of a member the ledger had revoked: the enclave does not open its update (and a re-aggregation drops it). */
export const REVOKED = 'REVOKED'

function mismatch(message: string): LedgerError {
  return new LedgerError('RESULT_MISMATCH', message)
}

export function roundResult(ctx: TxContext<'round.result'>): void {
  const enclave = requireEnclave(ctx)
  const b = ctx.tx.body
  const { state } = ctx
  const r = getRound(state, b.round)
  if (r.enclave !== enclave.id) throw new LedgerError('ENCLAVE_NOT_ASSIGNED', `round '${r.id}' is assigned to enclave '${r.enclave}', not '${enclave.id}'`)
  const reaggregation = r.result !== null
  if (reaggregation) {
    if (r.reaggregate.length === 0 || r.status === 'discarded') throw new LedgerError('ROUND_STATE', `round '${r.id}' already has a result`)
  } else {
    if (r.status !== 'keyed') throw new LedgerError('ROUND_STATE', `round '${r.id}' is ${r.status}; a result needs a keyed round`)
    // Once every eligible member has committed, no commit can change the set: the result need not wait.
    if (ctx.block.height <= r.deadline && r.commitCount < r.eligibleCount) {
      throw new LedgerError('DEADLINE_NOT_REACHED', `round '${r.id}' accepts commits until height ${r.deadline} (${r.commitCount} of ${r.eligibleCount} eligible members committed)`)
    }
  }

  // The result accounts for exactly the committed set: each member once, included or excluded.
  // Every listed member has a commit and the counts agree, so the two sets are equal.
  const included = new Set(b.included)
  const seen = new Set<string>()
  for (const id of [...b.included, ...b.excluded.map((e) => e.member)]) {
    if (seen.has(id)) throw mismatch(`member '${id}' appears twice in the result`)
    if (state.getRaw(StateKey.commit(r.id, id)) === undefined) throw mismatch(`member '${id}' did not commit to round '${r.id}'`)
    seen.add(id)
  }
  if (seen.size !== r.commitCount) throw mismatch(`result accounts for ${seen.size} of the ${r.commitCount} committed members`)
  if (included.size === 0 && !reaggregation) throw mismatch('a result includes at least one update; with none valid, the round is left to abort')
  // Re-aggregating without every included member leaves nothing: the round contributes no update.
  if (included.size === 0 && !b.model.equals(r.baseModel)) throw mismatch(`a re-aggregation that includes nobody keeps the base model ${r.baseModel}`)
  if (included.size > r.aggregation.m) throw mismatch(`result includes ${included.size} updates; Multi-Krum selects at most m = ${r.aggregation.m}`)
  const original = new Set(r.result?.included ?? [])
  // Members revoked after the enclave computed the result but before it landed: the result is
  // taken and they are pending re-aggregation at once, exactly as if their revocation had come
  // just after it (a re-aggregation reuses the release's noise, where computing the round
  // again would draw new noise over the same updates). A re-aggregation must apply them all.
  const revokedIncluded: string[] = []
  for (const id of included) {
    const m = state.get<MemberRecord>(StateKey.member(id))
    if (m !== undefined && isRevoked(m, ctx.block.height)) {
      if (reaggregation) throw mismatch(`re-aggregation includes revoked member '${id}'`)
      revokedIncluded.push(id)
    }
    if (reaggregation && !original.has(id)) throw mismatch(`re-aggregation includes '${id}', who was not in the original result`)
  }
  // The enclave excludes a member as REVOKED without opening its update (UNOPENED_EXCLUSIONS),
  // so the ledger holds it to that: the member must be revoked.
  for (const e of b.excluded) {
    const m = e.reason === REVOKED ? state.get<MemberRecord>(StateKey.member(e.member)) : undefined
    if (e.reason === REVOKED && (m === undefined || !isRevoked(m, ctx.block.height))) throw mismatch(`member '${e.member}' is excluded as revoked but is not revoked`)
  }
  if (reaggregation) {
    // Exactly the members the ledger lists as pending are dropped, no one else: a re-aggregation
    // reuses the release's noise, so dropping anyone more would let a host difference two
    // releases and read that member's update (n·R − (n−1)·R′).
    const pending = new Set(r.reaggregate)
    for (const id of original) {
      if (!included.has(id) && !pending.has(id)) throw mismatch(`re-aggregation drops '${id}', who is not pending revocation for round '${r.id}' (pending: ${r.reaggregate.join(', ')})`)
      if (included.has(id) && pending.has(id)) throw mismatch(`re-aggregation keeps '${id}', whose revocation it must apply`)
    }
  }
  const dp = b.dp
  const t = r.training
  if (dp.clipNorm !== t.clipNorm || dp.noiseMultiplier !== t.noiseMultiplier || dp.samplingRate !== t.samplingRate || dp.steps !== r.steps) {
    throw mismatch(`DP parameters differ from the round's (C=${t.clipNorm}, σ=${t.noiseMultiplier}, q=${t.samplingRate}, steps=${r.steps})`)
  }
  // Multi-Krum and the central noise as the round was opened with: a host cannot have had the
  // enclave run with σ = 0 or another f without it showing here (and being refused)
  const a = b.aggregation
  const central = r.aggregation.centralNoiseMultiplier ?? t.noiseMultiplier
  if (a.f !== r.aggregation.f || a.centralNoiseMultiplier !== central) {
    throw mismatch(`aggregation f=${a.f}, central σ=${a.centralNoiseMultiplier} differ from the round's (f=${r.aggregation.f}, central σ=${central})`)
  }
  if (reaggregation) {
    if (a.m !== r.result!.aggregation.m) throw mismatch(`a re-aggregation keeps the release's m = ${r.result!.aggregation.m}, not ${a.m}`)
  } else if (a.m > r.aggregation.m || a.m !== included.size) {
    throw mismatch(`Multi-Krum selects m = min(${r.aggregation.m}, valid − f) updates: the result says m = ${a.m} and includes ${included.size}`)
  }

  const result: RoundResultRecord = {
    model: b.model,
    included: b.included,
    excluded: b.excluded,
    aggregation: { f: a.f, m: a.m, centralNoiseMultiplier: a.centralNoiseMultiplier },
    transcriptHash: b.transcriptHash,
    height: ctx.block.height,
    superseded: reaggregation ? [...r.result!.superseded, r.result!.model] : [],
  }
  if (reaggregation) {
    state.put(StateKey.round(r.id), { ...r, result, reaggregate: [] })
    return
  }
  const charged = new Set([...included, ...b.excluded.filter((e) => !UNOPENED_EXCLUSIONS.has(e.reason)).map((e) => e.member)])
  settleBudgets(state, r, charged, ctx.params.rdpOrders)
  state.put(StateKey.round(r.id), { ...r, status: 'resulted', result, reaggregate: revokedIncluded })
  const since = state.get<string[]>(StateKey.roundsSinceCheckpoint) ?? []
  state.put(StateKey.roundsSinceCheckpoint, [...since, r.id])
}

/**
 * Ending a round, by a coordinator:
 * - a resulted round becomes closed (the round key is dropped): any coordinator;
 * - a round nobody committed to is cancelled at any time: its own coordinator;
 * - a round with commits but no result aborts only after its deadline plus the
 *   chain's grace period, so the enclave's result is never raced: any coordinator,
 *   so that a revoked coordinator cannot leave reservations held forever. Its
 *   committers are charged the round's privacy cost (see below).
 */
export function roundClose(ctx: TxContext<'round.close'>): void {
  const coordinator = requireRole(ctx, 'coordinator')
  const r = getRound(ctx.state, ctx.tx.body.round)
  if (r.status === 'resulted') {
    ctx.state.put(StateKey.round(r.id), { ...r, status: 'closed', roundKey: null })
    return
  }
  const pending = r.status === 'open' || r.status === 'keyed'
  const graceEnds = r.deadline + ctx.params.resultGraceBlocks
  if (pending && r.commitCount === 0 && r.coordinator !== coordinator.id && ctx.block.height <= graceEnds) {
    throw new LedgerError('FORBIDDEN_ROLE', `only '${r.coordinator}' may cancel round '${r.id}' before height ${graceEnds}`)
  }
  if (pending && (r.commitCount === 0 || ctx.block.height > graceEnds)) {
    // A round that took commits and ends without a result is charged to every member who
    // committed: the ledger cannot tell whether the enclave released an aggregate that its
    // host kept to itself, and a host that could abort its rounds for free could collect one
    // uncharged release per round.
    const committed = (ctx.state.get<string[]>(StateKey.roundEligible(r.id)) ?? []).filter((id) => ctx.state.getRaw(StateKey.commit(r.id, id)) !== undefined)
    settleBudgets(ctx.state, r, new Set(committed), ctx.params.rdpOrders)
    ctx.state.put(StateKey.round(r.id), { ...r, status: 'aborted', roundKey: null })
    return
  }
  throw new LedgerError('ROUND_STATE', `round '${r.id}' is ${r.status}; with commits it closes after a result, or aborts after height ${graceEnds}`)
}

/** Ends the round's reservations: the round's RDP curve is added to the spend of each member in `charged`. */
function settleBudgets(state: StateOverlay, r: RoundRecord, charged: ReadonlySet<string>, orders: number[]): void {
  const rdp = state.get<number[]>(StateKey.roundRdp(r.id))!
  for (const id of state.get<string[]>(StateKey.roundEligible(r.id))!) {
    const budget = state.get<BudgetRecord>(StateKey.budget(id))!
    const spent = charged.has(id) ? addCurves(budget.spent, rdp) : budget.spent
    state.put(StateKey.budget(id), { ...budget, spent, epsilonSpent: epsilonOf(orders, spent, budget.delta), reservations: budget.reservations.filter((x) => x !== r.id) })
  }
}

/**
 * Governance's way out when a round since the last checkpoint cannot be
 * re-aggregated (its enclave was revoked, or lost its sealed inputs): the round's
 * result is discarded, the model lineage continues from the last checkpoint, and
 * the privacy spent stays spent.
 */
export function roundDiscard(ctx: TxContext<'round.discard'>): void {
  requireGovernance(ctx)
  const r = getRound(ctx.state, ctx.tx.body.round)
  const window = ctx.state.get<string[]>(StateKey.roundsSinceCheckpoint) ?? []
  if (r.result === null || r.status === 'discarded' || !window.includes(r.id)) {
    throw new LedgerError('ROUND_STATE', `round '${r.id}' is not a result since the last checkpoint`)
  }
  ctx.state.put(StateKey.round(r.id), { ...r, status: 'discarded', reaggregate: [], roundKey: null, discardReason: ctx.tx.body.reason })
}

/**
 * How far back a checkpoint may anchor: the state after any of the last this many
 * blocks. A coordinator cannot know which block its transaction lands in, so it
 * builds its snapshot at a height it has seen committed and has this many blocks
 * to get it anchored.
 */
export const MAX_CHECKPOINT_LAG_BLOCKS = 128

/**
 * Anchors a checkpoint of the newest (undiscarded) round since the previous one
 * and starts a new re-aggregation window. The checkpoint names the state it
 * snapshots by height and root: a height of the last MAX_CHECKPOINT_LAG_BLOCKS
 * blocks (block.height − 128 … block.height − 1), at or after the height where the
 * round's current result was recorded (so the snapshot holds that result), with
 * the root the chain had after that block: the previous block's root
 * (preStateRoot), or an older one through the components' `stateRootAt`. Without
 * `stateRootAt` only the previous block's state can be anchored.
 */
export function checkpoint(ctx: TxContext<'checkpoint'>): void {
  requireRole(ctx, 'coordinator')
  const b = ctx.tx.body
  const { state } = ctx
  const window = (state.get<string[]>(StateKey.roundsSinceCheckpoint) ?? []).map((id) => getRound(state, id))
  const pending = window.find((r) => r.status !== 'discarded' && r.reaggregate.length > 0)
  if (pending !== undefined) throw new LedgerError('CHECKPOINT', `round '${pending.id}' awaits re-aggregation without ${pending.reaggregate.join(', ')}`)
  const newest = window.filter((r) => r.status !== 'discarded').at(-1)
  if (newest === undefined || newest.id !== b.round) {
    throw new LedgerError('CHECKPOINT', newest === undefined ? 'no round has a result since the last checkpoint' : `a checkpoint anchors the newest round since the last one, '${newest.id}'`)
  }
  const result = newest.result!
  if (!result.model.equals(b.model)) throw new LedgerError('CHECKPOINT', `model ${b.model} is not round '${newest.id}''s result ${result.model}`)
  const previous = ctx.block.height - 1
  const oldest = Math.max(0, ctx.block.height - MAX_CHECKPOINT_LAG_BLOCKS)
  if (b.height < oldest || b.height > previous) {
    throw new LedgerError('CHECKPOINT', `checkpoint height ${b.height} is outside ${oldest}..${previous}: a checkpoint in block ${ctx.block.height} anchors the state after one of the last ${MAX_CHECKPOINT_LAG_BLOCKS} blocks`)
  }
  if (b.height < result.height) {
    throw new LedgerError('CHECKPOINT', `checkpoint height ${b.height} is before height ${result.height}, where round '${newest.id}''s result was recorded: the snapshot would not contain it`)
  }
  const root = b.height === previous ? ctx.preStateRoot : ctx.components.stateRootAt?.(b.height)
  if (root === undefined) {
    throw new LedgerError('CHECKPOINT', `the state root at height ${b.height} is not known to this execution; anchor the state of the previous block (height ${previous})`)
  }
  if (!bytesEqual(b.stateRoot, root)) throw new LedgerError('CHECKPOINT', `state root ${toHex(b.stateRoot)} is not the chain's root after block ${b.height} (${toHex(root)})`)
  const latest = state.get<CheckpointRecord>(StateKey.checkpointLatest)
  const rec: CheckpointRecord = { seq: (latest?.seq ?? 0) + 1, round: b.round, model: b.model, snapshot: b.snapshot, stateRoot: b.stateRoot, height: b.height, anchoredAt: ctx.block.height }
  state.put(StateKey.checkpoint(rec.seq), rec)
  state.put(StateKey.checkpointLatest, rec)
  state.put(StateKey.roundsSinceCheckpoint, [])
}
