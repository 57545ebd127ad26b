// The enclave verifies what it acts on (issue: "the enclave's host-trust gap"): a malicious
// host drives the real EnclaveService (in-process twin) with every ledger fact it can bend,
// and each attack is refused with a typed code. The four attacks on the service as it was:
//   (a) re-aggregations "without" members who were never revoked, differenced against the
//       release (n·R − (n−1)·R′ gives one member's update);
//   (b) a fabricated committed set (a victim plus Sybils with host-chosen keys);
//   (c) central σ = 0;
//   (d) a sealing window that no checkpoint ever erases.
// Plus one lying validator, which cannot make a certificate alone, and a host that runs its
// own chain with the same chain id.
import { beforeEach, describe, expect, it } from 'vitest'
import type { EnclaveClient, LedgerProofs } from '../../../enclave/service/index.ts'
import { decodeCertificate } from '../../../consensus/index.ts'
import { StateKey, type LedgerState, type MemberRecord, type RoundRecord } from '../../../ledger/index.ts'
import { decode, encode, generateKeyPair } from '../../../primitives/index.ts'
import { aggregateKeys, reaggregateKeys } from '../../helpers/certified.ts'
import { inProcessEnclave, simEnclaveKeys, type SimEnclaveKeys } from './factory.ts'
import { aggregated, BASE_BYTES, baseModelCid, CHAIN, envelopesOf, expectCode, ledgerRound, MEMBERS, TRAINING } from './rounds.ts'
import { codes, SimChain } from './sim-chain.ts'

const revoke = (chain: SimChain, member: string) => chain.tx('gov-1', 'member.revoke', { member, reason: 'fraud', evidence: { kind: 'governance' } })

/** `state` with `key` rewritten by `change`: what a lying host or validator would prove from. */
function forged<T>(state: LedgerState, key: string, change: (value: T) => T): LedgerState {
  return state.apply([[key, encode(change(state.get<T>(key)!))]], state.height)
}

/** The proofs of `keys` taken from `lie`, under the certificate of the real `state`. */
function provenFrom(chain: SimChain, state: LedgerState, lie: LedgerState, keys: readonly string[]): LedgerProofs {
  const honest = chain.proofs(keys, state)
  return { ...honest, proofs: keys.map((k) => [k, encode(lie.trie.prove(k))]) }
}

let keys: SimEnclaveKeys
let chain: SimChain
let client: EnclaveClient

beforeEach(() => {
  keys = simEnclaveKeys()
  chain = new SimChain(keys.info, keys.trustAnchor, MEMBERS)
  client = inProcessEnclave(keys, chain.trust()).client
})

describe('(a) re-aggregation: exactly the pending members, from the current result only', () => {
  it('refuses a re-aggregation while the certified round has no revocation pending', async () => {
    const a = aggregated(await client.aggregate((await ledgerRound(chain, client, 'r')).request))
    expect(codes(chain.exec(a.tx))).toEqual(['OK'])
    await expectCode(client.reaggregate(chain.reaggregateRequest('r', a.sealed, BASE_BYTES)), 'LEDGER_STATE')
  })

  it('refuses a pending list the host (or one validator) altered, and a certificate one validator signed alone', async () => {
    const a = aggregated(await client.aggregate((await ledgerRound(chain, client, 'r')).request))
    expect(codes(chain.exec(a.tx))).toEqual(['OK'])
    const victim = a.included[0]! // never revoked
    const lie = forged<RoundRecord>(chain.state, StateKey.round('r'), (r) => ({ ...r, reaggregate: [victim] }))
    const request = chain.reaggregateRequest('r', a.sealed, BASE_BYTES)
    // the altered record under the real certified root
    await expectCode(client.reaggregate({ ...request, ledger: provenFrom(chain, chain.state, lie, reaggregateKeys('r')) }), 'UNVERIFIED')
    // the altered state, certified by one lying validator (2f+1 = 3 needed)
    const alone = { ...chain.proofs(reaggregateKeys('r'), lie), certificate: encode(chain.certifier.certificate(lie, { signers: ['val-0'] })) }
    await expectCode(client.reaggregate({ ...request, ledger: alone }), 'UNVERIFIED')
    // … or signed with keys the genesis does not know, in the validators' places
    const strangers = { ...chain.proofs(reaggregateKeys('r'), lie), certificate: encode(chain.certifier.certificate(lie, { signers: ['val-0', 'stranger-1', 'stranger-2'] })) }
    await expectCode(client.reaggregate({ ...request, ledger: strangers }), 'UNVERIFIED')
  })

  it('drops exactly the certified pending members, and only from the sealed record of the current result', async () => {
    const a = aggregated(await client.aggregate((await ledgerRound(chain, client, 'r', { f: 1 })).request))
    expect(codes(chain.exec(a.tx))).toEqual(['OK'])
    const [first, second] = a.included
    expect(codes(chain.exec(revoke(chain, first!)))).toEqual(['OK'])
    const re = await client.reaggregate(chain.reaggregateRequest('r', a.sealed, BASE_BYTES))
    expect(re.included).toEqual(a.included.filter((m) => m !== first))
    expect(codes(chain.exec(re.tx))).toEqual(['OK'])
    expect(codes(chain.exec(revoke(chain, second!)))).toEqual(['OK'])
    // the original release's record, with `second` pending now: it would yield a release that
    // differs from `re` only by `first`'s update; refused, it is not the current result
    await expectCode(client.reaggregate(chain.reaggregateRequest('r', a.sealed, BASE_BYTES)), 'LEDGER_STATE')
    const again = await client.reaggregate(chain.reaggregateRequest('r', re.sealed, BASE_BYTES))
    expect(again.included).toEqual(a.included.filter((m) => m !== first && m !== second))
    expect(codes(chain.exec(again.tx))).toEqual(['OK'])
  })

  it('refuses a sealed record of another round', async () => {
    const a = aggregated(await client.aggregate((await ledgerRound(chain, client, 'r1', { f: 1 })).request))
    expect(codes(chain.exec(a.tx))).toEqual(['OK'])
    const b = aggregated(await client.aggregate((await ledgerRound(chain, client, 'r2', { f: 1 })).request))
    expect(codes(chain.exec(b.tx))).toEqual(['OK'])
    expect(codes(chain.exec(revoke(chain, a.included[0]!)))).toEqual(['OK'])
    expect(chain.round('r1').reaggregate).toHaveLength(1)
    await expectCode(client.reaggregate(chain.reaggregateRequest('r1', b.sealed, BASE_BYTES)), 'BAD_REQUEST')
  })
})

