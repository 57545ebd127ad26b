// The enclave contract (docs/ARCHITECTURE.md §5, "a request/response boundary"): one suite run against every EnclaveClient
// twin — the in-process one and the child process over stdio — so both behave alike. The
// enclave is pinned to one SimChain's genesis; every ledger fact reaches it as proofs
// under that chain's certified roots.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SimAttestationVerifier, roundTranscriptHash, compareIds } from '../../../enclave/index.ts'
import { decodeResponse, type EnclaveClient, type EnclaveIdentityInfo, type LedgerTrust } from '../../../enclave/service/index.ts'
import { decodeUpdate } from '../../../enclave/updates/index.ts'
import {
  addModel,
  CasBlockstore,
  decodeTx,
  evidenceNonce,
  leBytesToFloat32,
  MemoryKeyValueStore,
  StateKey,
  UNOPENED_EXCLUSIONS,
  verifyDecodedTx,
  type BudgetRecord,
  type CommitRecord,
} from '../../../ledger/index.ts'
import { decode, encode } from '../../../primitives/index.ts'
import {
  aggregated, BASE, BASE_BYTES, baseModelCid, CHAIN, DIM, envelopesOf, expectCode, ledgerRound, LIAR, meanWith, MEMBERS, MISSING, noiseOf,
  POISONED, quantizedSum, TAMPERED, TRAINING,
} from './rounds.ts'
import { codes, SimChain } from './sim-chain.ts'

export interface EnclaveFixture {
  /** who the enclave is (its registered key, platform, measurement), known before it starts */
  info: EnclaveIdentityInfo
  /** the sim-v1 root key that certified the enclave's platform */
  trustAnchor: Uint8Array
  /** starts the enclave pinned to `ledger` */
  start(ledger: LedgerTrust): Promise<{ client: EnclaveClient; stop(): Promise<void> }>
}

const modelCidOf = (bytes: Uint8Array) => addModel(new CasBlockstore({ kv: new MemoryKeyValueStore() }), leBytesToFloat32(bytes))
const reasons = (r: { excluded: Array<{ member: string; reason: string }> }) => Object.fromEntries(r.excluded.map((e) => [e.member, e.reason]))
const revoke = (chain: SimChain, member: string) => chain.tx('gov-1', 'member.revoke', { member, reason: 'fraud', evidence: { kind: 'governance' } })

