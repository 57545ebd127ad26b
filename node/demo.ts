/**
 * A local walk through the ledger, in one process, persisted in level: a
 * consortium's genesis, a training round from open to checkpoint, a revocation
 * with re-aggregation, and the refusals the rules exist for (`fedledger demo`).
 * The model updates are synthetic vectors and there is no network or enclave (for
 * those, `npm start` runs the whole federation: `fedledger start`), but every
 * transaction is signed, executed, persisted and verifiable exactly as on a
 * network.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_DB_DIR } from './repo.ts'
import { certifyPlatform, issueSimEvidence, SIM_FORMAT, SimAttestationVerifier } from '../enclave/index.ts'
import {
  addModel,
  approveTx,
  evidenceNonce,
  AttestationVerifierRegistry,
  CasBlockstore,
  ChainStore,
  encodeTx,
  executeBlock,
  genesisState,
  LevelKeyValueStore,
  restoreCheckpoint,
  signTx,
  StateKey,
  verifyProof,
  writeCheckpoint,
  type BudgetRecord,
  type CheckpointRecord,
  type LedgerState,
  type Receipt,
  type RevocationEntry,
  type TxBody,
  type TxType,
} from '../ledger/index.ts'
import {
  DomainTag,
  encode,
  generateKeyPair,
  sha256,
  signPayload,
  toHex,
  type Ed25519KeyPair,
} from '../primitives/index.ts'

export interface DemoOptions {
  dir?: string
  log: (line: string) => void
}

const CHAIN = 'fedledger-demo'
const BANKS = ['bank-a', 'bank-b', 'bank-c', 'bank-d', 'bank-e', 'bank-f']

export async function runLedgerDemo(opts: DemoOptions): Promise<{ height: number; stateRoot: string; checkpoint: string }> {
  const log = opts.log
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'fedledger-demo-')))
  const kv = new LevelKeyValueStore(join(dir, REPO_DB_DIR))
  await kv.open()
  try {
    const keys = new Map<string, Ed25519KeyPair>()
    const key = (id: string) => keys.get(id) ?? keys.set(id, generateKeyPair()).get(id)!
    const now = Math.floor(Date.now() / 1000)

    // A testnet attestation root certifies one simulated TEE platform.
    const platform = key('sim-platform')
    const cert = certifyPlatform(key('testnet-root').secretKey, 'sim-platform', platform.publicKey, now + 86_400)
    const measurement = sha256(new TextEncoder().encode('fedledger aggregation enclave bundle (demo)'))
    const evidence = (purpose: 'enclave.register' | 'enclave.round-key', subject: string, bound: Uint8Array[]) => ({
      format: SIM_FORMAT,
      evidence: issueSimEvidence(cert, platform.secretKey, { platform: 'sim-platform', measurement, keys: bound, nonce: purpose === 'enclave.register' ? evidenceNonce(CHAIN, purpose, subject) : evidenceNonce(CHAIN, purpose, subject, genesis.root), timestamp: now, debug: false }),
    })
    const components = { attestation: new AttestationVerifierRegistry().register(SIM_FORMAT, new SimAttestationVerifier()) }

    const member = (id: string, roles: Array<'participant' | 'coordinator' | 'auditor' | 'governor'>) => ({ id, org: id, roles, publicKey: key(id).publicKey })
    const genesis = genesisState({
      chainId: CHAIN,
      epochLength: 100,
      governanceThreshold: 2,
      revocationAuthorities: { 'attestation-service': key('attestation-service').publicKey },
      attestation: { formats: [SIM_FORMAT], trustAnchors: { [SIM_FORMAT]: [key('testnet-root').publicKey] }, measurements: [toHex(measurement)] },
      validators: [0, 1, 2, 3].map((i) => ({ id: `validator-${i}`, publicKey: key(`validator-${i}`).publicKey, power: 1 })),
      members: [member('gov-1', ['governor']), member('gov-2', ['governor']), member('coordinator', ['coordinator']), member('auditor', ['auditor']), ...BANKS.map((b) => member(b, ['participant']))],
      budgets: BANKS.map((b) => ({ member: b, epsilon: 4, delta: 1e-5 })),
    })
    const chain = new ChainStore({ kv })
    const cas = new CasBlockstore({ kv })
    let state: LedgerState = await chain.initialize(genesis)
    log(`fedledger demo: one process executes the blocks a validator network would agree on; data in ${dir}`)
    log(`genesis  chain ${CHAIN}: 2 governors (both must sign governance), a coordinator, an auditor, ${BANKS.length} banks with ε ≤ 4 at δ = 1e-5`)

    const nonces = new Map<string, number>()
    const tx = <T extends TxType>(sender: string, type: T, body: TxBody<T>, approvers: string[] = []) => {
      const nonce = nonces.get(sender) ?? 0
      nonces.set(sender, nonce + 1)
      const t = { chain: CHAIN, type, sender, nonce, body }
      const signed = signTx(t, key(sender).secretKey)
      if (approvers.length) signed.approvals = approvers.map((a) => approveTx(t, a, key(a).secretKey))
      return encodeTx(signed)
    }
    const block = async (label: string, txs: Uint8Array[]): Promise<Receipt[]> => {
      const head = (await chain.head())!
      const b = { chain: CHAIN, height: state.height + 1, timeSec: now + state.height + 1, parent: head.block, txs }
      const outcome = executeBlock(state, b, components)
      await chain.commitBlock(b, outcome)
      state = outcome.state
      // a refused transaction does not consume its nonce
      for (const [sender] of nonces) nonces.set(sender, state.get<number>(StateKey.nonce(sender)) ?? 0)
      const summary = outcome.receipts.map((r) => (r.code === 'OK' ? 'OK' : `${r.code}: ${r.message}`))
      log(`height ${String(b.height).padStart(2)}  ${label.padEnd(44)} ${[...new Set(summary)].join('; ')}`)
      return outcome.receipts
    }

    // 1. The enclave is registered by governance, with evidence the ledger verifies.
    const enclaveKey = key('enclave-1')
    await block('enclave.register enclave-1 (sim-v1)', [tx('gov-1', 'enclave.register', { id: 'enclave-1', platform: 'sim-platform', measurement, publicKey: enclaveKey.publicKey, attestation: evidence('enclave.register', 'enclave-1', [enclaveKey.publicKey]) }, ['gov-2'])])

    // 2. Round r1: open, attested round key, commits, result after the deadline, close.
    const training = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.02, localEpochs: 1 }
    const base = await addModel(cas, new Float32Array(784 * 10))
    const deadline = state.height + 4
    await block('round.open r1 (6 banks, σ = 1.1, q = 0.02, 50 steps)', [tx('coordinator', 'round.open', { round: 'r1', baseModel: base, training, aggregation: { rule: 'multi-krum', f: 1, m: 5 }, eligible: BANKS, deadline, enclave: 'enclave-1' })])
    const roundKey = generateKeyPair().publicKey // stands in for the enclave's x25519 round key
    await block('enclave.round-key r1 (bound into evidence)', [tx('enclave-1', 'enclave.round-key', { round: 'r1', publicKey: roundKey, attestation: evidence('enclave.round-key', 'r1', [roundKey, enclaveKey.publicKey]) })])
    const committers = BANKS.slice(0, 5)
    const updates = new Map<string, Float32Array>()
    const commits = await Promise.all(
      committers.map(async (b, i) => {
        const update = Float32Array.from({ length: 7840 }, (_, j) => Math.sin(i * 7840 + j) * 1e-3) // synthetic
        updates.set(b, update)
        const ciphertext = await addModel(cas, update) // stands in for the encrypted update
        const statement = { chain: CHAIN, round: 'r1', member: b, plaintextHash: sha256(new Uint8Array(update.buffer)), declaredNorm: 0.5 }
        return tx(b, 'round.commit', { round: 'r1', ciphertext, statement, statementSig: signPayload(key(b).secretKey, DomainTag.UPDATE_STATEMENT, statement) })
      }),
    )
    await block(`round.commit × ${committers.length} (bank-f sits out)`, commits)
    while (state.height <= deadline) await block('(empty block)', [])
    const mean = (members: string[]) => {
      const out = new Float32Array(7840)
      for (const m of members) updates.get(m)!.forEach((v, j) => (out[j]! += v / members.length))
      return out
    }
    const dp = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.02, steps: 50 }
    const model1 = await addModel(cas, mean(committers))
    await block('round.result r1 (5 included)', [tx('enclave-1', 'round.result', { round: 'r1', model: model1, included: committers, excluded: [], dp, aggregation: { f: 1, m: committers.length, centralNoiseMultiplier: 1.1 }, transcriptHash: sha256(encode({ round: 'r1', committers })) })])
    const spent = (b: string) => state.get<BudgetRecord>(StateKey.budget(b))!.epsilonSpent
    log(`          ε spent: ${BANKS.map((b) => `${b} ${spent(b).toFixed(3)}`).join(', ')} (cap 4)`)

    // 3. The attestation service's revocation list revokes bank-c: r1 must be re-aggregated without it.
    const entry: RevocationEntry = { chain: CHAIN, authority: 'attestation-service', serial: 1, subject: { kind: 'member', id: 'bank-c' }, reason: 'TCB out of date', issuedAt: now }
    await block('member.revoke bank-c (revocation-list entry)', [tx('auditor', 'member.revoke', { member: 'bank-c', reason: entry.reason, evidence: { kind: 'revocation-list', entry, sig: signPayload(key('attestation-service').secretKey, DomainTag.REVOCATION, entry) } })])
    const rest = committers.filter((b) => b !== 'bank-c')
    const model1b = await addModel(cas, mean(rest))
    await block('round.result r1 re-aggregated without bank-c', [tx('enclave-1', 'round.result', { round: 'r1', model: model1b, included: rest, excluded: [{ member: 'bank-c', reason: 'revoked' }], dp, aggregation: { f: 1, m: committers.length, centralNoiseMultiplier: 1.1 }, transcriptHash: sha256(encode({ round: 'r1', rest })) })])
    await block('round.close r1 (round key dropped)', [tx('coordinator', 'round.close', { round: 'r1' })])

    // 4. Checkpoint: a UnixFS directory of model + state + transcript, anchored by CID.
    const snapshotState = state
    const written = await writeCheckpoint(cas, { state: snapshotState, model: mean(rest), transcripts: new Map([['r1', encode({ included: rest })]]) })
    await block(`checkpoint #1 ${written.root.toString().slice(0, 20)}…`, [tx('coordinator', 'checkpoint', { round: 'r1', model: written.model, snapshot: written.root, stateRoot: snapshotState.root, height: snapshotState.height })])

    // 5. What the rules refuse.
    const open2 = (eligible: string[], localEpochs: number) => ({ round: 'r2', baseModel: written.model, training: { ...training, localEpochs }, aggregation: { rule: 'multi-krum' as const, f: 1, m: 4 }, eligible, deadline: state.height + 5, enclave: 'enclave-1' })
    await block('round.open r2 with revoked bank-c', [tx('coordinator', 'round.open', open2(BANKS, 1))])
    const others = BANKS.filter((b) => b !== 'bank-c')
    await block('round.open r2 with 40 local epochs', [tx('coordinator', 'round.open', open2(others, 40))])
    const late = { chain: CHAIN, round: 'r1', member: 'bank-c', plaintextHash: new Uint8Array(32), declaredNorm: 0 }
    await block('commit by revoked bank-c', [tx('bank-c', 'round.commit', { round: 'r1', ciphertext: base, statement: late, statementSig: signPayload(key('bank-c').secretKey, DomainTag.UPDATE_STATEMENT, late) })])
    await block('round.open r2 (5 banks, 1 epoch)', [tx('coordinator', 'round.open', open2(others, 1))])

    // 6. What an auditor can check afterwards.
    const proof = state.trie.prove(StateKey.budget('bank-a'))
    const proved = verifyProof(state.root, StateKey.budget('bank-a'), proof)
    const anchored = state.get<CheckpointRecord>(StateKey.checkpointLatest)!
    const restored = await restoreCheckpoint(cas, anchored.snapshot, anchored)
    const reopened = await new ChainStore({ kv }).loadState()
    log('')
    log(`head       height ${state.height}, state root ${toHex(state.root)}`)
    log(`proof      budget/bank-a ${proved.included ? 'included' : 'absent'} under the state root (${proof.siblings.length} sibling hashes)`)
    log(`checkpoint ${anchored.snapshot} restores state root ${toHex(restored.state.root).slice(0, 16)}… = anchored: ${toHex(restored.state.root) === toHex(anchored.stateRoot)}`)
    log(`reopened   the level store rebuilds the same root: ${toHex(reopened.root) === toHex(state.root)}`)
    log(`next       \`fedledger cas export ${anchored.snapshot} --car cp.car --repo ${dir}\` exports the checkpoint`)
    return { height: state.height, stateRoot: toHex(state.root), checkpoint: anchored.snapshot.toString() }
  } finally {
    await kv.close()
  }
}
