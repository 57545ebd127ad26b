/**
 * Handlers for membership and governance: registering and revoking members and
 * enclaves, granting privacy budgets, and ordering validator-set changes.
 */
import { isWeakPublicKey } from '../../primitives/index.ts'
import { PROTOCOL_EVIDENCE_FORMATS } from '../attestation.ts'
import { LedgerError } from '../errors.ts'
import { StateKey } from '../state/keys.ts'
import type { StateOverlay } from '../state/state.ts'
import type { BudgetRecord, ChainParams, EnclaveRecord, MemberRecord, PendingValidatorSet, RoundRecord, ValidatorSetRecord } from '../state/records.ts'
import { committedCurve, epsilonOf } from './budget.ts'
import { getMember, isRevoked, requireGovernance, requireStrongKey, verifyEnclaveEvidence, type TxContext } from './context.ts'
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
  requireStrongKey(b.publicKey, `member '${b.id}'`)
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
  if (rec.roles.includes('governor')) ctx.state.put(StateKey.governors, [...governors(ctx), b.id])
}

function governors(ctx: TxContext): string[] {
  return ctx.state.get<string[]>(StateKey.governors) ?? []
}

/**
 * A revocation-list entry is applied in its authority's order even when its subject
 * is unknown or already revoked (a no-op then), so such an entry cannot hold up the
 * entries after it. Governance revocations of such subjects are refused.
 */
function nothingToRevoke(ctx: TxContext, evidenceKind: 'governance' | 'revocation-list', rec: { revokedAt: number | null } | undefined, missing: LedgerError, revoked: LedgerError): boolean {
  if (rec !== undefined && !isRevoked(rec, ctx.block.height)) return false
  if (evidenceKind === 'revocation-list') return true
  throw rec === undefined ? missing : revoked
}

export function memberRevoke(ctx: TxContext<'member.revoke'>): void {
  const b = ctx.tx.body
  const reason = checkRevocationEvidence(ctx, { kind: 'member', id: b.member }, b.evidence, b.reason)
  const m = ctx.state.get<MemberRecord>(StateKey.member(b.member))
  const missing = new LedgerError('UNKNOWN_MEMBER', `unknown member '${b.member}'`)
  if (nothingToRevoke(ctx, b.evidence.kind, m, missing, new LedgerError('MEMBER_REVOKED', `member '${b.member}' is already revoked`)) || m === undefined) return
  if (m.roles.includes('governor')) {
    const remaining = governors(ctx).filter((g) => g !== b.member)
    // the threshold from the next block on counts too: a params.update earlier in this block may have raised it
    const threshold = Math.max(ctx.params.governanceThreshold, ctx.state.get<ChainParams>(StateKey.params)!.governanceThreshold)
    if (remaining.length < threshold) {
      throw new LedgerError('FORBIDDEN_ROLE', `revoking governor '${b.member}' would leave ${remaining.length} governors, under the threshold ${threshold}`)
    }
    ctx.state.put(StateKey.governors, remaining)
  }
  ctx.state.put(StateKey.member(b.member), { ...m, revokedAt: ctx.block.height, revocationReason: reason })
  // Rounds since the last checkpoint that included the member must be re-aggregated without it.
  for (const roundId of ctx.state.get<string[]>(StateKey.roundsSinceCheckpoint) ?? []) {
    const r = ctx.state.get<RoundRecord>(StateKey.round(roundId))
    if (r !== undefined && r.status !== 'discarded' && r.result?.included.includes(b.member) && !r.reaggregate.includes(b.member)) {
      ctx.state.put(StateKey.round(roundId), { ...r, reaggregate: [...r.reaggregate, b.member] })
    }
  }
}

export function enclaveRegister(ctx: TxContext<'enclave.register'>): void {
  requireGovernance(ctx)
  const b = ctx.tx.body
  requireFreshId(ctx, b.id)
  requireStrongKey(b.publicKey, `enclave '${b.id}'`)
  verifyEnclaveEvidence(ctx, b.attestation, { purpose: 'enclave.register', subject: b.id, platform: b.platform, measurement: b.measurement, keys: [b.publicKey] })
  const rec: EnclaveRecord = { id: b.id, platform: b.platform, measurement: b.measurement, publicKey: b.publicKey, registeredAt: ctx.block.height, revokedAt: null, revocationReason: null }
  ctx.state.put(StateKey.enclave(b.id), rec)
}

export function enclaveRevoke(ctx: TxContext<'enclave.revoke'>): void {
  const b = ctx.tx.body
  const reason = checkRevocationEvidence(ctx, { kind: 'enclave', id: b.enclave }, b.evidence, b.reason)
  const e = ctx.state.get<EnclaveRecord>(StateKey.enclave(b.enclave))
  const missing = new LedgerError('UNKNOWN_ENCLAVE', `unknown enclave '${b.enclave}'`)
  if (nothingToRevoke(ctx, b.evidence.kind, e, missing, new LedgerError('ENCLAVE_REVOKED', `enclave '${b.enclave}' is already revoked`)) || e === undefined) return
  ctx.state.put(StateKey.enclave(b.enclave), { ...e, revokedAt: ctx.block.height, revocationReason: reason })
}

