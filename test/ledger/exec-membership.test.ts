// Membership, governance, revocation, enclaves, budgets and validator sets.
import { describe, expect, it } from 'vitest'
import { approveTx, AttestationVerifierRegistry, evidenceNonce, executeBlock, signTx, StateKey, type BudgetRecord, type EnclaveRecord, type MemberRecord, type PendingValidatorSet, type RevocationEntry, type ValidatorSetRecord } from '../../ledger/index.ts'
import { DomainTag, encode, signPayload } from '../../primitives/index.ts'
import { CHAIN, codes, defaultGenesis, keysFor, MEASUREMENT, modelCid, PARTICIPANTS, TestChain, testEvidence, testVerifier } from './harness.ts'

const newMember = (id: string) => ({ id, org: `${id} org`, roles: ['participant' as const], publicKey: keysFor(id).publicKey })

function revocationEntry(subject: { kind: 'member' | 'enclave'; id: string }, serial: number, over: Partial<RevocationEntry> = {}): { kind: 'revocation-list'; entry: RevocationEntry; sig: Uint8Array } {
  const entry: RevocationEntry = { chain: CHAIN, authority: 'attestation-service', serial, subject, reason: 'TCB out of date', issuedAt: 1_700_000_000, ...over }
  return { kind: 'revocation-list', entry, sig: signPayload(keysFor('attestation-service').secretKey, DomainTag.REVOCATION, entry) }
}

