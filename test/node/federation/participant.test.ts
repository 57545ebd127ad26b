/**
 * ParticipantPeer's attestation check before anything leaves the bank: when the
 * enclave host's round-key answer offers a key other than the ledger's round
 * key, or evidence that does not verify (a measurement other than the enclave's
 * registered one, made for another round, not binding the enclave's key or the
 * round key, from a platform no trusted root certified), the peer neither trains
 * nor sends anything to update/1, commits nothing, and reports the round as not
 * committed, once (an attestation failure is final). A control case with good
 * evidence goes all the way to a commit, so the fakes are known to work.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { recordingLogger } from '../../helpers/logger.ts'
import { certifyPlatform, ciphertextCid, generateRoundKey, issueSimEvidence, issueSimRevocationList, SIM_FORMAT } from '../../../enclave/index.ts'
import { addModel, CasBlockstore, evidenceNonce, MemoryKeyValueStore } from '../../../ledger/index.ts'
import { decode, encode } from '../../../primitives/index.ts'
import { ApiClient, VerifiedReader } from '../../../node/api/index.ts'
import { LightClient } from '../../../light/index.ts'
import { StateKey, type ChainParams, type EnclaveRecord, type RoundRecord } from '../../../ledger/index.ts'
import { ParticipantPeer, roundKeyProtocol, updateProtocol } from '../../../node/federation/index.ts'
import { seededRng, type Trainer } from '../../../participant/index.ts'
import { FAKE_GENESIS, FAKE_GENESIS_HASH, FakeLedger, memberRecord, roundRecord, type Lie } from './fake-ledger.ts'
import { CHAIN, connectedTo, keysOf, Running, seedOf } from './helpers.ts'
import { ENCLAVE_ID, evidence, GENESIS_HASH, MEASUREMENT, OTHER_MEASUREMENT, PLATFORM, register, simEnclave, type SimEnclave } from './sim-enclave.ts'

const running = new Running()
afterEach(() => running.stopAll())

const DIM = 4

type Answer = (sim: SimEnclave, ledgerKey: Uint8Array) => { publicKey: Uint8Array; attestation: { format: string; evidence: Uint8Array } }

/** `liars`: fake validators over the same records that lie in their proofs, asked before the honest one (none: only the honest one). */
async function run(answer: Answer, opts: { liars?: Lie[]; honest?: boolean; mirrors?: number; revocationList?: (sim: SimEnclave) => Uint8Array; prepare?: (ledger: FakeLedger, sim: SimEnclave) => void } = {}) {
  const sim = simEnclave()
  const ledger = new FakeLedger(CHAIN)
  const url = await ledger.start()
  running.track(() => ledger.stop())
  const apis: string[] = []
  for (const lie of opts.liars ?? []) {
    const liar = FakeLedger.liar(ledger, lie)
    apis.push(await liar.start())
    running.track(() => liar.stop())
  }
  if (opts.honest !== false) apis.push(url)
  for (let i = 0; i < (opts.mirrors ?? 0); i++) {
    const mirror = FakeLedger.liar(ledger, { tamper: (_k, v) => v }) // honest: tells the truth from the same records
    apis.push(await mirror.start())
    running.track(() => mirror.stop())
  }
  register(ledger, sim)
  ledger.height = 10
  const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
  const base = await addModel(store, new Float32Array(DIM)) // held locally: no provider needed
  const roundKey = generateRoundKey().publicKey
  ledger.rounds.set('r1', { record: roundRecord({ id: 'r1', baseModel: base, enclave: ENCLAVE_ID, eligibleCount: 1, status: 'keyed', roundKey }), eligible: ['bank-a'], commits: [] })
  ledger.members.set('bank-a', memberRecord('bank-a', keysOf('bank-a').publicKey))
  opts.prepare?.(ledger, sim)

  // the enclave host's side: a round-key answer made to order, and a counting update/1
  const enclaveHost = await running.host(seedOf('enclave-host'))
  let keyRequests = 0
  const updates: Uint8Array[] = []
  enclaveHost.handle(roundKeyProtocol(CHAIN), () => {
    keyRequests++
    return encode({ round: 'r1', ...answer(sim, roundKey) })
  })
  enclaveHost.handle(updateProtocol(CHAIN), (_from, data) => {
    const { envelope } = decode(data) as { envelope: Uint8Array }
    updates.push(envelope)
    return encode({ accepted: true, ciphertext: ciphertextCid(envelope) })
  })

  const bank = await running.host(seedOf('bank-a'), enclaveHost.addresses())
  await connectedTo(bank, [enclaveHost])
  let trained = 0
  const configs: Array<{ noiseMultiplier: number; clipNorm: number }> = []
  const trainer: Trainer = {
    dimension: DIM,
    train: async (_base, config) => {
      configs.push(config)
      trained++
      return { update: new Float32Array(DIM).fill(0.25), norm: 0.5, steps: 0, examples: 1 }
    },
  }
  const log = recordingLogger()
  const verified = new VerifiedReader({ light: LightClient.fromGenesis(FAKE_GENESIS, FAKE_GENESIS_HASH), logger: log }, { apis })
  const peer = new ParticipantPeer(
    { ledger: new ApiClient({ apis: [url] }), verified, host: bank, store, trainer, rng: seededRng('participant-test', 1), logger: log, ...(opts.revocationList === undefined ? {} : { revocationList: async () => opts.revocationList!(sim) }) },
    { chainId: CHAIN, genesisHash: GENESIS_HASH, member: 'bank-a', secretKey: seedOf('bank-a'), enclavePeer: enclaveHost.peerId, providers: [enclaveHost.peerId], pollMs: 60_000 },
  )
  await peer.step()
  await peer.step() // a final refusal is not tried again; a commit is not repeated
  return { peer, ledger, keyRequests, updates, trained: () => trained, configs, log, verified }
}

