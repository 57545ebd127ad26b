/**
 * EnclaveHost's update/1 (and round-key/1) refusals, over real libp2p hosts on
 * 127.0.0.1, with an in-process sim-v1 enclave and a fake validator API: an
 * envelope for a member sent from another peer identity, a member not eligible
 * or unknown to the ledger, a round without a round key (or unknown), more than
 * maxEnvelopesPerMember distinct envelopes, malformed requests. After each
 * refusal the host still takes a good envelope.
 */
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { recordingLogger } from '../../helpers/logger.ts'
import { ciphertextCid } from '../../../enclave/index.ts'
import { addModel, CasBlockstore, MemoryKeyValueStore } from '../../../ledger/index.ts'
import { decode, encode, type CID } from '../../../primitives/index.ts'
import { ApiClient, toJson, VerifiedReader } from '../../../node/api/index.ts'
import { LightClient } from '../../../light/index.ts'
import { EnclaveHost, roundKeyProtocol, updateProtocol } from '../../../node/federation/index.ts'
import type { P2PHost } from '../../../node/p2p/index.ts'
import { FAKE_GENESIS, FAKE_GENESIS_HASH, FakeLedger, memberRecord, roundRecord } from './fake-ledger.ts'
import { CHAIN, connectedTo, keysOf, remoteRefusal, Running, seedOf, waitFor } from './helpers.ts'
import { ENCLAVE_ID, inProcessEnclave, register, simEnclave } from './sim-enclave.ts'

const running = new Running()
afterEach(() => running.stopAll())

const MAX_ENVELOPES = 2

interface Setup {
  ledger: FakeLedger
  enclaveHost: EnclaveHost
  host: P2PHost
  peers: Record<'bankA' | 'bankB' | 'bankC' | 'impostor', P2PHost>
  log: ReturnType<typeof recordingLogger>
}

/**
 * The ledger holds r0 (keyed by an earlier host: no key here), r1 (open; eligible
 * bank-a, bank-b and bank-x, which is not a registered member) and the members
 * bank-a, bank-b, bank-c. The host's first pass publishes r1's round key.
 */