describe('membership and governance', () => {
  it('lets a governor register a member; others may not', () => {
    const c = new TestChain()
    expect(codes(c.exec(c.tx('coord', 'member.register', newMember('bank-z'))))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('bank-z'))))).toEqual(['OK'])
    expect(c.get<MemberRecord>(StateKey.member('bank-z'))).toMatchObject({ id: 'bank-z', roles: ['participant'], registeredAt: 2 })
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('bank-z'))))).toEqual(['ALREADY_EXISTS'])
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('enclave-1'))))).toEqual(['ALREADY_EXISTS'])
  })

  it('enforces a governance quorum of distinct, valid governor signatures', () => {
    const c = new TestChain(defaultGenesis({ governanceThreshold: 2 }))
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('z1'))))).toEqual(['FORBIDDEN_ROLE'])
    expect(c.last!.receipts[0]!.message).toMatch(/needs 2 governors/)
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('z2'), { approvers: ['gov-1'] })))).toEqual(['BAD_SIGNATURE'])
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('z3'), { approvers: ['coord'] })))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('z4'), { approvers: ['gov-2'] })))).toEqual(['OK'])
  })

  it('refuses an approval whose signature is over another transaction', () => {
    const c = new TestChain(defaultGenesis({ governanceThreshold: 2 }))
    // The approvals list is the envelope's last field (DAG-CBOR key order), so the last
    // 64 bytes are gov-2's signature: replace it with gov-2's signature over another body.
    const bytes = Buffer.from(c.tx('gov-1', 'member.register', newMember('z5'), { approvers: ['gov-2'] }))
    const other = Buffer.from(c.tx('gov-1', 'member.register', newMember('z6'), { approvers: ['gov-2'], nonce: 0 }))
    const tampered = Buffer.concat([bytes.subarray(0, bytes.length - 64), other.subarray(other.length - 64)])
    expect(codes(c.exec(tampered))).toEqual(['BAD_SIGNATURE'])
  })

  it('revokes members by governance or by a signed revocation-list entry, applying entries in order, each once', () => {
    const c = new TestChain()
    const revoke = (member: string, evidence: ReturnType<typeof revocationEntry> | { kind: 'governance' }) => codes(c.exec(c.tx('auditor', 'member.revoke', { member, reason: 'relayer text', evidence })))[0]
    expect(revoke('bank-a', { kind: 'governance' })).toBe('FORBIDDEN_ROLE')
    expect(revoke('bank-a', revocationEntry({ kind: 'member', id: 'bank-b' }, 1))).toBe('BAD_ARGUMENT')
    expect(revoke('bank-a', { ...revocationEntry({ kind: 'member', id: 'bank-a' }, 1), sig: new Uint8Array(64) })).toBe('BAD_SIGNATURE')
    expect(revoke('bank-a', revocationEntry({ kind: 'member', id: 'bank-a' }, 1, { chain: 'other-chain' }))).toBe('WRONG_CHAIN')
    expect(revoke('bank-a', revocationEntry({ kind: 'member', id: 'bank-a' }, 1, { authority: 'constructor' }))).toBe('BAD_ARGUMENT')
    expect(revoke('bank-a', revocationEntry({ kind: 'member', id: 'bank-a' }, 1, { issuedAt: 1_900_000_000 }))).toBe('BAD_ARGUMENT')
    expect(revoke('bank-a', revocationEntry({ kind: 'member', id: 'bank-a' }, 2))).toBe('STALE_EVIDENCE') // #1 not applied yet: no skipping
    expect(revoke('bank-a', revocationEntry({ kind: 'member', id: 'bank-a' }, 1))).toBe('OK')
    expect(c.get<MemberRecord>(StateKey.member('bank-a'))).toMatchObject({ revokedAt: c.state.height, revocationReason: 'TCB out of date' }) // the signed reason
    expect(revoke('bank-b', revocationEntry({ kind: 'member', id: 'bank-b' }, 1))).toBe('STALE_EVIDENCE') // #1 is spent
    expect(revoke('bank-b', revocationEntry({ kind: 'member', id: 'bank-b' }, 2))).toBe('OK')
    // An entry whose subject is already revoked, or unknown, is applied as a no-op, in
    // order: it cannot hold up the authority's later entries.
    const revokedAt = c.get<MemberRecord>(StateKey.member('bank-a'))!.revokedAt
    expect(revoke('bank-a', revocationEntry({ kind: 'member', id: 'bank-a' }, 3))).toBe('OK')
    expect(c.get<MemberRecord>(StateKey.member('bank-a'))!.revokedAt).toBe(revokedAt)
    expect(revoke('nobody', revocationEntry({ kind: 'member', id: 'nobody' }, 4))).toBe('OK')
    expect(revoke('bank-c', revocationEntry({ kind: 'member', id: 'bank-c' }, 5))).toBe('OK')
    expect(c.get<MemberRecord>(StateKey.member('bank-c'))!.revokedAt).toBe(c.state.height)
    // Governance revocations of such subjects are refused.
    expect(codes(c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'x', evidence: { kind: 'governance' } })))).toEqual(['MEMBER_REVOKED'])
    expect(codes(c.exec(c.tx('gov-1', 'member.revoke', { member: 'nobody', reason: 'x', evidence: { kind: 'governance' } })))).toEqual(['UNKNOWN_MEMBER'])
  })

  it('never lets revocations leave fewer governors than the threshold', () => {
    const c = new TestChain(defaultGenesis({ governanceThreshold: 2 }))
    const r = c.exec(c.tx('gov-1', 'member.revoke', { member: 'gov-2', reason: 'x', evidence: { kind: 'governance' } }, { approvers: ['gov-2'] }))
    expect(codes(r)).toEqual(['FORBIDDEN_ROLE'])
    expect(r[0]!.message).toMatch(/under the threshold/)
    c.exec(c.tx('gov-1', 'member.register', { ...newMember('gov-3'), roles: ['governor'] }, { approvers: ['gov-2'] }))
    expect(codes(c.exec(c.tx('gov-1', 'member.revoke', { member: 'gov-2', reason: 'x', evidence: { kind: 'governance' } }, { approvers: ['gov-3'] })))).toEqual(['OK'])
  })

  it('accepts approvals only in canonical form: sorted, exactly as many as the threshold needs, on governance transactions', () => {
    const c = new TestChain() // threshold 1
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('z1'), { approvers: ['gov-2'] })))).toEqual(['BAD_ARGUMENT'])
    const open = { round: 'r1', baseModel: modelCid('m0'), training: { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }, aggregation: { rule: 'multi-krum' as const, f: 1, m: 4 }, eligible: PARTICIPANTS, deadline: 10, enclave: 'enclave-1' }
    expect(codes(c.exec(c.tx('coord', 'round.open', open, { approvers: ['gov-2'] })))).toEqual(['BAD_ARGUMENT'])
    const t = { chain: CHAIN, type: 'member.register' as const, sender: 'gov-1', nonce: 0, body: newMember('z2') }
    const unsorted = encode({ tx: t, sig: signTx(t, keysFor('gov-1').secretKey).sig, approvals: ['gov-2', 'auditor'].map((a) => approveTx(t, a, keysFor(a).secretKey)) })
    expect(codes(c.exec(unsorted))).toEqual(['MALFORMED'])
  })

  it('refuses weak (small-order) member keys', () => {
    const c = new TestChain()
    const weak = new Uint8Array(32)
    weak[0] = 1 // the identity point: signatures forgeable for any message
    expect(codes(c.exec(c.tx('gov-1', 'member.register', { ...newMember('z'), publicKey: weak })))).toEqual(['BAD_ARGUMENT'])
  })

  it('checks a genesis for consistency', () => {
    expect(() => new TestChain(defaultGenesis({ governanceThreshold: 3 }))).toThrow(/fewer than the threshold/)
    const g = defaultGenesis()
    expect(() => new TestChain({ ...g, budgets: [...g.budgets!, { member: 'bank-a', epsilon: 1, delta: 1e-5 }] })).toThrow(/two budgets/)
    expect(() => new TestChain({ ...g, attestation: { ...g.attestation, measurements: ['abc'] } })).toThrow(/hex/)
    expect(() => new TestChain({ ...g, validators: [g.validators[0]!, g.validators[0]!] })).toThrow(/unique/)
    const weak = new Uint8Array(32)
    weak[0] = 1
    expect(() => new TestChain({ ...g, members: [...g.members, { id: 'w', org: 'w', roles: ['participant'], publicKey: weak }] })).toThrow(/full order/)
    expect(() => new TestChain({ ...g, revocationAuthorities: { rogue: weak } })).toThrow(/full order/)
    expect(() => new TestChain({ ...g, enclaves: [{ ...g.enclaves![0]!, publicKey: weak }] })).toThrow(/full order/)
  })

  it('registers an enclave only with evidence that verifies against the policy', () => {
    const c = new TestChain()
    const key = keysFor('enclave-2').publicKey
    const body = (over: Partial<Parameters<typeof testEvidence>[0]> = {}, format?: string) => {
      const att = testEvidence({ keys: [key], for: ['enclave.register', 'enclave-2'], ...over })
      return { id: 'enclave-2', platform: 'sim', measurement: MEASUREMENT, publicKey: key, attestation: format ? { ...att, format } : att }
    }
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body({}, 'sgx-unknown'))))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body({ debug: true }))))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body({ keys: [] }))))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body({ measurement: new Uint8Array(32) }))))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body({ platform: 'other' }))))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body({ for: ['enclave.register', 'enclave-3'] }))))).toEqual(['ATTESTATION_REJECTED']) // made for another purpose
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body({ anchor: keysFor('rogue-root').publicKey }))))).toEqual(['ATTESTATION_REJECTED']) // not the chain's trust anchor
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body({ nonce: evidenceNonce('other-chain', 'enclave.register', 'enclave-2') }))))).toEqual(['ATTESTATION_REJECTED']) // made for another chain
    const weak = new Uint8Array(32)
    weak[0] = 1
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', { ...body(), publicKey: weak })))).toEqual(['BAD_ARGUMENT'])
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', body())))).toEqual(['OK'])
    expect(c.get<EnclaveRecord>(StateKey.enclave('enclave-2'))).toMatchObject({ platform: 'sim', revokedAt: null })
  })

  it("judges evidence age by the chain's policy", () => {
    const g = defaultGenesis()
    const key = keysFor('enclave-2').publicKey
    const register = (c: TestChain) => codes(c.exec(c.tx('gov-1', 'enclave.register', { id: 'enclave-2', platform: 'sim', measurement: MEASUREMENT, publicKey: key, attestation: testEvidence({ keys: [key], for: ['enclave.register', 'enclave-2'] }) })))
    expect(register(new TestChain({ ...g, attestation: { ...g.attestation, maxEvidenceAgeSeconds: 4 } }))).toEqual(['ATTESTATION_REJECTED']) // the first block is 5 s after the evidence
    expect(register(new TestChain({ ...g, attestation: { ...g.attestation, maxEvidenceAgeSeconds: 5 } }))).toEqual(['OK'])
  })

  it('refuses to execute on a node that cannot verify a format its chain allows', () => {
    const c = new TestChain()
    expect(() => executeBlock(c.state, { height: 1, timeSec: 0, txs: [] }, { attestation: new AttestationVerifierRegistry() })).toThrow(/cannot verify evidence formats/)
    expect(() => executeBlock(c.state, { height: 1, timeSec: 0, txs: ['not bytes' as never] }, { attestation: testVerifier })).toThrow(/byte arrays/)
  })

  it('refuses an enclave whose measurement is not allowed', () => {
    const c = new TestChain(defaultGenesis({ attestation: { formats: ['test-v1'], measurements: [] } }))
    const key = keysFor('enclave-2').publicKey
    expect(codes(c.exec(c.tx('gov-1', 'enclave.register', { id: 'enclave-2', platform: 'sim', measurement: MEASUREMENT, publicKey: key, attestation: testEvidence({ keys: [key], for: ['enclave.register', 'enclave-2'] }) })))).toEqual(['ATTESTATION_REJECTED'])
  })

  it('revokes an enclave; its transactions are refused from then on', () => {
    const c = new TestChain()
    expect(codes(c.exec(c.tx('auditor', 'enclave.revoke', { enclave: 'enclave-1', reason: 'TCB', evidence: revocationEntry({ kind: 'member', id: 'enclave-1' }, 1) })))).toEqual(['BAD_ARGUMENT'])
    expect(codes(c.exec(c.tx('auditor', 'enclave.revoke', { enclave: 'enclave-1', reason: 'TCB', evidence: revocationEntry({ kind: 'enclave', id: 'enclave-1' }, 1) })))).toEqual(['OK'])
    expect(codes(c.exec(c.tx('enclave-1', 'round.close', { round: 'r' })))).toEqual(['ENCLAVE_REVOKED'])
    expect(codes(c.exec(c.tx('gov-1', 'enclave.revoke', { enclave: 'enclave-1', reason: 'again', evidence: { kind: 'governance' } })))).toEqual(['ENCLAVE_REVOKED'])
    expect(codes(c.exec(c.tx('gov-1', 'enclave.revoke', { enclave: 'enclave-9', reason: 'x', evidence: { kind: 'governance' } })))).toEqual(['UNKNOWN_ENCLAVE'])
  })

  it('grants budgets to known, unrevoked members only, keeping what was spent', () => {
    const c = new TestChain()
    expect(codes(c.exec(c.tx('gov-1', 'budget.grant', { member: 'ghost', epsilon: 1, delta: 1e-5 })))).toEqual(['UNKNOWN_MEMBER'])
    expect(codes(c.exec(c.tx('coord', 'budget.grant', { member: 'bank-a', epsilon: 1, delta: 1e-5 })))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 3, delta: 1e-6 })))).toEqual(['OK'])
    expect(c.get<BudgetRecord>(StateKey.budget('bank-a'))).toMatchObject({ epsilonCap: 3, delta: 1e-6, epsilonSpent: 0 })
  })

  it('orders a validator-set change and applies it at the next epoch boundary', () => {
    const c = new TestChain() // epochLength 10
    const validators = [4, 5, 6, 7].map((i) => ({ id: `val-${i}`, publicKey: keysFor(`val-${i}`).publicKey, power: 1 }))
    expect(codes(c.exec(c.tx('gov-1', 'validator-set.update', { validators, epoch: 0 })))).toEqual(['VALIDATOR_SET'])
    expect(codes(c.exec(c.tx('gov-1', 'validator-set.update', { validators: [validators[0]!, validators[0]!], epoch: 1 })))).toEqual(['VALIDATOR_SET'])
    expect(codes(c.exec(c.tx('gov-1', 'validator-set.update', { validators: [{ ...validators[0]!, publicKey: new Uint8Array(32) }], epoch: 1 })))).toEqual(['VALIDATOR_SET'])
    expect(codes(c.exec(c.tx('gov-1', 'validator-set.update', { validators, epoch: 1 })))).toEqual(['OK'])
    expect(codes(c.exec(c.tx('gov-1', 'validator-set.update', { validators, epoch: 2 })))).toEqual(['VALIDATOR_SET']) // one pending change at a time
    expect(c.get<PendingValidatorSet>(StateKey.pendingValidators)).toMatchObject({ epoch: 1 })
    c.advanceTo(8)
    expect(c.get<ValidatorSetRecord>(StateKey.validators)!.epoch).toBe(0)
    c.advanceTo(9) // the last block of epoch 0
    expect(c.get<ValidatorSetRecord>(StateKey.validators)).toMatchObject({ epoch: 1, validators: [{ id: 'val-4' }, { id: 'val-5' }, { id: 'val-6' }, { id: 'val-7' }] })
    expect(c.get(StateKey.pendingValidators)).toBeUndefined()
  })

  it('refuses a validator-set change ordered too close to its epoch', () => {
    const c = new TestChain() // epochLength 10: epoch 1 starts at height 10
    c.advanceTo(8)
    const validators = [4, 5, 6, 7].map((i) => ({ id: `val-${i}`, publicKey: keysFor(`val-${i}`).publicKey, power: 1 }))
    const r = c.exec(c.tx('gov-1', 'validator-set.update', { validators, epoch: 1 }))
    expect(codes(r)).toEqual(['VALIDATOR_SET'])
    expect(r[0]!.message).toMatch(/at least 2 blocks before/)
    expect(codes(c.exec(c.tx('gov-1', 'validator-set.update', { validators, epoch: 2 })))).toEqual(['OK'])
  })
})