export function enclaveContract(name: string, make: () => Promise<EnclaveFixture>): void {
  describe(`enclave contract: ${name}`, () => {
    let fixture: EnclaveFixture
    let running: Array<{ stop(): Promise<void> }> = []
    let client: EnclaveClient
    let chain: SimChain
    beforeAll(async () => {
      fixture = await make()
    }, 30_000)
    // each test gets a chain of its own (revocations do not carry over) and an enclave pinned to it
    beforeEach(async () => {
      chain = new SimChain(fixture.info, fixture.trustAnchor, MEMBERS)
      const started = await fixture.start(chain.trust())
      running.push(started)
      client = started.client
    }, 30_000)
    afterEach(async () => {
      const stopping = running
      running = []
      for (const r of stopping) await r.stop()
    }, 30_000)

    it('issues an attested round key as a signed enclave.round-key transaction, once per round', async () => {
      const id = await client.identity()
      expect(id.publicKey).toHaveLength(32)
      const time = 1_700_000_100
      const { roundPublicKey, tx } = await client.roundKey({ chain: CHAIN, round: 'k1', nonce: 7, time })
      const d = decodeTx(tx)
      expect(d.signed.tx).toMatchObject({ chain: CHAIN, type: 'enclave.round-key', sender: id.enclaveId, nonce: 7 })
      expect(verifyDecodedTx(d, id.publicKey, d.signed.sig)).toBe(true)
      const body = d.signed.tx.body as { round: string; publicKey: Uint8Array; attestation: { format: string; evidence: Uint8Array } }
      expect(body.round).toBe('k1')
      expect(body.publicKey).toEqual(roundPublicKey)
      const v = new SimAttestationVerifier().verify(body.attestation.format, body.attestation.evidence, { at: time + 10, maxAgeSeconds: 3600, trustAnchors: [fixture.trustAnchor] })
      expect(v.boundKeys).toEqual([roundPublicKey, id.publicKey])
      expect(v.nonce).toEqual(evidenceNonce(CHAIN, 'enclave.round-key', 'k1', chain.certifier.genesisHash)) // binds the pinned genesis
      expect(v).toMatchObject({ platform: id.platform, measurement: id.measurement, debug: false })
      // asked again while the key lives (the host's transaction was lost): the same key, at the new nonce
      const again = await client.roundKey({ chain: CHAIN, round: 'k1', nonce: 8, time })
      expect(again.roundPublicKey).toEqual(roundPublicKey)
      expect(decodeTx(again.tx).signed.tx.nonce).toBe(8)
      // the enclave serves the chain whose genesis it pins, and no other
      await expectCode(client.roundKey({ chain: 'other-chain', round: 'k1', nonce: 0, time }), 'BAD_REQUEST')
    })

    it('aggregates a round the ledger accepts, and re-aggregates it without revoked members with the same noise', async () => {
      const id = await client.identity()
      const baseCid = await baseModelCid()
      const { subs, request } = await ledgerRound(chain, client, 'L1', { central: 0.5 })
      const round = chain.round('L1')
      const commits = MEMBERS.map((m) => chain.get<CommitRecord>(StateKey.commit('L1', m))!).sort((a, b) => a.seq - b.seq)

      const res = aggregated(await client.aggregate(request))
      expect(reasons(res)).toMatchObject({ [LIAR]: 'NORM_ABOVE_BOUND', [POISONED]: 'MULTI_KRUM', [MISSING]: 'NO_UPDATE', [TAMPERED]: 'NOT_COMMITTED' })
      expect(res.included).toHaveLength(5) // 7 valid, m' = min(5, 7 − f): one more honest update left out by Multi-Krum
      expect([...res.included, ...res.excluded.map((x) => x.member)].sort()).toEqual(MEMBERS)
      const update = decodeUpdate(res.update, DIM)
      expect(Array.from(leBytesToFloat32(res.model))).toEqual(Array.from(BASE, (b, k) => Math.fround(b + update[k]!)))
      expect((await modelCidOf(res.model)).equals(res.modelCid)).toBe(true)
      const dp = { clipNorm: TRAINING.clipNorm, noiseMultiplier: TRAINING.noiseMultiplier, samplingRate: TRAINING.samplingRate, steps: round.steps }
      const transcript = { chain: CHAIN, round: 'L1', commits, included: res.included, excluded: res.excluded, aggregation: { f: 2, m: 5, centralNoiseMultiplier: 0.5 }, dp, dimension: DIM, scale: 2 ** 16, update }
      expect(res.transcriptHash).toEqual(roundTranscriptHash(transcript))
      // the published update is the exact quantized sum of the included updates plus integer noise, over 5
      const byMember = new Map(subs.map((s) => [s.member, s.update]))
      const noise = noiseOf(res.update, quantizedSum(res.included.map((m) => byMember.get(m)!)), 5)
      expect(noise.some((x) => x !== 0n)).toBe(true)
      for (const x of noise) expect(Math.abs(Number(x))).toBeLessThan(6 * 0.5 * 1.001 * 2 ** 16)

      const d = decodeTx(res.tx)
      expect(d.signed.tx).toMatchObject({ type: 'round.result', sender: id.enclaveId })
      expect(verifyDecodedTx(d, id.publicKey, d.signed.sig)).toBe(true)
      expect(codes(chain.exec(res.tx))).toEqual(['OK'])
      expect(chain.round('L1').result!.model.equals(res.modelCid)).toBe(true)
      const spent = () => MEMBERS.map((m) => chain.get<BudgetRecord>(StateKey.budget(m))!.epsilonSpent)
      const charged = spent()
      // charged: every member whose update the enclave opened, selected or not (ledger UNOPENED_EXCLUSIONS)
      const opened = MEMBERS.filter((m) => res.included.includes(m) || res.excluded.some((e) => e.member === m && !UNOPENED_EXCLUSIONS.has(e.reason)))
      expect(opened.length).toBeGreaterThan(res.included.length)
      expect(charged.filter((x) => x > 0).length).toBeGreaterThanOrEqual(opened.length)

      // revoke one included member: re-aggregate without it, same noise, no budget charged
      const victim = res.included[1]!
      expect(codes(chain.exec(revoke(chain, victim)))).toEqual(['OK'])
      const re = await client.reaggregate(chain.reaggregateRequest('L1', res.sealed, BASE_BYTES))
      const rest = res.included.filter((m) => m !== victim)
      expect(re.included).toEqual(rest)
      expect(re.excluded).toEqual([...res.excluded, { member: victim, reason: 'REVOKED' }].sort((a, b) => compareIds(a.member, b.member)))
      const expected = meanWith(quantizedSum(rest.map((m) => byMember.get(m)!)), noise, 4)
      expect(Array.from(decodeUpdate(re.update, DIM))).toEqual(Array.from(expected))
      expect(Array.from(leBytesToFloat32(re.model))).toEqual(Array.from(BASE, (b, k) => Math.fround(b + expected[k]!)))
      expect((await modelCidOf(re.model)).equals(re.modelCid)).toBe(true)
      expect(codes(chain.exec(re.tx))).toEqual(['OK'])
      expect(spent()).toEqual(charged)

      // revoke everyone left: from the new sealed record, nobody remains and the base model stays
      expect(codes(chain.execEach(...rest.map((m) => () => revoke(chain, m))))).toEqual(rest.map(() => 'OK'))
      const none = await client.reaggregate(chain.reaggregateRequest('L1', re.sealed, BASE_BYTES))
      expect(none.included).toEqual([])
      expect(none.model).toEqual(BASE_BYTES)
      expect(none.modelCid.equals(baseCid)).toBe(true)
      expect(none.excluded.filter((x) => x.reason === 'REVOKED').map((x) => x.member)).toEqual([...res.included].sort())
      expect(codes(chain.exec(none.tx))).toEqual(['OK'])
      expect(spent()).toEqual(charged)
    })

    it('releases a round once: asking again returns the same release, re-signed with the new nonce', async () => {
      const { request } = await ledgerRound(chain, client, 'once')
      // the first answer went out with a nonce the ledger refuses (the host's view was stale)
      const a = aggregated(await client.aggregate({ ...request, nonce: request.nonce + 5 }))
      expect(codes(chain.exec(a.tx))[0]).toMatch(/^BAD_NONCE/)
      const b = aggregated(await client.aggregate(request))
      expect(b.update).toEqual(a.update)
      expect(b.model).toEqual(a.model)
      expect(b.sealed).toEqual(a.sealed)
      expect(b.transcriptHash).toEqual(a.transcriptHash)
      expect(decodeTx(b.tx).signed.tx.nonce).toBe(request.nonce)
      expect(codes(chain.exec(b.tx))).toEqual(['OK'])
    })

    it('with a central noise multiplier of 0 publishes the exact quantized mean', async () => {
      const { request, subs } = await ledgerRound(chain, client, 'no-noise', { central: 0 })
      const a = aggregated(await client.aggregate(request))
      const byMember = new Map(subs.map((s) => [s.member, s.update]))
      const exact = meanWith(quantizedSum(a.included.map((m) => byMember.get(m)!)), Array(DIM).fill(0n), a.included.length)
      expect(Array.from(decodeUpdate(a.update, DIM))).toEqual(Array.from(exact))
    })

    it('reports an insufficient round and aggregates it once enough envelopes arrive', async () => {
      const { request } = await ledgerRound(chain, client, 'few')
      const few = await client.aggregate({ ...request, envelopes: request.envelopes.slice(1) })
      expect(few).toMatchObject({ kind: 'insufficient', valid: 6, needed: 7 })
      expect(reasons(few)).toEqual({ [MEMBERS[0]!]: 'NO_UPDATE', [LIAR]: 'NORM_ABOVE_BOUND', [MISSING]: 'NO_UPDATE', [TAMPERED]: 'NOT_COMMITTED' })
      expect((await client.aggregate(request)).kind).toBe('aggregated')
    })

    it('destroys the round key on closeRound: no aggregate and no new key for that round afterwards', async () => {
      const { request } = await ledgerRound(chain, client, 'closing')
      expect(await client.closeRound({ chain: CHAIN, round: 'closing' })).toEqual({ destroyed: true })
      expect(await client.closeRound({ chain: CHAIN, round: 'closing' })).toEqual({ destroyed: false })
      await expectCode(client.aggregate(request), 'NO_ROUND_KEY')
      await expectCode(client.roundKey({ chain: CHAIN, round: 'closing', nonce: 0, time: 1_700_000_000 }), 'ROUND_KEY_EXISTS')
    })

    it('seals each release for its checkpoint window and erases the window once any request shows its checkpoint anchored', async () => {
      const w1 = aggregated(await client.aggregate((await ledgerRound(chain, client, 'w1')).request))
      expect(decode<{ window: number }>(w1.sealed).window).toBe(1) // no checkpoint yet: window 1
      expect(codes(chain.exec(w1.tx))).toEqual(['OK'])
      expect(codes(chain.exec(revoke(chain, w1.included[0]!)))).toEqual(['OK'])
      const pending = chain.state // w1 has a re-aggregation pending here
      const re = await client.reaggregate(chain.reaggregateRequest('w1', w1.sealed, BASE_BYTES))
      expect(codes(chain.exec(re.tx))).toEqual(['OK'])
      expect(codes(chain.checkpoint('w1'))).toEqual(['OK'])
      // the next round's request proves checkpoint 1: its release is sealed for window 2, and window 1 is erased
      // without the host ever calling checkpointAnchored
      const w2 = aggregated(await client.aggregate((await ledgerRound(chain, client, 'w2', { f: 1 })).request)) // one honest member fewer: f = 1
      expect(decode<{ window: number }>(w2.sealed).window).toBe(2)
      expect(codes(chain.exec(w2.tx))).toEqual(['OK'])
      // a host replaying the certified state from before the checkpoint cannot open window 1 again
      await expectCode(client.reaggregate(chain.reaggregateRequest('w1', w1.sealed, BASE_BYTES, pending)), 'WINDOW_ERASED')
      expect(await client.checkpointAnchored({ chain: CHAIN, ledger: chain.proofs([StateKey.checkpointLatest]) })).toEqual({ erasedThrough: 1 })
      // window 2 is live until its checkpoint
      expect(codes(chain.exec(revoke(chain, w2.included[0]!)))).toEqual(['OK'])
      const re2 = await client.reaggregate(chain.reaggregateRequest('w2', w2.sealed, BASE_BYTES))
      expect(re2.included).toEqual(w2.included.slice(1))
    })

    it('refuses tampered sealed records and records of another round', async () => {
      const { request } = await ledgerRound(chain, client, 'sealed')
      const a = aggregated(await client.aggregate(request))
      expect(codes(chain.exec(a.tx))).toEqual(['OK'])
      expect(codes(chain.exec(revoke(chain, a.included[0]!)))).toEqual(['OK'])
      const raw = decode<{ ct: Uint8Array; window: number }>(a.sealed)
      const flipped = raw.ct.slice()
      flipped[5]! ^= 1
      const reagg = (sealed: Uint8Array) => client.reaggregate(chain.reaggregateRequest('sealed', sealed, BASE_BYTES))
      await expectCode(reagg(encode({ ...raw, ct: flipped })), 'SEALED_UNREADABLE')
      await expectCode(reagg(encode({ ...raw, window: raw.window + 1 })), 'SEALED_UNREADABLE')
      await expectCode(reagg(a.sealed.subarray(0, a.sealed.length - 3)), 'SEALED_UNREADABLE')
      expect((await reagg(a.sealed)).included).toEqual(a.included.slice(1))
    })

    it('answers malformed requests with error responses and keeps serving', async () => {
      const garbage = decodeResponse(await client.exchange(new Uint8Array([0xff, 0x00, 0x13])), 'identity')
      expect(garbage).toMatchObject({ ok: false, id: 0, error: { code: 'BAD_REQUEST' } })
      const unknown = decodeResponse(await client.exchange(encode({ v: 2, id: 41, op: 'dumpKeys', body: {} })), 'identity')
      expect(unknown).toMatchObject({ ok: false, id: 41, error: { code: 'UNKNOWN_OP' } })
      const wrong = decodeResponse(await client.exchange(encode({ v: 2, id: 42, op: 'roundKey', body: { chain: CHAIN, round: 'x', nonce: -1, time: 0 } })), 'roundKey')
      expect(wrong).toMatchObject({ ok: false, id: 42, error: { code: 'BAD_REQUEST' } })
      await expectCode(client.roundKey({ chain: 'not a chain id', round: 'x', nonce: 0, time: 0 }), 'BAD_REQUEST')
      expect((await client.identity()).publicKey).toHaveLength(32)
    })
  })
}
