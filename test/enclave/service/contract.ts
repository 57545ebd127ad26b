// The enclave contract (docs/ARCHITECTURE.md §5, "a request/response boundary"): one suite run against every EnclaveClient
// twin — the in-process one and the child process over stdio — so both behave alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SimAttestationVerifier, roundTranscriptHash, compareIds } from '../../../enclave/index.ts'
import { decodeResponse, type EnclaveClient } from '../../../enclave/service/index.ts'
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
  type RoundRecord,
} from '../../../ledger/index.ts'
import { decode, encode } from '../../../primitives/index.ts'
import {
  aggregated, BASE, BASE_BYTES, CHAIN, DIM, envelopesOf, expectCode, LIAR, meanWith, MEMBERS, memberKeys, MISSING, noiseOf,
  offlineRound, POISONED, quantizedSum, submissions, TAMPERED, TRAINING,
} from './rounds.ts'
import { codes, SimChain } from './sim-chain.ts'

export interface EnclaveUnderTest {
  client: EnclaveClient
  /** the sim-v1 root key that certified the enclave's platform */
  trustAnchor: Uint8Array
  stop(): Promise<void>
}

const modelCidOf = (bytes: Uint8Array) => addModel(new CasBlockstore({ kv: new MemoryKeyValueStore() }), leBytesToFloat32(bytes))
const reasons = (r: { excluded: Array<{ member: string; reason: string }> }) => Object.fromEntries(r.excluded.map((e) => [e.member, e.reason]))