describe('(b) the committed set and the member keys are the ledger\'s', () => {
  it('refuses a request that leaves commits out, adds a Sybil commit, or swaps a member key', async () => {
    const { request } = await ledgerRound(chain, client, 'r')
    const victim = MEMBERS[0]!
    const keysOf = aggregateKeys(chain.state, 'r')
    // only the victim's commit and key: "1 of 10" is not the committed set
    const only = [StateKey.round('r'), StateKey.commit('r', victim), StateKey.member(victim), StateKey.checkpointLatest]
    await expectCode(client.aggregate({ ...request, ledger: chain.proofs(only) }), 'UNVERIFIED')
    // a Sybil's commit that the ledger does not hold: proven absent, it does not count; forged present, it does not verify
    const sybil = 'sybil-1'
    const withSybil = chain.state.apply([[StateKey.commit('r', sybil), encode({ ...chain.get(StateKey.commit('r', victim))!, member: sybil, seq: 10 })]], chain.state.height)
    await expectCode(client.aggregate({ ...request, ledger: provenFrom(chain, chain.state, withSybil, [...keysOf, StateKey.commit('r', sybil)]) }), 'UNVERIFIED')
    // a member key of the host's choosing
    const swapped = forged<MemberRecord>(chain.state, StateKey.member(MEMBERS[1]!), (m) => ({ ...m, publicKey: generateKeyPair().publicKey }))
    await expectCode(client.aggregate({ ...request, ledger: provenFrom(chain, chain.state, swapped, keysOf) }), 'UNVERIFIED')
    // the honest request still aggregates
    expect((await client.aggregate(request)).kind).toBe('aggregated')
  })

  it('refuses a state before the deadline, when the committed set is not final (only the victim had committed)', async () => {
    const victim = MEMBERS[0]!
    const { subs } = await ledgerRound(chain, client, 'r', { committers: [victim], deadlineIn: 30 })
    const early = chain.aggregateRequest('r', envelopesOf(subs), BASE_BYTES)
    await expectCode(client.aggregate(early), 'LEDGER_STATE')
    // past the deadline the set is final: too few for Multi-Krum, nothing released
    chain.advanceTo(chain.round('r').deadline)
    expect(await client.aggregate(chain.aggregateRequest('r', envelopesOf(subs), BASE_BYTES))).toMatchObject({ kind: 'insufficient', valid: 1 })
  })

  it('excludes a committed member the ledger has revoked without opening its update', async () => {
    const { subs } = await ledgerRound(chain, client, 'r', { f: 1 })
    const [gone, later] = [MEMBERS[0]!, MEMBERS[1]!]
    expect(codes(chain.exec(revoke(chain, gone)))).toEqual(['OK'])
    const first = aggregated(await client.aggregate(chain.aggregateRequest('r', envelopesOf(subs), BASE_BYTES)))
    expect(first.excluded).toContainEqual({ member: gone, reason: 'REVOKED' })
    expect(first.included).toContain(later)
    // `later` is revoked before the result lands: the ledger takes the result and marks `later`
    // pending, so the host re-aggregates from the release (same noise) instead of a new draw
    expect(codes(chain.exec(revoke(chain, later)))).toEqual(['OK'])
    expect(codes(chain.exec(first.tx))).toEqual(['OK'])
    expect(chain.round('r').reaggregate).toEqual([later])
    const re = await client.reaggregate(chain.reaggregateRequest('r', first.sealed, BASE_BYTES))
    expect(re.included).toEqual(first.included.filter((m) => m !== later))
    expect(codes(chain.exec(re.tx))).toEqual(['OK'])
  })
})