/** Evidence bound to the ledger's round key and the enclave's key, for r1, with the registered measurement. */
const good: Answer = (sim, ledgerKey) => ({ publicKey: ledgerKey, attestation: evidence(sim, { round: 'r1', keys: [ledgerKey, sim.enclaveKeys.publicKey] }) })

describe('ParticipantPeer attestation check', () => {
  it('with evidence that verifies: trains, sends the envelope and commits (control)', async () => {
    const r = await run(good)
    expect(r.trained()).toBe(1)
    expect(r.updates).toHaveLength(1)
    expect(r.peer.reports).toEqual([expect.objectContaining({ round: 'r1', committed: true })])
    const commits = r.ledger.submitted.filter((t) => t.decoded.signed.tx.type === 'round.commit')
    expect(commits).toHaveLength(1)
    expect(String((commits[0]!.decoded.signed.tx.body as { ciphertext: unknown }).ciphertext)).toBe(ciphertextCid(r.updates[0]!).toString())
  })

  const other = (): Uint8Array => generateRoundKey().publicKey
  const cases: Array<[string, Answer, RegExp]> = [
    [
      'a round key other than the ledger\'s (with evidence that binds it)',
      (sim) => {
        const k = other()
        return { publicKey: k, attestation: evidence(sim, { round: 'r1', keys: [k, sim.enclaveKeys.publicKey] }) }
      },
      /offers a round key other than the ledger's for round 'r1'/,
    ],
    [
      'evidence of a measurement other than the enclave\'s registered one (though on the allow-list)',
      (sim, k) => ({ publicKey: k, attestation: evidence(sim, { round: 'r1', keys: [k, sim.enclaveKeys.publicKey], measurement: OTHER_MEASUREMENT }) }),
      /evidence does not verify: measurement .* is not the expected/,
    ],
    [
      'evidence made for another round',
      (sim, k) => ({ publicKey: k, attestation: evidence(sim, { round: 'r1', keys: [k, sim.enclaveKeys.publicKey], nonceRound: 'r2' }) }),
      /evidence does not verify: evidence was made for another nonce/,
    ],
    [
      'evidence of an enclave pinned to another genesis (a network of its host\'s making, with the same chain id)',
      (sim, k) => ({ publicKey: k, attestation: evidence(sim, { round: 'r1', keys: [k, sim.enclaveKeys.publicKey], genesis: new Uint8Array(32).fill(3) }) }),
      /evidence does not verify: evidence was made for another nonce/,
    ],
    [
      'evidence that does not bind the enclave\'s registered key',
      (sim, k) => ({ publicKey: k, attestation: evidence(sim, { round: 'r1', keys: [k] }) }),
      /evidence does not verify: key .* is not bound/,
    ],
    [
      'evidence that does not bind the round key',
      (sim, k) => ({ publicKey: k, attestation: evidence(sim, { round: 'r1', keys: [other(), sim.enclaveKeys.publicKey] }) }),
      /evidence does not verify: key .* is not bound/,
    ],
    [
      'evidence from a platform no trusted root certified',
      (sim, k) => {
        const rogueRoot = keysOf('rogue-root')
        const cert = certifyPlatform(rogueRoot.secretKey, PLATFORM, sim.platformKeys.publicKey, Math.floor(Date.now() / 1000) + 3600)
        const report = { platform: PLATFORM, measurement: MEASUREMENT, keys: [k, sim.enclaveKeys.publicKey], nonce: evidenceNonce(CHAIN, 'enclave.round-key', 'r1', GENESIS_HASH), timestamp: Math.floor(Date.now() / 1000), debug: false }
        return { publicKey: k, attestation: { format: SIM_FORMAT, evidence: issueSimEvidence(cert, sim.platformKeys.secretKey, report) } }
      },
      /evidence does not verify: .*not signed by a trusted root/,
    ],
  ]

  it.each(cases)('with %s: sends nothing, trains nothing, reports the round not committed', async (_name, answer, reason) => {
    const r = await run(answer)
    expect(r.trained()).toBe(0)
    expect(r.updates).toHaveLength(0)
    expect(r.ledger.count('POST /v1/txs')).toBe(0)
    expect(r.peer.reports).toHaveLength(1)
    expect(r.peer.reports[0]).toEqual({ round: 'r1', committed: false, reason: expect.stringMatching(reason) })
    // final at the first attempt (ATTESTATION): the second look does not ask again
    expect(r.keyRequests).toBe(1)
  })
})

