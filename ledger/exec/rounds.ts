/**
 * Handlers for a training round (docs/ARCHITECTURE.md §2): open → round key → commits until
 * the deadline → result from the assigned enclave → close. Opening reserves the
 * worst-case privacy spend of every eligible member; the result charges the
 * included members and releases the rest.
 */
import { DomainTag, verifyPayload } from '../../primitives/index.ts'
import { LedgerError } from '../errors.ts'
import { StateKey } from '../state/keys.ts'
import type { BudgetRecord, CommitRecord, RoundRecord } from '../state/records.ts'
import type { StateOverlay } from '../state/state.ts'
import { addCurves, committedCurve, epsilonOf, roundCurve, stepsPerRound } from './budget.ts'
import { getEnclave, getMember, isRevoked, measurementAllowed, requireEnclave, requireRole, verifyEnclaveEvidence, type TxContext } from './context.ts'

/** Upper bound on DP-SGD steps per round (local epochs / sampling rate): a sanity bound on configurations. */
export const MAX_STEPS_PER_ROUND = 10_000_000

export function getRound(state: StateOverlay, id: string): RoundRecord {
  const r = state.get<RoundRecord>(StateKey.round(id))
  if (r === undefined) throw new LedgerError('UNKNOWN_ROUND', `unknown round '${id}'`)
  return r
}

export function roundOpen(ctx: TxContext<'round.open'>): void {
  const coordinator = requireRole(ctx, 'coordinator')
  const b = ctx.tx.body
  const { state, params } = ctx
  const height = ctx.block.height
  if (state.getRaw(StateKey.round(b.round)) !== undefined) throw new LedgerError('ALREADY_EXISTS', `round '${b.round}' already exists`)
  if (b.deadline <= height) throw new LedgerError('INVALID_CONFIG', `deadline ${b.deadline} is not after the current height ${height}`)
  if (b.deadline > height + params.maxRoundBlocks) throw new LedgerError('INVALID_CONFIG', `deadline ${b.deadline} is more than ${params.maxRoundBlocks} blocks away`)
  const enclave = getEnclave(state, b.enclave)
  if (isRevoked(enclave, height)) throw new LedgerError('ENCLAVE_REVOKED', `enclave '${b.enclave}' is revoked`)
  if (!measurementAllowed(params, enclave.measurement)) throw new LedgerError('ATTESTATION_REJECTED', `enclave '${b.enclave}' runs a measurement no longer allowed`)
  if (new Set(b.eligible).size !== b.eligible.length) throw new LedgerError('INVALID_CONFIG', 'eligible members must be distinct')
  const n = b.eligible.length
  const { f, m } = b.aggregation
  // Blanchard et al.: n > 2f + 2, and the m selected come from the n − f that may be honest
  if (2 * f + 2 >= n) throw new LedgerError('INVALID_CONFIG', `Multi-Krum with f = ${f} needs more than ${2 * f + 2} members, has ${n}`)
  if (m > n - f) throw new LedgerError('INVALID_CONFIG', `Multi-Krum selects at most n − f = ${n - f} of the ${n} eligible members with f = ${f}, not m = ${m}`)
  const steps = stepsPerRound(b.training)
  if (steps > MAX_STEPS_PER_ROUND) throw new LedgerError('INVALID_CONFIG', `${steps} DP-SGD steps per round exceeds ${MAX_STEPS_PER_ROUND}`)
  const rdp = roundCurve(params.rdpOrders, b.training, steps)

  const roundsRead = (id: string) => state.get<number[]>(StateKey.roundRdp(id))
  for (const id of b.eligible) {
    const member = getMember(state, id)
    if (isRevoked(member, height)) throw new LedgerError('MEMBER_REVOKED', `eligible member '${id}' is revoked`)
    if (!member.roles.includes('participant')) throw new LedgerError('FORBIDDEN_ROLE', `eligible member '${id}' lacks the participant role`)
    const budget = state.get<BudgetRecord>(StateKey.budget(id))
    if (budget === undefined) throw new LedgerError('NO_BUDGET', `member '${id}' has no privacy budget`)
    const worst = epsilonOf(params.rdpOrders, addCurves(committedCurve(budget, roundsRead), rdp), budget.delta)
    if (!(worst <= budget.epsilonCap)) {
      throw new LedgerError('OUT_OF_BUDGET', `round '${b.round}' could bring member '${id}' to ε = ${worst.toPrecision(6)} at δ = ${budget.delta}, over its cap ${budget.epsilonCap}`)
    }
  }
  for (const id of b.eligible) {
    const budget = state.get<BudgetRecord>(StateKey.budget(id))!
    state.put(StateKey.budget(id), { ...budget, reservations: [...budget.reservations, b.round] })
  }
  const round: RoundRecord = {
    id: b.round,
    coordinator: coordinator.id,
    baseModel: b.baseModel,
    training: b.training,
    aggregation: b.aggregation,
    steps,
    eligibleCount: b.eligible.length,
    enclave: b.enclave,
    openedAt: height,
    deadline: b.deadline,
    status: 'open',
    roundKey: null,
    commitCount: 0,
    result: null,
    reaggregate: [],
    discardReason: null,
  }
  state.put(StateKey.round(b.round), round)
  state.put(StateKey.roundRdp(b.round), rdp)
  state.put(StateKey.roundEligible(b.round), b.eligible)
  for (const id of b.eligible) state.put(StateKey.eligible(b.round, id), true)
}