export function enclaveContract(name: string, make: () => Promise<EnclaveUnderTest>): void {
  describe(`enclave contract: ${name}`, () => {
    let e: EnclaveUnderTest
    let client: EnclaveClient
    beforeAll(async () => {
      e = await make()
      client = e.client
    }, 30_000)
    afterAll(async () => {
      await e?.stop()
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
      const v = new SimAttestationVerifier().verify(body.attestation.format, body.attestation.evidence, { at: time + 10, maxAgeSeconds: 3600, trustAnchors: [e.trustAnchor] })
      expect(v.boundKeys).toEqual([roundPublicKey, id.publicKey])
      expect(v.nonce).toEqual(evidenceNonce(CHAIN, 'enclave.round-key', 'k1'))
      expect(v).toMatchObject({ platform: id.platform, measurement: id.measurement, debug: false })
      // asked again while the key lives (the host's transaction was lost): the same key, at the new nonce
      const again = await client.roundKey({ chain: CHAIN, round: 'k1', nonce: 8, time })
      expect(again.roundPublicKey).toEqual(roundPublicKey)
      expect(decodeTx(again.tx).signed.tx.nonce).toBe(8)
      const other = await client.roundKey({ chain: 'other-chain', round: 'k1', nonce: 0, time })
      expect(other.roundPublicKey).not.toEqual(roundPublicKey)
    })

    it('aggregates a round the ledger accepts, and re-aggregates it without revoked members with the same noise', async () => {
      const id = await client.identity()
      const chain = new SimChain(id, e.trustAnchor, MEMBERS)
      const baseCid = await modelCidOf(BASE_BYTES)
      const aggregation = { rule: 'multi-krum' as const, f: 2, m: 5, centralNoiseMultiplier: 0.5 }
      const open = { round: 'L1', baseModel: baseCid, training: TRAINING, aggregation, eligible: MEMBERS, deadline: chain.state.height + 10, enclave: id.enclaveId }
      expect(codes(chain.exec(chain.tx('coord', 'round.open', open)))).toEqual(['OK'])
      const key = await client.roundKey({ chain: CHAIN, round: 'L1', nonce: chain.nonce(id.enclaveId), time: chain.time })
      expect(codes(chain.exec(key.tx))).toEqual(['OK']) // the ledger verified the sim-v1 evidence and its binding
      const subs = submissions(key.roundPublicKey, 'L1')
      expect(codes(chain.exec(...subs.map((s) => chain.tx(s.member, 'round.commit', { round: 'L1', ciphertext: s.ciphertext, statement: s.statement, statementSig: s.statementSig }))))).toEqual(MEMBERS.map(() => 'OK'))
      const round = chain.get<RoundRecord>(StateKey.round('L1'))!
      chain.advanceTo(round.deadline + 1)
      const commits = MEMBERS.map((m) => chain.get<CommitRecord>(StateKey.commit('L1', m))!).sort((a, b) => a.seq - b.seq)

      const res = aggregated(await client.aggregate({ chain: CHAIN, round, dimension: DIM, commits, envelopes: envelopesOf(subs), memberKeys: memberKeys(), baseModel: BASE_BYTES, window: 1, nonce: chain.nonce(id.enclaveId) }))
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
      expect(chain.get<RoundRecord>(StateKey.round('L1'))!.result!.model.equals(res.modelCid)).toBe(true)
      const spent = () => MEMBERS.map((m) => chain.get<BudgetRecord>(StateKey.budget(m))!.epsilonSpent)
      const charged = spent()
      // charged: every member whose update the enclave opened, selected or not (ledger UNOPENED_EXCLUSIONS)
      const opened = MEMBERS.filter((m) => res.included.includes(m) || res.excluded.some((e) => e.member === m && !UNOPENED_EXCLUSIONS.has(e.reason)))
      expect(opened.length).toBeGreaterThan(res.included.length)
      expect(MEMBERS.filter((_, i) => charged[i]! > 0)).toEqual(opened)

      // revoke one included member: re-aggregate without it, same noise, no budget charged
      const victim = res.included[1]!
      expect(codes(chain.exec(chain.tx('gov-1', 'member.revoke', { member: victim, reason: 'fraud', evidence: { kind: 'governance' } })))).toEqual(['OK'])
      const re = await client.reaggregate({ chain: CHAIN, round: 'L1', dimension: DIM, sealed: res.sealed, without: [victim], baseModel: BASE_BYTES, nonce: chain.nonce(id.enclaveId) })
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
      expect(codes(chain.execEach(...rest.map((m) => () => chain.tx('gov-1', 'member.revoke', { member: m, reason: 'fraud', evidence: { kind: 'governance' } }))))).toEqual(rest.map(() => 'OK'))
      const none = await client.reaggregate({ chain: CHAIN, round: 'L1', dimension: DIM, sealed: re.sealed, without: rest, baseModel: BASE_BYTES, nonce: chain.nonce(id.enclaveId) })
      expect(none.included).toEqual([])
      expect(none.model).toEqual(BASE_BYTES)
      expect(none.modelCid.equals(baseCid)).toBe(true)
      expect(none.excluded.filter((x) => x.reason === 'REVOKED').map((x) => x.member)).toEqual([...res.included].sort())
      expect(codes(chain.exec(none.tx))).toEqual(['OK'])
      expect(spent()).toEqual(charged)
    })

    it('releases a round once: asking again returns the same release, re-signed with the new nonce', async () => {
      const { request } = await offlineRound(client, 'once')
      const a = aggregated(await client.aggregate(request))
      const b = aggregated(await client.aggregate({ ...request, nonce: 1 }))
      expect(b.update).toEqual(a.update)
      expect(b.model).toEqual(a.model)
      expect(b.sealed).toEqual(a.sealed)
      expect(b.transcriptHash).toEqual(a.transcriptHash)
      expect(decodeTx(b.tx).signed.tx.nonce).toBe(1)
      await expectCode(client.aggregate({ ...request, commits: request.commits.slice(0, 9) }), 'BAD_REQUEST')
    })

    it('with a central noise multiplier of 0 publishes the exact quantized mean', async () => {
      const { request, subs } = await offlineRound(client, 'no-noise', { central: 0 })
      const a = aggregated(await client.aggregate(request))
      const byMember = new Map(subs.map((s) => [s.member, s.update]))
      const exact = meanWith(quantizedSum(a.included.map((m) => byMember.get(m)!)), Array(DIM).fill(0n), a.included.length)
      expect(Array.from(decodeUpdate(a.update, DIM))).toEqual(Array.from(exact))
    })

    it('reports an insufficient round and aggregates it once enough envelopes arrive', async () => {
      const { request } = await offlineRound(client, 'few')
      const few = await client.aggregate({ ...request, envelopes: request.envelopes.slice(1) })
      expect(few).toMatchObject({ kind: 'insufficient', valid: 6, needed: 7 })
      expect(reasons(few)).toEqual({ [MEMBERS[0]!]: 'NO_UPDATE', [LIAR]: 'NORM_ABOVE_BOUND', [MISSING]: 'NO_UPDATE', [TAMPERED]: 'NOT_COMMITTED' })
      expect((await client.aggregate(request)).kind).toBe('aggregated')
    })

    it('destroys the round key on closeRound: no aggregate and no new key for that round afterwards', async () => {
      const { request } = await offlineRound(client, 'closing')
      expect(await client.closeRound({ chain: CHAIN, round: 'closing' })).toEqual({ destroyed: true })
      expect(await client.closeRound({ chain: CHAIN, round: 'closing' })).toEqual({ destroyed: false })
      await expectCode(client.aggregate(request), 'NO_ROUND_KEY')
      await expectCode(client.aggregate({ ...request, round: { ...request.round, id: 'never-keyed' }, commits: request.commits.map((c) => ({ ...c, round: 'never-keyed' })) }), 'NO_ROUND_KEY')
      await expectCode(client.roundKey({ chain: CHAIN, round: 'closing', nonce: 0, time: 1_700_000_000 }), 'ROUND_KEY_EXISTS')
    })

    it('erases the sealing keys of anchored windows: their records never open again, later windows do', async () => {
      const chain = 'window-chain'
      const w1 = aggregated(await client.aggregate((await offlineRound(client, 'w1', { chain, window: 1 })).request))
      const second = await offlineRound(client, 'w2', { chain, window: 2 })
      const w2 = aggregated(await client.aggregate(second.request))
      expect(await client.checkpointAnchored({ chain, seq: 1 })).toEqual({ erasedThrough: 1 })
      await expectCode(client.reaggregate({ chain, round: 'w1', dimension: DIM, sealed: w1.sealed, without: [w1.included[0]!], baseModel: BASE_BYTES, nonce: 1 }), 'WINDOW_ERASED')
      const re = await client.reaggregate({ chain, round: 'w2', dimension: DIM, sealed: w2.sealed, without: [w2.included[0]!], baseModel: BASE_BYTES, nonce: 1 })
      expect(re.included).toEqual(w2.included.slice(1))
      const late = await offlineRound(client, 'w1-late', { chain, window: 1 })
      await expectCode(client.aggregate(late.request), 'WINDOW_ERASED')
      // anchoring another chain's checkpoint erases nothing here
      await client.checkpointAnchored({ chain: 'unrelated', seq: 5 })
      expect((await client.reaggregate({ chain, round: 'w2', dimension: DIM, sealed: w2.sealed, without: [], baseModel: BASE_BYTES, nonce: 2 })).transcriptHash).toEqual(w2.transcriptHash)
    })

    it('refuses tampered sealed records and records of another round', async () => {
      const a = aggregated(await client.aggregate((await offlineRound(client, 'sealed')).request))
      const raw = decode<{ ct: Uint8Array; window: number }>(a.sealed)
      const flipped = raw.ct.slice()
      flipped[5]! ^= 1
      const reagg = (sealed: Uint8Array, round = 'sealed') => client.reaggregate({ chain: CHAIN, round, dimension: DIM, sealed, without: [a.included[0]!], baseModel: BASE_BYTES, nonce: 1 })
      await expectCode(reagg(encode({ ...raw, ct: flipped })), 'SEALED_UNREADABLE')
      await expectCode(reagg(encode({ ...raw, window: 2 })), 'SEALED_UNREADABLE')
      await expectCode(reagg(a.sealed.subarray(0, a.sealed.length - 3)), 'SEALED_UNREADABLE')
      await expectCode(reagg(a.sealed, 'another'), 'BAD_REQUEST')
      expect((await reagg(a.sealed)).included).toEqual(a.included.slice(1))
    })

    it('answers malformed requests with error responses and keeps serving', async () => {
      const garbage = decodeResponse(await client.exchange(new Uint8Array([0xff, 0x00, 0x13])), 'identity')
      expect(garbage).toMatchObject({ ok: false, id: 0, error: { code: 'BAD_REQUEST' } })
      const unknown = decodeResponse(await client.exchange(encode({ v: 1, id: 41, op: 'dumpKeys', body: {} })), 'identity')
      expect(unknown).toMatchObject({ ok: false, id: 41, error: { code: 'UNKNOWN_OP' } })
      const wrong = decodeResponse(await client.exchange(encode({ v: 1, id: 42, op: 'roundKey', body: { chain: CHAIN, round: 'x', nonce: -1, time: 0 } })), 'roundKey')
      expect(wrong).toMatchObject({ ok: false, id: 42, error: { code: 'BAD_REQUEST' } })
      await expectCode(client.roundKey({ chain: 'not a chain id', round: 'x', nonce: 0, time: 0 }), 'BAD_REQUEST')
      expect((await client.identity()).publicKey).toHaveLength(32)
    })
  })
}
