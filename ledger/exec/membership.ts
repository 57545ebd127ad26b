/**
 * Handlers for membership and governance: registering and revoking members and
 * enclaves, granting privacy budgets, and ordering validator-set changes.
 */
import { LedgerError } from '../errors.ts'
import { StateKey } from '../state/keys.ts'
import type { StateOverlay } from '../state/state.ts'
import type { BudgetRecord, EnclaveRecord, MemberRecord, PendingValidatorSet, RoundRecord, ValidatorSetRecord } from '../state/records.ts'
import { epsilonOf } from './budget.ts'
import { getEnclave, getMember, isRevoked, measurementAllowed, requireGovernance, type TxContext } from './context.ts'
import { checkRevocationEvidence } from './revocation.ts'

function requireFreshId(ctx: TxContext, id: string): void {
  if (ctx.state.getRaw(StateKey.member(id)) !== undefined || ctx.state.getRaw(StateKey.enclave(id)) !== undefined) {
    throw new LedgerError('ALREADY_EXISTS', `'${id}' is already registered`)
  }
}

export function memberRegister(ctx: TxContext<'member.register'>): void {
  requireGovernance(ctx)
  const b = ctx.tx.body
  requireFreshId(ctx, b.id)
  const rec: MemberRecord = {
    id: b.id,
    org: b.org,
    roles: [...new Set(b.roles)],
    publicKey: b.publicKey,
    attestation: b.attestation ?? null,
    registeredAt: ctx.block.height,
    revokedAt: null,
    revocationReason: null,
  }
  ctx.state.put(StateKey.member(b.id), rec)
}

export function memberRevoke(ctx: TxContext<'member.revoke'>): void {
  const b = ctx.tx.body
  const m = getMember(ctx.state, b.member)
  if (isRevoked(m, ctx.block.height)) throw new LedgerError('MEMBER_REVOKED', `member '${b.member}' is already revoked`)
  checkRevocationEvidence(ctx, { kind: 'member', id: b.member }, b.evidence)
  ctx.state.put(StateKey.member(b.member), { ...m, revokedAt: ctx.block.height, revocationReason: b.reason })
  // Rounds since the last checkpoint that included the member must be re-aggregated without it.
  for (const roundId of ctx.state.get<string[]>(StateKey.roundsSinceCheckpoint) ?? []) {
    const r = ctx.state.get<RoundRecord>(StateKey.round(roundId))
    if (r?.result?.included.includes(b.member) && !r.reaggregate.includes(b.member)) {
      ctx.state.put(StateKey.round(roundId), { ...r, reaggregate: [...r.reaggregate, b.member] })
    }
  }
}

export function enclaveRegister(ctx: TxContext<'enclave.register'>): void {
  requireGovernance(ctx)
  const b = ctx.tx.body
  requireFreshId(ctx, b.id)
  if (!ctx.params.attestation.formats.includes(b.attestation.format)) {
    throw new LedgerError('ATTESTATION_REJECTED', `evidence format '${b.attestation.format}' is not allowed on this chain`)
  }
  const v = ctx.components.attestation.verify(b.attestation.format, b.attestation.evidence, ctx.block.time)
  if (v.debug) throw new LedgerError('ATTESTATION_REJECTED', 'enclave runs in debug mode')
  if (v.platform !== b.platform) throw new LedgerError('ATTESTATION_REJECTED', `evidence is for platform '${v.platform}', not '${b.platform}'`)
  if (Buffer.compare(v.measurement, b.measurement) !== 0) throw new LedgerError('ATTESTATION_REJECTED', 'evidence measurement differs from the declared one')
  if (!measurementAllowed(ctx.params, b.measurement)) throw new LedgerError('ATTESTATION_REJECTED', 'measurement is not on the allow-list')
  if (!v.boundKeys.some((k) => Buffer.compare(k, b.publicKey) === 0)) throw new LedgerError('ATTESTATION_REJECTED', "the enclave's signing key is not bound into its evidence")
  const rec: EnclaveRecord = { id: b.id, platform: b.platform, measurement: b.measurement, publicKey: b.publicKey, registeredAt: ctx.block.height, revokedAt: null, revocationReason: null }
  ctx.state.put(StateKey.enclave(b.id), rec)
}

export function enclaveRevoke(ctx: TxContext<'enclave.revoke'>): void {
  const b = ctx.tx.body
  const e = getEnclave(ctx.state, b.enclave)
  if (isRevoked(e, ctx.block.height)) throw new LedgerError('ENCLAVE_REVOKED', `enclave '${b.enclave}' is already revoked`)
  checkRevocationEvidence(ctx, { kind: 'enclave', id: b.enclave }, b.evidence)
  ctx.state.put(StateKey.enclave(b.enclave), { ...e, revokedAt: ctx.block.height, revocationReason: b.reason })
}

export function budgetGrant(ctx: TxContext<'budget.grant'>): void {
  requireGovernance(ctx)
  const b = ctx.tx.body
  const m = getMember(ctx.state, b.member)
  if (isRevoked(m, ctx.block.height)) throw new LedgerError('MEMBER_REVOKED', `member '${b.member}' is revoked`)
  const prev = ctx.state.get<BudgetRecord>(StateKey.budget(b.member))
  const spent = prev?.spent ?? ctx.params.rdpOrders.map(() => 0)
  const rec: BudgetRecord = {
    member: b.member,
    epsilonCap: b.epsilon,
    delta: b.delta,
    spent,
    epsilonSpent: epsilonOf(ctx.params.rdpOrders, spent, b.delta),
    reservations: prev?.reservations ?? [],
  }
  ctx.state.put(StateKey.budget(b.member), rec)
}

export function currentEpoch(height: number, epochLength: number): number {
  return Math.floor(height / epochLength)
}

export function validatorSetUpdate(ctx: TxContext<'validator-set.update'>): void {
  requireGovernance(ctx)
  const b = ctx.tx.body
  const now = currentEpoch(ctx.block.height, ctx.params.epochLength)
  if (b.epoch <= now) throw new LedgerError('VALIDATOR_SET', `epoch ${b.epoch} has begun; the next epoch is ${now + 1}`)
  const ids = new Set(b.validators.map((v) => v.id))
  const keys = new Set(b.validators.map((v) => Buffer.from(v.publicKey).toString('hex')))
  if (ids.size !== b.validators.length || keys.size !== b.validators.length) throw new LedgerError('VALIDATOR_SET', 'validator ids and keys must be unique')
  const pending: PendingValidatorSet = { epoch: b.epoch, validators: b.validators, orderedAt: ctx.block.height }
  ctx.state.put(StateKey.pendingValidators, pending)
}

/** At the last block of an epoch, a pending set for the next epoch takes effect. */
export function applyEpochBoundary(state: StateOverlay, height: number, epochLength: number): void {
  if ((height + 1) % epochLength !== 0) return
  const pending = state.get<PendingValidatorSet>(StateKey.pendingValidators)
  const next = currentEpoch(height + 1, epochLength)
  if (pending === undefined || pending.epoch > next) return
  const set: ValidatorSetRecord = { epoch: next, validators: pending.validators }
  state.put(StateKey.validators, set)
  state.delete(StateKey.pendingValidators)
}