describe('ParticipantPeer reads through the light client', () => {
  const weakerNoise: Lie = { tamper: (key, v) => (key === StateKey.round('r1') ? { ...(v as RoundRecord), training: { ...(v as RoundRecord).training, noiseMultiplier: 0.01 } } : v) }
  const rogueAnchor: Lie = {
    tamper: (key, v) => (key === StateKey.params ? { ...(v as ChainParams), attestation: { ...(v as ChainParams).attestation, trustAnchors: { 'sim-v1': [keysOf('rogue-root').publicKey] } } } : v),
    certify: ['val-0'], // one validator's signature on its own state
  }

  it('a validator that alters the round (σ) under the real certificate is caught (BAD_PROOF), logged, and the next one asked', async () => {
    const r = await run(good, { liars: [weakerNoise] })
    expect(r.peer.reports).toEqual([expect.objectContaining({ round: 'r1', committed: true })])
    expect(r.configs.map((c) => c.noiseMultiplier)).toEqual([1.1]) // trained with the certified σ, not the liar's
    expect(r.verified.faults[0]).toMatchObject({ code: 'BAD_PROOF' })
    expect(JSON.stringify(r.log.lines)).toContain('does not verify')
  })

  it('a validator that certifies its own state (another trust anchor) alone is caught (BAD_CERTIFICATE)', async () => {
    const r = await run(good, { liars: [rogueAnchor] })
    expect(r.peer.reports).toEqual([expect.objectContaining({ round: 'r1', committed: true })])
    expect(r.verified.faults[0]).toMatchObject({ code: 'BAD_CERTIFICATE' })
  })

  it('with only lying validators: the round is not acted on (nothing trained or sent), and the look is logged and tried again', async () => {
    const r = await run(good, { liars: [weakerNoise, rogueAnchor], honest: false })
    expect(r.trained()).toBe(0)
    expect(r.updates).toHaveLength(0)
    expect(r.peer.reports).toEqual([])
    expect(JSON.stringify(r.log.lines)).toContain('could not read the round from certified state')
  })
})

