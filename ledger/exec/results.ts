/**
 * Handlers that end a round and anchor progress: `round.result` (from the
 * assigned enclave, after the deadline, accounting for exactly the committed
 * set), `round.close`, and `checkpoint`. A result charges the included members'
 * budgets with the round's RDP and releases every eligible member's reservation.
 * After a member is revoked, a round it was included in accepts one more result
 * (a re-aggregation without it); budgets are not charged again.
 */
import { bytesEqual } from '../codec.ts'
import { LedgerError } from '../errors.ts'
import { StateKey } from '../state/keys.ts'
import type { BudgetRecord, CheckpointRecord, RoundRecord, RoundResultRecord } from '../state/records.ts'
import type { StateOverlay } from '../state/state.ts'
import { addCurves, epsilonOf } from './budget.ts'
import { isRevoked, measurementAllowed, requireEnclave, requireRole, type TxContext } from './context.ts'
import { getRound } from './rounds.ts'

function mismatch(message: string): LedgerError {
  return new LedgerError('RESULT_MISMATCH', message)
}

export function roundResult(ctx: TxContext<'round.result'>): void {
  const enclave = requireEnclave(ctx)
  const b = ctx.tx.body
  const { state } = ctx
  const r = getRound(state, b.round)
  if (r.enclave !== enclave.id) throw new LedgerError('ENCLAVE_NOT_ASSIGNED', `round '${r.id}' is assigned to enclave '${r.enclave}', not '${enclave.id}'`)
  if (!measurementAllowed(ctx.params, enclave.measurement)) throw new LedgerError('ATTESTATION_REJECTED', `enclave '${enclave.id}' runs a measurement no longer allowed`)
  const reaggregation = r.result !== null
  if (reaggregation) {
    if (r.reaggregate.length === 0) throw new LedgerError('ROUND_STATE', `round '${r.id}' already has a result`)
  } else {
    if (r.status !== 'keyed') throw new LedgerError('ROUND_STATE', `round '${r.id}' is ${r.status}; a result needs a keyed round`)
    if (ctx.block.height <= r.deadline) throw new LedgerError('DEADLINE_NOT_REACHED', `round '${r.id}' accepts commits until height ${r.deadline}`)
  }

  // The result accounts for exactly the committed set: each member once, included or excluded.
  // Every listed member has a commit and the counts agree, so the two sets are equal.
  const seen = new Set<string>()
  for (const id of [...b.included, ...b.excluded.map((e) => e.member)]) {
    if (seen.has(id)) throw mismatch(`member '${id}' appears twice in the result`)
    if (state.getRaw(StateKey.commit(r.id, id)) === undefined) throw mismatch(`member '${id}' did not commit to round '${r.id}'`)
    seen.add(id)
  }
  if (seen.size !== r.commitCount) throw mismatch(`result accounts for ${seen.size} of the ${r.commitCount} committed members`)
  if (b.included.length > r.aggregation.m) throw mismatch(`result includes ${b.included.length} updates; Multi-Krum selects at most m = ${r.aggregation.m}`)
  for (const id of b.included) {
    const m = state.get<{ revokedAt: number | null }>(StateKey.member(id))
    if (m !== undefined && isRevoked(m, ctx.block.height)) throw mismatch(`result includes revoked member '${id}'`)
    if (reaggregation && !r.result!.included.includes(id)) throw mismatch(`re-aggregation includes '${id}', who was not in the original result`)
  }
  const dp = b.dp
  const t = r.training
  if (dp.clipNorm !== t.clipNorm || dp.noiseMultiplier !== t.noiseMultiplier || dp.samplingRate !== t.samplingRate || dp.steps !== r.steps) {
    throw mismatch(`DP parameters differ from the round's (C=${t.clipNorm}, σ=${t.noiseMultiplier}, q=${t.samplingRate}, steps=${r.steps})`)
  }

  const result: RoundResultRecord = {
    model: b.model,
    included: b.included,
    excluded: b.excluded,
    transcriptHash: b.transcriptHash,
    height: ctx.block.height,
    superseded: reaggregation ? [...r.result!.superseded, r.result!.model] : [],
  }
  if (reaggregation) {
    state.put(StateKey.round(r.id), { ...r, result, reaggregate: [] })
    return
  }
  const orders = ctx.params.rdpOrders
  const rdp = state.get<number[]>(StateKey.roundRdp(r.id))!
  for (const id of r.eligible) {
    const budget = state.get<BudgetRecord>(StateKey.budget(id))
    if (budget === undefined) continue
    const spent = b.included.includes(id) ? addCurves(budget.spent, rdp) : budget.spent
    const next: BudgetRecord = {
      ...budget,
      spent,
      epsilonSpent: epsilonOf(orders, spent, budget.delta),
      reservations: budget.reservations.filter((x) => x !== r.id),
    }
    state.put(StateKey.budget(id), next)
  }
  state.put(StateKey.round(r.id), { ...r, status: 'resulted', result })
  const since = state.get<string[]>(StateKey.roundsSinceCheckpoint) ?? []
  state.put(StateKey.roundsSinceCheckpoint, [...since, r.id])
}