describe('(c) the round settings are the ledger\'s', () => {
  it('refuses a round record with central σ = 0 or another f, and a base model other than the round\'s', async () => {
    const { request } = await ledgerRound(chain, client, 'r', { central: 0.8 })
    const keysOf = aggregateKeys(chain.state, 'r')
    for (const change of [(r: RoundRecord) => ({ ...r, aggregation: { ...r.aggregation, centralNoiseMultiplier: 0 } }), (r: RoundRecord) => ({ ...r, aggregation: { ...r.aggregation, f: 0 } })]) {
      const lie = forged<RoundRecord>(chain.state, StateKey.round('r'), change)
      await expectCode(client.aggregate({ ...request, ledger: provenFrom(chain, chain.state, lie, keysOf) }), 'UNVERIFIED')
    }
    const other = BASE_BYTES.slice()
    other[0]! ^= 1
    await expectCode(client.aggregate({ ...request, baseModel: other }), 'BAD_REQUEST')
    const res = aggregated(await client.aggregate(request))
    expect(decode<{ tx: { body: { aggregation: { centralNoiseMultiplier: number } } } }>(res.tx).tx.body.aggregation.centralNoiseMultiplier).toBe(0.8)
  })
})

describe('round keys and releases do not outlive their use', () => {
  it('destroys the round key at release; a retry re-signs the cached release until the ledger shows the round resulted', async () => {
    const { request } = await ledgerRound(chain, client, 'r')
    const keyed = chain.state
    const a = aggregated(await client.aggregate(request))
    // the release is kept for a retry
    const b = aggregated(await client.aggregate({ ...request, nonce: request.nonce + 1 }))
    expect(b.transcriptHash).toEqual(a.transcriptHash)
    expect(codes(chain.exec(a.tx))).toEqual(['OK'])
    // a request that proves the round resulted drops the release; a replay of the keyed state finds nothing to re-sign
    await expectCode(client.aggregate(chain.aggregateRequest('r', request.envelopes, BASE_BYTES)), 'LEDGER_STATE')
    await expectCode(client.aggregate(chain.aggregateRequest('r', request.envelopes, BASE_BYTES, keyed)), 'NO_ROUND_KEY')
  })

  it('holds no round key after the release (closeRound finds none to destroy)', async () => {
    const { request } = await ledgerRound(chain, client, 'r')
    aggregated(await client.aggregate(request))
    expect(await client.closeRound({ chain: CHAIN, round: 'r' })).toEqual({ destroyed: false })
  })
})

describe('(d) the sealing window is the ledger\'s', () => {
  it('seals for the window after the certified newest checkpoint, whatever the host would like', async () => {
    const a = aggregated(await client.aggregate((await ledgerRound(chain, client, 'r1')).request))
    expect(codes(chain.exec(a.tx))).toEqual(['OK'])
    expect(codes(chain.checkpoint('r1'))).toEqual(['OK'])
    const { request } = await ledgerRound(chain, client, 'r2')
    // hiding the checkpoint: proving checkpoint/latest absent needs a forged state
    const hidden = chain.state.apply([[StateKey.checkpointLatest, undefined]], chain.state.height)
    await expectCode(client.aggregate({ ...request, ledger: provenFrom(chain, chain.state, hidden, aggregateKeys(chain.state, 'r2')) }), 'UNVERIFIED')
    // leaving checkpoint/latest out
    const keysOf = aggregateKeys(chain.state, 'r2').filter((k) => k !== StateKey.checkpointLatest)
    await expectCode(client.aggregate({ ...request, ledger: chain.proofs(keysOf) }), 'UNVERIFIED')
    const b = aggregated(await client.aggregate(request))
    expect(decode<{ window: number }>(b.sealed).window).toBe(2)
  })
})

