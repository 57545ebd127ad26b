/**
 * The consortium a testnet starts with, modelled on the ledger demo: two
 * governors (both must sign governance), a coordinator, an auditor and four
 * banks with ε ≤ 4 at δ = 1e-5; an attestation policy for the simulated TEE
 * format sim-v1 (a testnet root certifies one platform; one enclave measurement
 * is allowed) with one enclave registered at genesis; a revocation authority.
 * Every key is fresh; the caller writes them to disk so later tools can sign.
 */
import { SIM_FORMAT } from '../enclave/index.ts'
import { type Genesis, type Role } from '../ledger/index.ts'
import { generateKeyPair, sha256, toHex, type Ed25519KeyPair } from '../primitives/index.ts'

export const CONSORTIUM_MEMBERS: ReadonlyArray<{ id: string; roles: Role[] }> = [
  { id: 'gov-1', roles: ['governor'] },
  { id: 'gov-2', roles: ['governor'] },
  { id: 'coordinator', roles: ['coordinator'] },
  { id: 'auditor', roles: ['auditor'] },
  { id: 'bank-a', roles: ['participant'] },
  { id: 'bank-b', roles: ['participant'] },
  { id: 'bank-c', roles: ['participant'] },
  { id: 'bank-d', roles: ['participant'] },
]
export const ATTESTATION_ROOT = 'testnet-root'
export const SIM_PLATFORM = 'sim-platform'
export const REVOCATION_AUTHORITY = 'attestation-service'
export const ENCLAVE_ID = 'enclave-1'
/** the measurement the testnet's policy allows: a fixed stand-in for a real enclave bundle hash */
export const TESTNET_MEASUREMENT = sha256(new TextEncoder().encode('fedledger aggregation enclave bundle (testnet)'))

export const loadSenderId = (i: number): string => `load-${i}`

export interface ConsortiumOptions {
  chainId: string
  validators: ReadonlyArray<{ id: string; publicKey: Uint8Array }>
  epochLength?: number
  /** ε cap of every bank (default 4) */
  epsilon?: number
  /**
   * Adds this many load senders, `load-0`, `load-1`, …: governors that may each
   * re-affirm a budget alone (the governance threshold becomes 1). A chain for
   * throughput benchmarks, where every transaction carries one signature.
   */
  loadSenders?: number
  /** participant banks' ids, replacing bank-a … bank-d (a federation's banks) */
  banks?: readonly string[]
  /** ε caps of particular members, overriding `epsilon` */
  epsilonCaps?: Readonly<Record<string, number>>
}

export interface Consortium {
  genesis: Genesis
  members: Array<{ id: string; roles: Role[]; key: Ed25519KeyPair }>
  authorities: Array<{ id: string; purpose: string; key: Ed25519KeyPair }>
  enclaves: Array<{ id: string; platform: string; measurement: string; key: Ed25519KeyPair }>
}

export function buildConsortium(opts: ConsortiumOptions): Consortium {
  const base = opts.banks === undefined ? CONSORTIUM_MEMBERS : [...CONSORTIUM_MEMBERS.filter((m) => !m.roles.includes('participant')), ...opts.banks.map((id) => ({ id, roles: ['participant'] as Role[] }))]
  const members = base.map((m) => ({ id: m.id, roles: [...m.roles], key: generateKeyPair() }))
  const loadSenders = opts.loadSenders ?? 0
  for (let i = 0; i < loadSenders; i++) members.push({ id: loadSenderId(i), roles: ['governor'], key: generateKeyPair() })
  const root = generateKeyPair()
  const revocation = generateKeyPair()
  const authorities = [
    { id: ATTESTATION_ROOT, purpose: `trust anchor of ${SIM_FORMAT}: certifies simulated TEE platforms (enclave/ certifyPlatform)`, key: root },
    { id: SIM_PLATFORM, purpose: `the simulated TEE platform: signs ${SIM_FORMAT} evidence (enclave/ issueSimEvidence)`, key: generateKeyPair() },
    { id: REVOCATION_AUTHORITY, purpose: 'revocation authority: signs revocation-list entries', key: revocation },
  ]
  const enclaves = [{ id: ENCLAVE_ID, platform: SIM_PLATFORM, measurement: toHex(TESTNET_MEASUREMENT), key: generateKeyPair() }]
  const genesis: Genesis = {
    chainId: opts.chainId,
    epochLength: opts.epochLength ?? 1000,
    governanceThreshold: loadSenders > 0 ? 1 : 2,
    revocationAuthorities: { [REVOCATION_AUTHORITY]: revocation.publicKey },
    attestation: { formats: [SIM_FORMAT], trustAnchors: { [SIM_FORMAT]: [root.publicKey] }, measurements: [toHex(TESTNET_MEASUREMENT)] },
    validators: opts.validators.map((v) => ({ id: v.id, publicKey: v.publicKey, power: 1 })),
    members: members.map((m) => ({ id: m.id, org: m.id, roles: m.roles, publicKey: m.key.publicKey })),
    enclaves: enclaves.map((e) => ({ id: e.id, platform: e.platform, measurement: TESTNET_MEASUREMENT, publicKey: e.key.publicKey })),
    budgets: members.filter((m) => m.roles.includes('participant')).map((m) => ({ member: m.id, epsilon: opts.epsilonCaps?.[m.id] ?? opts.epsilon ?? 4, delta: 1e-5 })),
  }
  return { genesis, members, authorities, enclaves }
}
