/**
 * Genesis: the consortium's founding document. It fixes the chain id, the
 * governance threshold, revocation authorities, the attestation policy, the
 * first validators, members (with roles and keys), enclaves attested out of
 * band, and privacy budgets. `genesisState` turns it into the state at height 0.
 */
import { z } from 'zod'
import { LedgerError } from './errors.ts'
import { DEFAULT_RDP_ORDERS } from './exec/budget.ts'
import { requireStrongKey } from './exec/context.ts'
import { checkValidators } from './exec/membership.ts'
import { MAX_FINITE_ORDER } from './privacy/index.ts'
import type { BudgetRecord, ChainParams, EnclaveRecord, MemberRecord, ValidatorSetRecord } from './state/records.ts'
import { StateKey } from './state/keys.ts'
import { LedgerState, StateOverlay } from './state/state.ts'
import { Bodies, MAX_APPROVALS } from './tx/schema.ts'

const key32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'expected a 32-byte key')
const keyBytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length > 0 && v.length <= 8192, 'expected a key or certificate of at most 8 KiB')

/** Defaults for parameters a genesis may leave out. */
export const GENESIS_DEFAULTS = { maxRoundBlocks: 10_000, resultGraceBlocks: 10, maxEvidenceAgeSeconds: 24 * 3600 } as const

export const GenesisSchema = z.strictObject({
  chainId: Bodies['member.register'].shape.id,
  // at least 2: epoch 0 must hold a block after the genesis (its last height is epochLength − 1)
  epochLength: z.number().int().min(2),
  governanceThreshold: z.number().int().min(1).max(MAX_APPROVALS + 1),
  revocationAuthorities: z.record(z.string(), key32),
  attestation: z.strictObject({
    formats: z.array(z.string()),
    trustAnchors: z.record(z.string(), z.array(keyBytes)).default({}),
    maxEvidenceAgeSeconds: z.number().int().positive().default(GENESIS_DEFAULTS.maxEvidenceAgeSeconds),
    measurements: z.array(z.string().regex(/^([0-9a-f]{2})+$/, 'measurements are non-empty lowercase hex')),
  }),
  maxRoundBlocks: z.number().int().positive().default(GENESIS_DEFAULTS.maxRoundBlocks),
  resultGraceBlocks: z.number().int().nonnegative().default(GENESIS_DEFAULTS.resultGraceBlocks),
  validators: Bodies['validator-set.update'].shape.validators,
  members: z.array(Bodies['member.register'].omit({ attestation: true })),
  enclaves: z.array(Bodies['enclave.register'].omit({ attestation: true })).default([]),
  budgets: z.array(Bodies['budget.grant']).default([]),
  rdpOrders: z.array(z.number().gt(1).max(MAX_FINITE_ORDER)).min(1).optional(),
})
export type Genesis = z.input<typeof GenesisSchema>

export function genesisState(input: Genesis): LedgerState {
  const parsed = GenesisSchema.safeParse(input)
  if (!parsed.success) throw new LedgerError('MALFORMED', `bad genesis: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
  const g = parsed.data
  const s = new StateOverlay(LedgerState.empty())
  const params: ChainParams = {
    chainId: g.chainId,
    epochLength: g.epochLength,
    governanceThreshold: g.governanceThreshold,
    revocationAuthorities: g.revocationAuthorities,
    attestation: g.attestation,
    rdpOrders: g.rdpOrders ?? [...DEFAULT_RDP_ORDERS],
    maxRoundBlocks: g.maxRoundBlocks,
    resultGraceBlocks: g.resultGraceBlocks,
  }
  checkValidators(g.validators)
  for (const [id, key] of Object.entries(g.revocationAuthorities)) requireStrongKey(key, `revocation authority '${id}'`)
  s.put(StateKey.params, params)
  const validators: ValidatorSetRecord = { epoch: 0, validators: g.validators }
  s.put(StateKey.validators, validators)
  const ids = new Set<string>()
  const unique = (id: string) => {
    if (ids.has(id)) throw new LedgerError('ALREADY_EXISTS', `genesis names '${id}' twice`)
    ids.add(id)
  }
  for (const m of g.members) {
    unique(m.id)
    requireStrongKey(m.publicKey, `member '${m.id}'`)
    const rec: MemberRecord = { id: m.id, org: m.org, roles: [...new Set(m.roles)], publicKey: m.publicKey, attestation: null, registeredAt: 0, revokedAt: null, revocationReason: null }
    s.put(StateKey.member(m.id), rec)
  }
  const governors = g.members.filter((m) => m.roles.includes('governor')).map((m) => m.id)
  if (governors.length < g.governanceThreshold) throw new LedgerError('MALFORMED', `genesis has ${governors.length} governors, fewer than the threshold ${g.governanceThreshold}`)
  s.put(StateKey.governors, governors)
  for (const e of g.enclaves) {
    unique(e.id)
    requireStrongKey(e.publicKey, `enclave '${e.id}'`)
    const rec: EnclaveRecord = { id: e.id, platform: e.platform, measurement: e.measurement, publicKey: e.publicKey, registeredAt: 0, revokedAt: null, revocationReason: null }
    s.put(StateKey.enclave(e.id), rec)
  }
  const zeros = params.rdpOrders.map(() => 0)
  for (const b of g.budgets) {
    if (!g.members.some((m) => m.id === b.member)) throw new LedgerError('UNKNOWN_MEMBER', `genesis grants a budget to unknown member '${b.member}'`)
    if (s.getRaw(StateKey.budget(b.member)) !== undefined) throw new LedgerError('ALREADY_EXISTS', `genesis grants member '${b.member}' two budgets`)
    const rec: BudgetRecord = { member: b.member, epsilonCap: b.epsilon, delta: b.delta, spent: zeros, epsilonSpent: 0, reservations: [] }
    s.put(StateKey.budget(b.member), rec)
  }
  return LedgerState.empty().apply(s.changes(), 0)
}