async function setup(opts: { refuseRoundKeys?: number; brokenRound?: string } = {}): Promise<Setup> {
  const sim = simEnclave()
  const ledger = new FakeLedger(CHAIN)
  const url = await ledger.start()
  running.track(() => ledger.stop())
  register(ledger, sim)
  ledger.height = 10
  const base: CID = await addModel(new CasBlockstore({ kv: new MemoryKeyValueStore() }), Float32Array.of(0, 0))
  ledger.rounds.set('r0', { record: roundRecord({ id: 'r0', baseModel: base, enclave: ENCLAVE_ID, eligibleCount: 1, status: 'keyed', roundKey: new Uint8Array(32).fill(9) }), eligible: ['bank-a'], commits: [] })
  ledger.rounds.set('r1', { record: roundRecord({ id: 'r1', baseModel: base, enclave: ENCLAVE_ID, eligibleCount: 3 }), eligible: ['bank-a', 'bank-b', 'bank-x'], commits: [] })
  for (const m of ['bank-a', 'bank-b', 'bank-c']) ledger.members.set(m, memberRecord(m, keysOf(m).publicKey))
  if (opts.brokenRound !== undefined) {
    const broken = `/v1/rounds/${opts.brokenRound}`
    ledger.override = (method, path) => (method === 'GET' && path === broken ? { status: 500, body: { error: { code: 'INTERNAL', message: 'broken' } } } : undefined)
  }
  let refusals = opts.refuseRoundKeys ?? 0
  ledger.decide = (tx) => {
    const { type, body } = tx.signed.tx
    if (type === 'enclave.round-key' && refusals > 0) {
      refusals--
      return { code: 'ATTESTATION_REJECTED', message: 'evidence too old' }
    }
    if (type === 'enclave.round-key') {
      const r = ledger.rounds.get((body as { round: string }).round)!
      r.record = { ...r.record, status: 'keyed', roundKey: (body as { publicKey: Uint8Array }).publicKey }
    }
    return { code: 'OK', message: '' }
  }

  const host = await running.host(seedOf('enclave-host'))
  const peer = (name: string) => running.host(seedOf(name), host.addresses())
  const peers = { bankA: await peer('bank-a'), bankB: await peer('bank-b'), bankC: await peer('bank-c'), impostor: await peer('impostor') }
  const log = recordingLogger()
  const enclaveHost = new EnclaveHost(
    { ledger: new ApiClient({ apis: [url] }), verified: new VerifiedReader({ light: LightClient.fromGenesis(FAKE_GENESIS, FAKE_GENESIS_HASH), logger: log }, { apis: [url] }), enclave: inProcessEnclave(sim), host, store: new CasBlockstore({ kv: new MemoryKeyValueStore() }), logger: log },
    { chainId: CHAIN, enclaveId: ENCLAVE_ID, pollMs: 60_000, maxEnvelopesPerMember: MAX_ENVELOPES },
  )
  await enclaveHost.start() // its loop's first pass runs now; the next one after pollMs
  running.track(() => enclaveHost.stop())
  for (const p of Object.values(peers)) await connectedTo(p, [host])
  if (opts.refuseRoundKeys === undefined) await waitFor('r1 to be keyed on the ledger', () => ledger.rounds.get('r1')!.record.status === 'keyed')
  else await waitFor('the first pass to end with the refusal', () => log.lines.some((l) => JSON.stringify(l).includes('refused')))
  await waitFor('the host to know r0 and r1 (or r1 alone, r0 broken)', () => enclaveHost.summary().length === (opts.brokenRound === undefined ? 2 : 1))
  return { ledger, enclaveHost, host, peers, log }
}

const update = (round: string, member: string, envelope: Uint8Array): Uint8Array => encode({ round, member, envelope })
const envelopeOf = (n = 256): Uint8Array => Uint8Array.from(randomBytes(n))

async function accepted(from: P2PHost, to: P2PHost, round: string, member: string, envelope: Uint8Array): Promise<void> {
  const answer = decode(await from.request(to.peerId, updateProtocol(CHAIN), update(round, member, envelope))) as { accepted: boolean; ciphertext: CID }
  expect(answer.accepted).toBe(true)
  expect(answer.ciphertext.equals(ciphertextCid(envelope))).toBe(true)
}

const refused = (from: P2PHost, to: P2PHost, body: Uint8Array): Promise<string> => remoteRefusal(from.request(to.peerId, updateProtocol(CHAIN), body))
const envelopesIn = (h: EnclaveHost, round: string): number => h.summary().find((r) => r.round === round)!.envelopes