describe('ParticipantPeer with a revocation list', () => {
  const now = () => Math.floor(Date.now() / 1000)
  const list = (revoked: { platforms?: string[]; measurements?: Uint8Array[]; keys?: Uint8Array[] }, window: { issuedAt?: number; nextUpdate?: number } = {}) => (sim: SimEnclave) =>
    issueSimRevocationList(sim.root.secretKey, { issuer: 'testnet-root', serial: 1, issuedAt: window.issuedAt ?? now() - 60, nextUpdate: window.nextUpdate ?? now() + 3600, revoked: { platforms: revoked.platforms ?? [], measurements: revoked.measurements ?? [], keys: revoked.keys ?? [] } })

  it('commits when the list revokes nothing of the enclave (control)', async () => {
    const r = await run(good, { revocationList: list({ platforms: ['another-platform'] }) })
    expect(r.peer.reports).toEqual([expect.objectContaining({ round: 'r1', committed: true })])
  })

  it.each([
    ['its measurement', list({ measurements: [MEASUREMENT] }), /revoked/i],
    ['its platform', list({ platforms: [PLATFORM] }), /revoked/i],
    ['its registered key', (sim: SimEnclave) => list({ keys: [sim.enclaveKeys.publicKey] })(sim), /revoked/i],
  ])('sends nothing to an enclave whose %s the list revokes', async (_what, revocationList, reason) => {
    const r = await run(good, { revocationList })
    expect(r.trained()).toBe(0)
    expect(r.updates).toHaveLength(0)
    expect(r.peer.reports).toEqual([{ round: 'r1', committed: false, reason: expect.stringMatching(reason) }])
  })

  it('sends nothing with a stale list, or one not signed by the chain\'s root', async () => {
    const stale = await run(good, { revocationList: list({}, { issuedAt: now() - 7200, nextUpdate: now() - 60 }) })
    expect(stale.peer.reports).toEqual([{ round: 'r1', committed: false, reason: expect.stringMatching(/expired/) }])
    const rogue = await run(good, { revocationList: () => issueSimRevocationList(keysOf('rogue-root').secretKey, { issuer: 'testnet-root', serial: 1, issuedAt: now() - 60, nextUpdate: now() + 3600, revoked: { platforms: [], measurements: [], keys: [] } }) })
    expect(rogue.peer.reports).toEqual([{ round: 'r1', committed: false, reason: expect.stringMatching(/not signed by a trusted root/) }])
    expect(rogue.trained()).toBe(0)
  })
})

describe('ParticipantPeer acts on fresh facts only', () => {
  // the enclave was revoked at height 5; the liar serves a genuinely certified older state (height 9) from before
  const revokedEnclave = (ledger: FakeLedger) => {
    const e = ledger.enclaves.get(ENCLAVE_ID)!
    ledger.enclaves.set(ENCLAVE_ID, { ...e, revokedAt: 5, revocationReason: 'TCB out of date' })
  }
  const oldState: Lie = { tamper: (key, v) => (key === StateKey.enclave(ENCLAVE_ID) ? { ...(v as EnclaveRecord), revokedAt: null, revocationReason: null } : v), certify: ['val-0', 'val-1', 'val-2'], heightOffset: -1 }

  it('a validator serving an old certified state (enclave not revoked yet) cannot get the update sent: f+1 validators are read and the newest wins', async () => {
    const r = await run(good, { liars: [oldState], mirrors: 3, prepare: revokedEnclave })
    expect(r.trained()).toBe(0)
    expect(r.updates).toHaveLength(0)
    expect(r.peer.reports).toEqual([{ round: 'r1', committed: false, reason: expect.stringMatching(/enclave 'enclave-1' is revoked/) }])
  })

  it('counts the round in its own accountant once the signed commit leaves, whatever the receipt says', async () => {
    const r = await run(good, { prepare: (ledger) => { ledger.decide = (tx) => (tx.signed.tx.type === 'round.commit' ? { code: 'DEADLINE_PASSED', message: 'a lying receipt' } : { code: 'OK', message: '' }) } })
    expect(r.updates).toHaveLength(1)
    expect(r.peer.reports).toEqual([{ round: 'r1', committed: false, reason: expect.stringMatching(/DEADLINE_PASSED/) }])
    expect(r.peer.epsilon()).toBeGreaterThan(0)
  })
})