export function roundClose(ctx: TxContext<'round.close'>): void {
  requireRole(ctx, 'coordinator')
  const r = getRound(ctx.state, ctx.tx.body.round)
  if (r.status === 'resulted') {
    // The round key is dropped from the state; the enclave destroys its private half.
    ctx.state.put(StateKey.round(r.id), { ...r, status: 'closed', roundKey: null })
    return
  }
  if ((r.status === 'open' || r.status === 'keyed') && ctx.block.height > r.deadline) {
    releaseReservations(ctx.state, r)
    ctx.state.put(StateKey.round(r.id), { ...r, status: 'aborted', roundKey: null })
    return
  }
  throw new LedgerError('ROUND_STATE', `round '${r.id}' is ${r.status}; it closes after a result, or aborts once past its deadline ${r.deadline}`)
}

function releaseReservations(state: StateOverlay, r: RoundRecord): void {
  for (const id of r.eligible) {
    const budget = state.get<BudgetRecord>(StateKey.budget(id))
    if (budget !== undefined) state.put(StateKey.budget(id), { ...budget, reservations: budget.reservations.filter((x) => x !== r.id) })
  }
}

export function checkpoint(ctx: TxContext<'checkpoint'>): void {
  requireRole(ctx, 'coordinator')
  const b = ctx.tx.body
  const { state } = ctx
  const r = getRound(state, b.round)
  if (r.result === null) throw new LedgerError('ROUND_STATE', `round '${r.id}' has no result to checkpoint`)
  if (!r.result.model.equals(b.model)) throw new LedgerError('CHECKPOINT', `model ${b.model} is not round '${r.id}''s result ${r.result.model}`)
  if (b.height !== ctx.block.height - 1 || !bytesEqual(b.stateRoot, ctx.preStateRoot)) {
    throw new LedgerError('CHECKPOINT', `a checkpoint anchors the state root of the previous block (height ${ctx.block.height - 1})`)
  }
  for (const id of state.get<string[]>(StateKey.roundsSinceCheckpoint) ?? []) {
    const pending = state.get<RoundRecord>(StateKey.round(id))
    if (pending !== undefined && pending.reaggregate.length > 0) throw new LedgerError('CHECKPOINT', `round '${id}' awaits re-aggregation without ${pending.reaggregate.join(', ')}`)
  }
  const latest = state.get<CheckpointRecord>(StateKey.checkpointLatest)
  const rec: CheckpointRecord = { seq: (latest?.seq ?? 0) + 1, round: r.id, model: b.model, snapshot: b.snapshot, stateRoot: b.stateRoot, height: b.height, anchoredAt: ctx.block.height }
  state.put(StateKey.checkpoint(rec.seq), rec)
  state.put(StateKey.checkpointLatest, rec)
  state.put(StateKey.roundsSinceCheckpoint, [])
}
