/**
 * Genesis: the consortium's founding document. It fixes the chain id, the
 * governance threshold, revocation authorities, the attestation policy, the
 * first validators, members (with roles and keys), enclaves attested out of
 * band, and privacy budgets. `genesisState` turns it into the state at height 0.
 */
import { z } from 'zod'
import { LedgerError } from './errors.ts'
import { DEFAULT_RDP_ORDERS } from './exec/budget.ts'
import type { BudgetRecord, ChainParams, EnclaveRecord, MemberRecord, ValidatorSetRecord } from './state/records.ts'
import { StateKey } from './state/keys.ts'
import { LedgerState, StateOverlay } from './state/state.ts'
import { Bodies } from './tx/schema.ts'

const hex32 = z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === 32, 'expected a 32-byte key')

export const GenesisSchema = z.strictObject({
  chainId: Bodies['member.register'].shape.id,
  epochLength: z.number().int().min(1),
  governanceThreshold: z.number().int().min(1),
  revocationAuthorities: z.record(z.string(), hex32),
  attestation: z.strictObject({ formats: z.array(z.string()), measurements: z.array(z.string().regex(/^[0-9a-f]*$/)) }),
  validators: Bodies['validator-set.update'].shape.validators,
  members: z.array(Bodies['member.register'].omit({ attestation: true })),
  enclaves: z.array(Bodies['enclave.register'].omit({ attestation: true })).default([]),
  budgets: z.array(Bodies['budget.grant']).default([]),
  rdpOrders: z.array(z.number().gt(1)).min(1).optional(),
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
  }
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
    const rec: MemberRecord = { id: m.id, org: m.org, roles: [...new Set(m.roles)], publicKey: m.publicKey, attestation: null, registeredAt: 0, revokedAt: null, revocationReason: null }
    s.put(StateKey.member(m.id), rec)
  }
  if (!g.members.some((m) => m.roles.includes('governor'))) throw new LedgerError('MALFORMED', 'genesis needs at least one governor')
  for (const e of g.enclaves) {
    unique(e.id)
    const rec: EnclaveRecord = { id: e.id, platform: e.platform, measurement: e.measurement, publicKey: e.publicKey, registeredAt: 0, revokedAt: null, revocationReason: null }
    s.put(StateKey.enclave(e.id), rec)
  }
  const zeros = params.rdpOrders.map(() => 0)
  for (const b of g.budgets) {
    if (!g.members.some((m) => m.id === b.member)) throw new LedgerError('UNKNOWN_MEMBER', `genesis grants a budget to unknown member '${b.member}'`)
    const rec: BudgetRecord = { member: b.member, epsilonCap: b.epsilon, delta: b.delta, spent: zeros, epsilonSpent: 0, reservations: [] }
    s.put(StateKey.budget(b.member), rec)
  }
  return LedgerState.empty().apply(s.changes(), 0)
}