describe('the chain is the pinned one', () => {
  it('refuses certified facts of a chain with the same id but another genesis (the host\'s own validators)', async () => {
    // the host runs its own network: same chain id, same enclave registered, its own genesis
    const own = new SimChain(keys.info, keys.trustAnchor, [...MEMBERS, 'sybil-1'])
    const ownEnclave = inProcessEnclave(keys, own.trust()).client // an enclave pinned to the host's chain, to build the round
    const { request } = await ledgerRound(own, ownEnclave, 'r')
    expect(own.genesis.chainId).toBe(CHAIN)
    // the real enclave holds a key for 'r' on the real chain, but the facts are the host's chain's
    await ledgerRound(chain, client, 'r')
    const cert = decodeCertificate(request.ledger.certificate)
    expect(cert.header.chain).toBe(CHAIN)
    await expectCode(client.aggregate(request), 'UNVERIFIED')
  })

  it('binds the pinned genesis into its round key: the same enclave pinned to the host\'s chain gets no key onto the ledger', async () => {
    const own = new SimChain(keys.info, keys.trustAnchor, [...MEMBERS, 'sybil-1'])
    const rogue = inProcessEnclave(keys, own.trust()).client // same identity and measurement, pinned to the host's genesis
    expect((await rogue.identity()).ledger.genesisHash).toEqual(own.certifier.genesisHash)
    const open = { round: 'r', baseModel: await baseModelCid(), training: TRAINING, aggregation: { rule: 'multi-krum' as const, f: 2, m: 5 }, eligible: MEMBERS, deadline: chain.state.height + 20, enclave: keys.info.enclaveId }
    expect(codes(chain.exec(chain.tx('coord', 'round.open', open)))).toEqual(['OK'])
    const forged = await rogue.roundKey({ chain: CHAIN, round: 'r', nonce: chain.nonce(keys.info.enclaveId), time: chain.time })
    expect(codes(chain.exec(forged.tx))[0]).toMatch(/^ATTESTATION_REJECTED: evidence was not made for enclave.round-key of 'r' on this chain/)
    const real = await client.roundKey({ chain: CHAIN, round: 'r', nonce: chain.nonce(keys.info.enclaveId), time: chain.time })
    expect(codes(chain.exec(real.tx))).toEqual(['OK'])
  })

  it('does not check an epoch change again once verified (a request cannot make it repeat the work)', async () => {
    chain.advanceTo(25)
    const { request } = await ledgerRound(chain, client, 'r')
    const [c0, c1] = request.ledger.epochs as [[Uint8Array, Uint8Array], [Uint8Array, Uint8Array]]
    const junk: [Uint8Array, Uint8Array] = [c0[0], encode(chain.state.trie.prove(StateKey.params))]
    expect((await client.identity()).ledger.epoch).toBe(0)
    // epoch 0's change teaches epoch 1; its (broken) repeats are skipped, not verified
    expect((await client.aggregate({ ...request, ledger: { ...request.ledger, epochs: [c0, junk, junk, c1, junk] } })).kind).toBe('aggregated')
    expect((await client.identity()).ledger.epoch).toBe(2)
  })

  it('refuses another chain id, and epoch changes it cannot verify', async () => {
    chain.advanceTo(25) // the harness chain changes epoch every 10 heights: the facts are in epoch 2
    const { request } = await ledgerRound(chain, client, 'r')
    await expectCode(client.aggregate({ ...request, chain: 'other-chain' }), 'BAD_REQUEST')
    expect(request.ledger.epochs).toHaveLength(2)
    const tampered = request.ledger.epochs.map(([c, p], i): [Uint8Array, Uint8Array] => (i === 0 ? [c, encode(chain.state.trie.prove(StateKey.params))] : [c, p]))
    await expectCode(client.aggregate({ ...request, ledger: { ...request.ledger, epochs: tampered } }), 'UNVERIFIED')
    await expectCode(client.aggregate({ ...request, ledger: { ...request.ledger, epochs: [] } }), 'UNVERIFIED')
    expect((await client.aggregate(request)).kind).toBe('aggregated')
  })

  it('refuses a round of another enclave', async () => {
    const { request } = await ledgerRound(chain, client, 'r')
    const lie = forged<RoundRecord>(chain.state, StateKey.round('r'), (r) => ({ ...r, enclave: 'enclave-2' }))
    // certified (all validators sign the forged state here, as if the ledger had assigned it elsewhere)
    await expectCode(client.aggregate({ ...request, ledger: chain.proofs(aggregateKeys(chain.state, 'r'), lie) }), 'LEDGER_STATE')
  })
})