describe('params.update: governance changes the threshold and the attestation policy', () => {
  it('raises the threshold with a quorum under the one in force, from the next block on, never above the governors there are', () => {
    const c = new TestChain() // threshold 1, governors gov-1 and gov-2
    expect(codes(c.exec(c.tx('coord', 'params.update', { governanceThreshold: 2 })))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { governanceThreshold: 3 })))).toEqual(['BAD_ARGUMENT'])
    expect(c.last!.receipts[0]!.message).toMatch(/there are 2/)
    // in one block: the change, then a registration by gov-1 alone, still judged under threshold 1
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { governanceThreshold: 2 }), c.tx('gov-1', 'member.register', newMember('p1'))))).toEqual(['OK', 'OK'])
    expect(c.get<{ governanceThreshold: number }>(StateKey.params)!.governanceThreshold).toBe(2)
    // from the next block: two governors
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('p2'))))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('p3'), { approvers: ['gov-2'] })))).toEqual(['OK'])
    // and lowering it needs the quorum in force
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { governanceThreshold: 1 })))).toEqual(['FORBIDDEN_ROLE'])
    expect(codes(c.exec(c.tx('gov-2', 'params.update', { governanceThreshold: 1 }, { approvers: ['gov-1'] })))).toEqual(['OK'])
  })

  it('a raise and a governor revocation in one block cannot leave fewer governors than the new threshold', () => {
    const c = new TestChain() // threshold 1, governors gov-1 and gov-2
    const raise = c.tx('gov-1', 'params.update', { governanceThreshold: 2 })
    const revoke = c.tx('gov-2', 'member.revoke', { member: 'gov-1', reason: 'x', evidence: { kind: 'governance' } })
    expect(codes(c.exec(raise, revoke))).toEqual(['OK', 'FORBIDDEN_ROLE'])
    expect(c.last!.receipts[1]!.message).toMatch(/under the threshold 2/)
    // governance still works: both governors together
    expect(codes(c.exec(c.tx('gov-1', 'member.register', newMember('p9'), { approvers: ['gov-2'] })))).toEqual(['OK'])
  })

  it('allows only evidence formats the protocol defines or the chain already allows, whatever verifiers a node has', () => {
    const c = new TestChain()
    const policy = (formats: string[]) => ({ formats, trustAnchors: {}, maxEvidenceAgeSeconds: 600, measurements: [] })
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { attestation: policy(['aws-nitro-v2']) })))).toEqual(['BAD_ARGUMENT'])
    // accepted though this test node has no Nitro verifier: the outcome is the same on every validator
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { attestation: policy(['test-v1', 'aws-nitro-v1']) })))).toEqual(['OK'])
    // (a node that cannot verify an allowed format then stops executing, as at genesis: every release has all four)
    expect(() => c.exec()).toThrow(/cannot verify evidence formats its chain allows: aws-nitro-v1/)
  })

  it('replaces the attestation policy: evidence the old policy allowed is refused under the new one', () => {
    const c = new TestChain()
    const key = keysFor('enclave-2').publicKey
    const register = (id: string) => c.tx('gov-1', 'enclave.register', { id, platform: 'sim', measurement: MEASUREMENT, publicKey: key, attestation: testEvidence({ keys: [key], for: ['enclave.register', id] }) })
    const other = 'ab'.repeat(32)
    const policy = { formats: ['test-v1'], trustAnchors: { 'test-v1': [keysFor('test-attestation-root').publicKey] }, maxEvidenceAgeSeconds: 600, measurements: [other] }
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { attestation: { ...policy, formats: ['tpm-v9'] } })))).toEqual(['BAD_ARGUMENT']) // no protocol defines it
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { attestation: { ...policy, trustAnchors: { 'tpm-v9': [key] } } })))).toEqual(['BAD_ARGUMENT'])
    expect(codes(c.exec(c.tx('gov-1', 'params.update', {})))).toEqual(['MALFORMED'])
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { attestation: policy })))).toEqual(['OK'])
    expect(c.get<{ attestation: unknown }>(StateKey.params)!.attestation).toEqual(policy)
    // the enclave's measurement is no longer allowed
    expect(codes(c.exec(register('enclave-2')))).toEqual(['ATTESTATION_REJECTED'])
    expect(codes(c.exec(c.tx('gov-1', 'params.update', { attestation: { ...policy, measurements: [other, Buffer.from(MEASUREMENT).toString('hex')] } })))).toEqual(['OK'])
    expect(codes(c.exec(register('enclave-3')))).toEqual(['OK'])
  })
})
