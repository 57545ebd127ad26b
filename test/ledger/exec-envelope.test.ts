// Rules every transaction passes before its handler: decoding, chain id, sender, nonce, signature.
import { describe, expect, it } from 'vitest'
import { approveTx, decodeTx, encodeTx, executeBlock, signTx, StateKey, txId, type MemberRecord } from '../../ledger/index.ts'
import { encode } from '../../primitives/index.ts'
import { CHAIN, codes, defaultGenesis, keysFor, TestChain, testVerifier } from './harness.ts'

const grant = { member: 'bank-a', epsilon: 4, delta: 1e-5 }

describe('transaction envelope rules', () => {
  it('applies a valid transaction and bumps the sender nonce', () => {
    const c = new TestChain()
    expect(codes(c.exec(c.tx('gov-1', 'budget.grant', grant)))).toEqual(['OK'])
    expect(c.get<number>(StateKey.nonce('gov-1'))).toBe(1)
  })

  it('refuses malformed bytes, unknown types and bad bodies with typed codes, changing nothing', () => {
    const c = new TestChain()
    c.exec() // block 1 records the genesis hash
    const before = c.state.root
    const unknownType = encodeTx(signTx({ chain: CHAIN, type: 'member.promote' as never, sender: 'gov-1', nonce: 0, body: {} as never }, keysFor('gov-1').secretKey))
    const badBody = encodeTx(signTx({ chain: CHAIN, type: 'budget.grant', sender: 'gov-1', nonce: 0, body: { member: 'bank-a', epsilon: -1, delta: 1e-5 } }, keysFor('gov-1').secretKey))
    const extraField = encodeTx(signTx({ chain: CHAIN, type: 'budget.grant', sender: 'gov-1', nonce: 0, body: { ...grant, bonus: 1 } as never }, keysFor('gov-1').secretKey))
    const receipts = c.exec(new Uint8Array([0xff, 0x00, 0x13]), encode({ hello: 'world' }), unknownType, badBody, extraField, new Uint8Array(600 * 1024))
    expect(codes(receipts)).toEqual(['MALFORMED', 'MALFORMED', 'UNKNOWN_TX_TYPE', 'MALFORMED', 'MALFORMED', 'OVERSIZED'])
    expect(receipts[3]!.message).toMatch(/epsilon/)
    expect(c.state.root).toEqual(before)
  })

  it('refuses non-canonical encodings (one transaction, one id)', () => {
    const c = new TestChain()
    const good = c.tx('gov-1', 'budget.grant', grant)
    // re-encode the map with an indefinite-length header: same value, different bytes
    const indefinite = new Uint8Array(good.length + 1)
    indefinite[0] = 0xbf
    indefinite.set(good.subarray(1), 1)
    indefinite[indefinite.length - 1] = 0xff
    expect(codes(c.exec(indefinite))).toEqual(['MALFORMED'])
  })

  it('refuses a wrong signature, a wrong chain, an unknown sender', () => {
    const c = new TestChain()
    const forged = c.tx('gov-1', 'budget.grant', grant, { key: 'gov-2', nonce: 0 })
    const otherChain = c.tx('gov-1', 'budget.grant', grant, { chain: 'other-chain', nonce: 0 })
    const stranger = c.tx('mallory', 'budget.grant', grant, { nonce: 0 })
    expect(codes(c.exec(forged, otherChain, stranger))).toEqual(['BAD_SIGNATURE', 'WRONG_CHAIN', 'UNKNOWN_MEMBER'])
  })

  it('trusts a signature the node already verified only for those exact bytes under the sender’s current key', () => {
    const c = new TestChain()
    const forged = c.tx('gov-1', 'budget.grant', grant, { key: 'gov-2', nonce: 0 })
    const asked: Array<[string, string]> = []
    const run = (vouch: (id: string, key: Uint8Array) => boolean) =>
      codes(executeBlock(c.state, { height: c.state.height + 1, timeSec: 0, txs: [forged] }, {
        attestation: testVerifier,
        verifiedSender: (id, key) => (asked.push([id, Buffer.from(key).toString('hex')]), vouch(id, key)),
      }).receipts)
    const current = Buffer.from(c.get<MemberRecord>(StateKey.member('gov-1'))!.publicKey).toString('hex')
    // the mempool answers false (it never admitted these bytes): execution verifies and refuses
    expect(run(() => false)).toEqual(['BAD_SIGNATURE'])
    expect(asked).toEqual([[txId(forged).toString(), current]])
    // a vouched-for signature is not checked again (the mempool never vouches for a bad one)
    expect(run((id, key) => id === txId(forged).toString() && Buffer.from(key).toString('hex') === current)).toEqual(['OK'])
  })

  it('reuses a decoding the node made of the same bytes before, and decodes what it does not know', () => {
    const c = new TestChain()
    const known = c.tx('gov-1', 'budget.grant', grant)
    const unknown = c.tx('gov-1', 'budget.grant', { ...grant, epsilon: 5 }, { nonce: 1 })
    const asked: Uint8Array[] = []
    const cached = decodeTx(known)
    const outcome = executeBlock(c.state, { height: c.state.height + 1, timeSec: 0, txs: [known, unknown] }, {
      attestation: testVerifier,
      decoded: (bytes) => (asked.push(bytes), bytes === known ? cached : undefined),
    })
    expect(asked).toEqual([known, unknown])
    expect(outcome.receipts.map((r) => [r.code, r.tx.toString()])).toEqual([['OK', txId(known).toString()], ['OK', txId(unknown).toString()]])
  })

  it('refuses replays and nonce gaps, which consume nothing', () => {
    const c = new TestChain()
    const first = c.tx('gov-1', 'budget.grant', grant)
    expect(codes(c.exec(first, first))).toEqual(['OK', 'BAD_NONCE'])
    expect(codes(c.exec(first))).toEqual(['BAD_NONCE'])
    expect(c.last!.receipts[0]!.message).toMatch(/replay/)
    const gap = c.tx('gov-1', 'budget.grant', grant, { nonce: 5 })
    expect(codes(c.exec(gap))).toEqual(['BAD_NONCE'])
    expect(c.get<number>(StateKey.nonce('gov-1'))).toBe(1)
  })

  it('a transaction its handler refuses consumes its nonce, so it can never execute later; a bad signature consumes nothing', () => {
    const c = new TestChain()
    c.exec() // block 1 records the genesis hash
    const failing = c.tx('gov-1', 'budget.grant', { ...grant, member: 'nobody' })
    expect(codes(c.exec(failing))).toEqual(['UNKNOWN_MEMBER'])
    expect(c.get<number>(StateKey.nonce('gov-1'))).toBe(1)
    expect(c.last!.writes.map(([k]) => k)).toEqual([StateKey.nonce('gov-1')]) // its nonce and nothing else
    // the state changes so that it would now pass: the refused bytes still never execute
    expect(codes(c.exec(c.tx('gov-1', 'member.register', { id: 'nobody', org: 'nobody org', roles: ['participant'], publicKey: keysFor('nobody').publicKey })))).toEqual(['OK'])
    expect(codes(c.exec(failing))).toEqual(['BAD_NONCE'])
    expect(c.get(StateKey.budget('nobody'))).toBeUndefined()
    // signed with another key: it may not be gov-1's at all, so gov-1's nonce is not spent
    expect(codes(c.exec(c.tx('gov-1', 'budget.grant', grant, { key: 'bank-a' })))).toEqual(['BAD_SIGNATURE'])
    expect(c.get<number>(StateKey.nonce('gov-1'))).toBe(2)
    // and a refused transaction leaves nothing else behind
    expect(c.last!.writes.map(([k]) => k)).toEqual([])
  })

  it('a relayer who adds, drops or spoils governance approvals cannot burn the sender\'s nonce: the untouched transaction still executes', () => {
    const c = new TestChain(defaultGenesis({ governanceThreshold: 2 }))
    const tx = { chain: CHAIN, type: 'budget.grant' as const, sender: 'gov-1', nonce: 0, body: grant }
    const honest = signTx(tx, keysFor('gov-1').secretKey)
    honest.approvals = [approveTx(tx, 'gov-2', keysFor('gov-2').secretKey)]
    const stripped = { ...honest, approvals: undefined }
    const spoiled = { ...honest, approvals: [{ member: 'gov-2', sig: new Uint8Array(64) }] }
    const added = { ...honest, approvals: [...honest.approvals, { member: 'coord', sig: new Uint8Array(64) }] }
    for (const forged of [stripped, spoiled, added]) {
      expect(codes(c.exec(encodeTx(forged)))).not.toEqual(['OK'])
      expect(c.get<number>(StateKey.nonce('gov-1')) ?? 0).toBe(0)
    }
    expect(codes(c.exec(encodeTx(honest)))).toEqual(['OK'])
    // under threshold 1 a governance transaction takes no approval: one stuck on is refused, the nonce kept
    const solo = new TestChain()
    const one = signTx({ ...tx, nonce: 0 }, keysFor('gov-1').secretKey)
    expect(codes(solo.exec(encodeTx({ ...one, approvals: [approveTx(tx, 'gov-2', keysFor('gov-2').secretKey)] })))).toEqual(['BAD_ARGUMENT'])
    expect(solo.get<number>(StateKey.nonce('gov-1')) ?? 0).toBe(0)
    expect(codes(solo.exec(encodeTx(one)))).toEqual(['OK'])
  })

  it('refuses a revoked sender from the height of its revocation on', () => {
    const c = new TestChain()
    c.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'left', evidence: { kind: 'governance' } }))
    const m = c.get<MemberRecord>(StateKey.member('bank-a'))!
    expect(m.revokedAt).toBe(1)
    expect(codes(c.exec(c.tx('bank-a', 'round.close', { round: 'r' })))).toEqual(['MEMBER_REVOKED'])
  })

  it('never throws out of a block, whatever the bytes', () => {
    const c = new TestChain()
    const junk = [new Uint8Array(0), encode(null), encode([1, 2, 3]), encode({ tx: {}, sig: new Uint8Array(64) }), encode({ tx: { chain: CHAIN, type: 'round.open', sender: 'coord', nonce: 0, body: null }, sig: new Uint8Array(64) })]
    const out = executeBlock(c.state, { height: 1, timeSec: 0, txs: junk }, { attestation: testVerifier })
    expect(out.receipts.every((r) => r.code !== 'OK' && r.code !== 'INTERNAL')).toBe(true)
  })

  it('throws when asked to execute at the wrong height (caller invariant)', () => {
    const c = new TestChain()
    expect(() => executeBlock(c.state, { height: 5, timeSec: 0, txs: [] }, { attestation: testVerifier })).toThrow(/height/)
  })
})