describe('EnclaveHost update/1', () => {
  it('takes an envelope for a member only from that member\'s own peer identity', async () => {
    const { enclaveHost, host, peers } = await setup()
    const env = envelopeOf()
    expect(await refused(peers.impostor, host, update('r1', 'bank-a', env))).toContain("an update for 'bank-a' must come from that member's own peer identity")
    expect(await refused(peers.bankB, host, update('r1', 'bank-a', env))).toContain('own peer identity')
    expect(envelopesIn(enclaveHost, 'r1')).toBe(0)
    await accepted(peers.bankA, host, 'r1', 'bank-a', env)
    expect(envelopesIn(enclaveHost, 'r1')).toBe(1)
  })

  it('refuses a member that is not eligible for the round, or that the ledger does not know', async () => {
    const { enclaveHost, host, peers } = await setup()
    // bank-c is a registered member sending from its own identity, but not eligible for r1
    expect(await refused(peers.bankC, host, update('r1', 'bank-c', envelopeOf()))).toContain("member 'bank-c' is not eligible for round 'r1'")
    // bank-x is eligible, but no member record gives it a peer identity
    expect(await refused(peers.bankC, host, update('r1', 'bank-x', envelopeOf()))).toContain('own peer identity')
    expect(envelopesIn(enclaveHost, 'r1')).toBe(0)
    await accepted(peers.bankB, host, 'r1', 'bank-b', envelopeOf())
    expect(envelopesIn(enclaveHost, 'r1')).toBe(1)
  })

  it('refuses updates for a round it holds no round key for, and for a round it does not know', async () => {
    const { ledger, enclaveHost, host, peers } = await setup()
    // r0 is keyed on the ledger and known to the host, which never made (or lost) its key
    expect(enclaveHost.summary().map((r) => r.round).sort()).toEqual(['r0', 'r1'])
    expect(await refused(peers.bankA, host, update('r0', 'bank-a', envelopeOf()))).toContain("round 'r0' does not take updates here now")
    expect(await remoteRefusal(peers.bankA.request(host.peerId, roundKeyProtocol(CHAIN), encode({ round: 'r0' })))).toContain("no round key for round 'r0'")
    expect(await refused(peers.bankA, host, update('r9', 'bank-a', envelopeOf()))).toContain("round 'r9' does not take updates here now")
    expect(envelopesIn(enclaveHost, 'r0')).toBe(0)
    // r1's key is served, and r1 takes updates
    const key = decode(await peers.bankA.request(host.peerId, roundKeyProtocol(CHAIN), encode({ round: 'r1' }))) as { round: string; publicKey: Uint8Array }
    expect(key.publicKey).toEqual(ledger.rounds.get('r1')!.record.roundKey)
    await accepted(peers.bankA, host, 'r1', 'bank-a', envelopeOf())
  })

  it(`keeps at most ${MAX_ENVELOPES} distinct envelopes per member and round; a resend is not a new one`, async () => {
    const { host, peers } = await setup()
    const [e1, e2, e3] = [envelopeOf(), envelopeOf(), envelopeOf()]
    await accepted(peers.bankB, host, 'r1', 'bank-b', e1!)
    await accepted(peers.bankB, host, 'r1', 'bank-b', e2!)
    await accepted(peers.bankB, host, 'r1', 'bank-b', e1!)
    expect(await refused(peers.bankB, host, update('r1', 'bank-b', e3!))).toContain(`member 'bank-b' sent ${MAX_ENVELOPES} envelopes for round 'r1' already`)
    await accepted(peers.bankB, host, 'r1', 'bank-b', e2!)
    // the limit is per member
    await accepted(peers.bankA, host, 'r1', 'bank-a', e3!)
  })

  it('refuses malformed requests and keeps serving', async () => {
    const { enclaveHost, host, peers } = await setup()
    const env = envelopeOf()
    const bad: Array<[Uint8Array, RegExp]> = [
      [Uint8Array.of(0xa3, 0xff, 0x01), /^.*update: malformed DAG-CBOR/],
      [encode({ round: 'r1', member: 'bank-a' }), /update: envelope/],
      [encode({ round: 'r1', member: 'bank-a', envelope: 'not bytes' }), /update: envelope/],
      [encode({ round: 'r1', member: 'bank-a', envelope: env, extra: true }), /update: .*unrecognized/i],
      [encode({ round: 'r1', member: '', envelope: env }), /update: member/],
      [encode({ round: 7, member: 'bank-a', envelope: env }), /update: round/],
      [encode(['r1', 'bank-a', env]), /update: /],
    ]
    for (const [body, message] of bad) {
      expect(await refused(peers.bankA, host, body)).toMatch(message)
      await accepted(peers.bankA, host, 'r1', 'bank-a', env)
    }
    expect(await remoteRefusal(peers.bankA.request(host.peerId, roundKeyProtocol(CHAIN), encode({ round: 'r1', more: 1 })))).toMatch(/round-key request/)
    expect(envelopesIn(enclaveHost, 'r1')).toBe(1)
    expect(peers.bankA.connectedPeers()).toContain(host.peerId)
  })
})