export function enclaveRoundKey(ctx: TxContext<'enclave.round-key'>): void {
  const enclave = requireEnclave(ctx)
  const b = ctx.tx.body
  const r = getRound(ctx.state, b.round)
  if (r.enclave !== enclave.id) throw new LedgerError('ENCLAVE_NOT_ASSIGNED', `round '${r.id}' is assigned to enclave '${r.enclave}', not '${enclave.id}'`)
  if (r.status !== 'open') throw new LedgerError('ROUND_STATE', `round '${r.id}' is ${r.status}; its key can be set only while open`)
  if (ctx.block.height > r.deadline) throw new LedgerError('DEADLINE_PASSED', `round '${r.id}' passed its deadline ${r.deadline}`)
  // Fresh evidence, made for this round, binding the round key to the registered enclave.
  verifyEnclaveEvidence(ctx, b.attestation, { purpose: 'enclave.round-key', subject: r.id, platform: enclave.platform, measurement: enclave.measurement, keys: [b.publicKey, enclave.publicKey] })
  ctx.state.put(StateKey.round(r.id), { ...r, status: 'keyed', roundKey: b.publicKey })
}

export function roundCommit(ctx: TxContext<'round.commit'>): void {
  const member = requireRole(ctx, 'participant')
  const b = ctx.tx.body
  const r = getRound(ctx.state, b.round)
  if (ctx.state.getRaw(StateKey.eligible(r.id, member.id)) === undefined) throw new LedgerError('NOT_ELIGIBLE', `member '${member.id}' is not eligible for round '${r.id}'`)
  if (ctx.block.height > r.deadline) throw new LedgerError('DEADLINE_PASSED', `round '${r.id}' closed for commits at height ${r.deadline}`)
  if (r.status !== 'keyed') throw new LedgerError('ROUND_STATE', `round '${r.id}' is ${r.status}; commits need the enclave's round key first`)
  if (ctx.state.getRaw(StateKey.commit(r.id, member.id)) !== undefined) throw new LedgerError('DUPLICATE_COMMIT', `member '${member.id}' already committed to round '${r.id}'`)
  const st = b.statement
  if (st.chain !== ctx.params.chainId || st.round !== r.id || st.member !== member.id) {
    throw new LedgerError('BAD_ARGUMENT', `statement is for chain '${st.chain}', round '${st.round}' and member '${st.member}'`)
  }
  if (!verifyPayload(member.publicKey, DomainTag.UPDATE_STATEMENT, st, b.statementSig)) throw new LedgerError('BAD_SIGNATURE', 'update statement signature does not verify')
  if (st.declaredNorm > r.training.clipNorm) throw new LedgerError('BAD_ARGUMENT', `declared norm ${st.declaredNorm} exceeds the clip bound ${r.training.clipNorm}`)
  const commit: CommitRecord = {
    round: r.id,
    member: member.id,
    seq: r.commitCount,
    ciphertext: b.ciphertext,
    plaintextHash: st.plaintextHash,
    declaredNorm: st.declaredNorm,
    statementSig: b.statementSig,
    height: ctx.block.height,
  }
  ctx.state.put(StateKey.commit(r.id, member.id), commit)
  ctx.state.put(StateKey.round(r.id), { ...r, commitCount: r.commitCount + 1 })
}