export function budgetGrant(ctx: TxContext<'budget.grant'>): void {
  requireGovernance(ctx)
  const b = ctx.tx.body
  const m = getMember(ctx.state, b.member)
  if (isRevoked(m, ctx.block.height)) throw new LedgerError('MEMBER_REVOKED', `member '${b.member}' is revoked`)
  const prev = ctx.state.get<BudgetRecord>(StateKey.budget(b.member))
  const spent = prev?.spent ?? ctx.params.rdpOrders.map(() => 0)
  // A new cap or δ may not put what is spent and reserved over the cap.
  if (prev !== undefined) {
    const held = epsilonOf(ctx.params.rdpOrders, committedCurve(prev, (r) => ctx.state.get<number[]>(StateKey.roundRdp(r))), b.delta)
    if (!(held <= b.epsilon)) throw new LedgerError('OUT_OF_BUDGET', `member '${b.member}' has spent and reserved ε = ${held.toPrecision(6)} at δ = ${b.delta}, over the new cap ${b.epsilon}`)
  }
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

/** A validator-set change must be ordered at least this many blocks before its epoch starts. */
export const VALIDATOR_SET_LEAD_BLOCKS = 2
/** ... and at most this many epochs ahead. */
export const MAX_EPOCHS_AHEAD = 100

export function validatorSetUpdate(ctx: TxContext<'validator-set.update'>): void {
  requireGovernance(ctx)
  const b = ctx.tx.body
  const starts = b.epoch * ctx.params.epochLength
  if (ctx.block.height + VALIDATOR_SET_LEAD_BLOCKS > starts) {
    throw new LedgerError('VALIDATOR_SET', `epoch ${b.epoch} starts at height ${starts}: a change must be ordered at least ${VALIDATOR_SET_LEAD_BLOCKS} blocks before`)
  }
  const now = currentEpoch(ctx.block.height, ctx.params.epochLength)
  if (b.epoch > now + MAX_EPOCHS_AHEAD) throw new LedgerError('VALIDATOR_SET', `epoch ${b.epoch} is more than ${MAX_EPOCHS_AHEAD} epochs ahead`)
  const existing = ctx.state.get<PendingValidatorSet>(StateKey.pendingValidators)
  if (existing !== undefined && existing.epoch !== b.epoch) {
    throw new LedgerError('VALIDATOR_SET', `a change for epoch ${existing.epoch} is pending; it can be replaced, or takes effect before another is ordered`)
  }
  checkValidators(b.validators)
  const pending: PendingValidatorSet = { epoch: b.epoch, validators: b.validators, orderedAt: ctx.block.height }
  ctx.state.put(StateKey.pendingValidators, pending)
}

/** Unique ids and keys, full-order keys, total power within safe integers. Throws VALIDATOR_SET. */
export function checkValidators(validators: ReadonlyArray<{ id: string; publicKey: Uint8Array; power: number }>): void {
  const ids = new Set(validators.map((v) => v.id))
  const keys = new Set(validators.map((v) => Buffer.from(v.publicKey).toString('hex')))
  if (ids.size !== validators.length || keys.size !== validators.length) throw new LedgerError('VALIDATOR_SET', 'validator ids and keys must be unique')
  if (validators.some((v) => isWeakPublicKey(v.publicKey))) throw new LedgerError('VALIDATOR_SET', 'a validator key is not a valid ed25519 key of full order')
  if (validators.reduce((sum, v) => sum + v.power, 0) > MAX_TOTAL_POWER) throw new LedgerError('VALIDATOR_SET', `total voting power exceeds ${MAX_TOTAL_POWER}`)
}
export const MAX_TOTAL_POWER = 2 ** 40

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

/**
 * params.update (a governance quorum, under the threshold in force): a new
 * governance threshold, at most the number of unrevoked governors, and/or a new
 * attestation policy whose every format the protocol defines or the chain already
 * allows (PROTOCOL_EVIDENCE_FORMATS: the same on every validator, unlike the verifiers
 * a node happens to have, so the outcome never depends on a build). It takes effect from the next block (a
 * block's transactions are all judged under the parameters it started with).
 * Evidence already accepted stays accepted; later registrations, round keys and
 * participants' checks use the new policy.
 */
export function paramsUpdate(ctx: TxContext<'params.update'>): void {
  requireGovernance(ctx)
  const b = ctx.tx.body
  // the parameters as this block has changed them so far (ctx.params is the block's start)
  const next: ChainParams = { ...ctx.state.get<ChainParams>(StateKey.params)! }
  if (b.governanceThreshold !== undefined) {
    const governors = ctx.state.get<string[]>(StateKey.governors) ?? []
    if (b.governanceThreshold > governors.length) throw new LedgerError('BAD_ARGUMENT', `a threshold of ${b.governanceThreshold} needs that many governors; there are ${governors.length}`)
    next.governanceThreshold = b.governanceThreshold
  }
  if (b.attestation !== undefined) {
    const known = new Set([...PROTOCOL_EVIDENCE_FORMATS, ...next.attestation.formats])
    const unknown = b.attestation.formats.filter((f) => !known.has(f))
    if (unknown.length > 0) throw new LedgerError('BAD_ARGUMENT', `evidence format ${unknown.join(', ')} is not one this protocol defines (${PROTOCOL_EVIDENCE_FORMATS.join(', ')}) nor one the chain allows`)
    const stray = Object.keys(b.attestation.trustAnchors).filter((f) => !b.attestation!.formats.includes(f))
    if (stray.length > 0) throw new LedgerError('BAD_ARGUMENT', `trust anchors for formats the policy does not allow: ${stray.join(', ')}`)
    next.attestation = { formats: [...b.attestation.formats], trustAnchors: b.attestation.trustAnchors, maxEvidenceAgeSeconds: b.attestation.maxEvidenceAgeSeconds, measurements: [...b.attestation.measurements] }
  }
  ctx.state.put(StateKey.params, next)
}