describe('EnclaveHost round phases', () => {
  it('keys a round until the ledger has its key, then collects; a round of another enclave, or one the ledger aborted, is done', async () => {
    const { ledger, enclaveHost, peers, host } = await setup({ refuseRoundKeys: 1 })
    const phase = (id: string) => enclaveHost.summary().find((r) => r.round === id)?.phase
    expect(phase('r1')).toBe('keying') // its round key was refused
    await enclaveHost.step()
    expect(phase('r1')).toBe('collecting')
    await accepted(peers.bankA, host, 'r1', 'bank-a', envelopeOf())

    const r1 = ledger.rounds.get('r1')!
    ledger.rounds.set('r9', { record: roundRecord({ id: 'r9', baseModel: r1.record.baseModel, enclave: 'enclave-other', eligibleCount: 1 }), eligible: ['bank-a'], commits: [] })
    r1.record = { ...r1.record, status: 'aborted' }
    await enclaveHost.step()
    expect([phase('r9'), phase('r1')]).toEqual(['done', 'done'])
    expect(envelopesIn(enclaveHost, 'r1')).toBe(0) // its key closed, its envelopes gone
    expect(await refused(peers.bankA, host, update('r1', 'bank-a', envelopeOf()))).toMatch(/does not take updates here now/)
  })
})

describe('EnclaveHost passes', () => {
  it('a validator that reports a live round as aborted in its (unproven) round view does not make the host close its key', async () => {
    const { ledger, enclaveHost, host, peers } = await setup()
    await accepted(peers.bankA, host, 'r1', 'bank-a', envelopeOf())
    const r1 = ledger.rounds.get('r1')!
    const lie = { height: ledger.height, round: toJson({ ...r1.record, status: 'aborted' }), eligible: r1.eligible, commits: { items: [], next: null } }
    ledger.override = (method, path) => (method === 'GET' && path === '/v1/rounds/r1' ? { status: 200, body: lie } : undefined)
    await enclaveHost.step()
    expect(enclaveHost.summary().find((r) => r.round === 'r1')).toMatchObject({ phase: 'collecting', envelopes: 1 })
  })

  it('a round the validator cannot answer for does not hold up the others in the same pass', async () => {
    // r0 comes first in the list and its detail fails; r1 still gets its round key in the first pass
    const { ledger, log } = await setup({ brokenRound: 'r0' })
    expect(ledger.rounds.get('r1')!.record.status).toBe('keyed')
    expect(JSON.stringify(log.lines)).toContain('round step failed')
  })
})

describe('EnclaveHost round keys', () => {
  it('asks the enclave again for a round key the ledger refused, at its next pass', async () => {
    const { ledger, enclaveHost, log } = await setup({ refuseRoundKeys: 1 })
    const roundKeyTxs = () => ledger.submitted.filter((t) => t.decoded.signed.tx.type === 'enclave.round-key')
    expect(roundKeyTxs().map((t) => t.receipt.code)).toEqual(['ATTESTATION_REJECTED'])
    expect(JSON.stringify(log.lines)).toContain("enclave.round-key for 'r1' refused")
    expect(ledger.rounds.get('r1')!.record.status).toBe('open')
    await enclaveHost.step()
    expect(roundKeyTxs().map((t) => t.receipt.code)).toEqual(['ATTESTATION_REJECTED', 'OK'])
    // the same key, attested again at the same (unconsumed) nonce
    const [first, second] = roundKeyTxs().map((t) => t.decoded.signed.tx as { nonce: number; body: { publicKey: Uint8Array } })
    expect(second!.body.publicKey).toEqual(first!.body.publicKey)
    expect(second!.nonce).toBe(first!.nonce)
    expect(ledger.rounds.get('r1')!.record.status).toBe('keyed')
  })
})
