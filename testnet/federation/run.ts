/**
 * The main job (`npm start`): a local consortium trains a model on MNIST.
 *
 *   4 validators (HotStuff over libp2p, empty blocks every second so deadlines come)
 *   1 enclave host + its enclave service process (sim-v1 attestation)
 *   N banks (participant peers), each on its own Dirichlet(α) share of MNIST,
 *     one of them Byzantine (sign-flipped, ×10 updates), one with a small ε cap
 *   the coordinator (this process): opens rounds, evaluates each new model on the
 *     10k test set, closes rounds, anchors checkpoints, and mid-run relays the
 *     attestation service's revocation of one bank
 *
 * Each round prints one row: height, commits, Multi-Krum exclusions, test
 * accuracy, ε, checkpoint. The run ends with a summary and the final model's CID;
 * everything is on the ledger (GET /v1/rounds, /v1/checkpoints, /v1/budgets).
 */
import { join } from 'node:path'
import { addModel, CasBlockstore, genesisState, MemoryKeyValueStore } from '../../ledger/index.ts'
import { LightClient } from '../../light/index.ts'
import { type CID, type Ed25519KeyPair } from '../../primitives/index.ts'
import { loadMnist } from '../../node/data/index.ts'
import { ApiClient, VerifiedReader } from '../../node/api/index.ts'
import { fetchModel, FEDERATION_KEYS_DIR, modelOf, serveContent, writeFederationFile, writeSeed, type FederationFileInput, type ModelSpec } from '../../node/federation/index.ts'
import { P2PHost, peerIdOf, peerIdOfPublicKey, peerKeyFromSeed } from '../../node/p2p/index.ts'
import { seededRng } from '../../participant/index.ts'
import { randomBytes } from 'node:crypto'
import { ENCLAVE_ID, REVOCATION_AUTHORITY } from '../consortium.ts'
import { TestnetError } from '../errors.ts'
import { generateTestnet } from '../generate.ts'
import { readGenesis, readKeyFile, silentLogger, type Logger } from '../../node/index.ts'
import { freePorts, LOOPBACK } from '../ports.ts'
import { down, up } from '../runner.ts'
import { actorLogTail, actorRunning, spawnEnclaveHost, spawnParticipant, stopActor, type Actor } from './actors.ts'
import { Coordinator } from './coordinator.ts'
import { RoundTable, type RoundRow } from './view.ts'

export interface FederationOptions {
  dir: string
  validators?: number
  banks?: number
  rounds?: number
  checkpointEvery?: number
  /** revoke one honest bank (bank-05) after this round (default 3; 0: never) */
  revokeAfter?: number
  model?: ModelSpec
  alpha?: number
  seed?: number
  limitTrain?: number
  limitTest?: number
  training?: { clipNorm: number; noiseMultiplier: number; samplingRate: number; localEpochs: number }
  /**
   * the enclave's member-level noise on the sum (round config aggregation.centralNoiseMultiplier);
   * default 0: with ten members any useful member-level guarantee drowns the model, and the
   * guarantee the ledger accounts is the banks' example-level DP-SGD
   */
  centralNoiseMultiplier?: number
  /** ε cap of every bank, and the small cap of the budget-limited one */
  epsilon?: number
  lowEpsilon?: number
  deadlineBlocks?: number
  /** fault injection: this validator's API lies in every proof it serves (byzantine 'lying-api'); the banks and the enclave host must catch it and ask another */
  lyingValidator?: number
  signal?: AbortSignal
  log: (line: string) => void
  /** called after the last round, before anything stops (tests look around here) */
  inspect?: (env: FederationEnv) => Promise<void>
}

/** What is running at the end of a federation run. */
export interface FederationEnv {
  chainId: string
  apis: string[]
  ledger: ApiClient
  /** the coordinator's libp2p host and content store (the initial model and the checkpoints) */
  p2p: P2PHost
  store: CasBlockstore
  coordinatorAddr: string
  hostPeer: string
  report: FederationReport
}

export interface FederationReport {
  rounds: RoundRow[]
  finalModel: string
  accuracy: number
  checkpoints: Array<{ seq: number; round: string; root: string }>
  revoked: string | null
  byzantine: string
  lowBudget: string
}

export const bankId = (i: number): string => `bank-${String(i + 1).padStart(2, '0')}`

export async function runFederation(opts: FederationOptions): Promise<FederationReport> {
  const log = opts.log
  const nBanks = opts.banks ?? 10
  const banks = Array.from({ length: nBanks }, (_, i) => bankId(i))
  const byzantine = banks.at(-1)!
  const lowBudget = banks.at(-2)!
  const revokeMember = banks[Math.min(4, nBanks - 3)]!
  const rounds = opts.rounds ?? 10
  const training = opts.training ?? { clipNorm: 3, noiseMultiplier: 1.5, samplingRate: 0.1, localEpochs: 1 }
  const model = opts.model ?? { kind: 'logreg' as const, hidden: 32, learningRate: 1 }
  const f = 1
  const dir = opts.dir

  log(`generating a consortium in ${dir}: ${opts.validators ?? 4} validators, ${nBanks} banks (${byzantine} Byzantine, ${lowBudget} with ε ≤ ${opts.lowEpsilon ?? 2}), enclave ${ENCLAVE_ID}`)
  const testnet = await generateTestnet({ dir, validators: opts.validators ?? 4, force: true, banks, epsilon: opts.epsilon ?? 4, epsilonCaps: { [lowBudget]: opts.lowEpsilon ?? 2 }, consensus: { emptyBlockIntervalMs: 1000 }, logLevel: 'warn', ...(opts.lyingValidator === undefined ? {} : { byzantine: { [opts.lyingValidator]: ['lying-api' as const] } }) })
  const key = async (id: string, folder = 'members'): Promise<Ed25519KeyPair> => readKeyFile(join(dir, folder, `${id}.json`))
  const keys = new Map<string, Ed25519KeyPair>([
    ['coordinator', await key('coordinator')],
    ['auditor', await key('auditor')],
    [REVOCATION_AUTHORITY, await key(REVOCATION_AUTHORITY, 'authorities')],
  ])
  const [hostPort, coordinatorPort] = await freePorts(2)
  const hostSeed = Uint8Array.from(randomBytes(32))
  const coordinatorSeed = Uint8Array.from(randomBytes(32))
  const hostPeer = peerIdOf(await peerKeyFromSeed(hostSeed))
  const coordinatorKey = await peerKeyFromSeed(coordinatorSeed)
  await writeSeed(join(dir, FEDERATION_KEYS_DIR, 'enclave-host.json'), hostSeed)
  await writeSeed(join(dir, FEDERATION_KEYS_DIR, 'coordinator.json'), coordinatorSeed)
  const fed: FederationFileInput = {
    version: 1,
    chainId: testnet.chainId,
    enclave: { id: ENCLAVE_ID, host: { listen: `/ip4/${LOOPBACK}/tcp/${hostPort}`, peerId: hostPeer, key: join(FEDERATION_KEYS_DIR, 'enclave-host.json') } },
    coordinator: { listen: `/ip4/${LOOPBACK}/tcp/${coordinatorPort}`, peerId: peerIdOf(coordinatorKey), key: join(FEDERATION_KEYS_DIR, 'coordinator.json') },
    data: { source: 'mnist', alpha: opts.alpha ?? 0.5, seed: opts.seed ?? 1, members: banks, ...(opts.limitTrain === undefined ? {} : { limitTrain: opts.limitTrain }) },
    model,
    byzantine: { [byzantine]: 'sign-flip-scale' },
  }
  await writeFederationFile(dir, fed)

  const memberPeers = await Promise.all(testnet.members.map(async (m) => peerIdOfPublicKey((await key(m.id)).publicKey)))
  const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
  const p2p = new P2PHost({ privateKey: coordinatorKey }, { listen: fed.coordinator.listen, peers: [`${fed.enclave.host.listen}/p2p/${hostPeer}`], allowedPeers: [...memberPeers, hostPeer], maxMessageBytes: 8 * 1024 * 1024 })
  const actors: Actor[] = []
  const table = new RoundTable(log, banks)
  try {
    log(`starting the validators …`)
    const started = await up(dir, { timeoutMs: 90_000, signal: opts.signal })
    const apis = started.validators.map((v) => v.api)
    const ledger = new ApiClient({ apis })
    // the coordinator pins the consortium's genesis (this folder's) and verifies what it decides on
    const genesis = await readGenesis(dir)
    // a validator whose answer does not verify is named in the run's log
    const warnings: Logger = { ...silentLogger, warn: (obj, msg) => log(`coordinator: ${msg ?? ''} ${JSON.stringify(obj)}`), child: () => warnings }
    const verified = new VerifiedReader({ light: LightClient.fromGenesis(genesis, genesisState(genesis).root), logger: warnings }, { apis })
    const coordinator = new Coordinator({ ledger, verified, store, log }, { chainId: testnet.chainId, apis, enclaveId: ENCLAVE_ID, keys })
    await p2p.start()
    serveContent(p2p, testnet.chainId, store)
    const m = modelOf(model)
    const { test } = await loadMnist({ limitTrain: 1, ...(opts.limitTest === undefined ? {} : { limitTest: opts.limitTest }) })
    /** a round's model, from the enclave host (checked against its CID) */
    const fetchRoundModel = (cid: CID) => fetchModel(p2p, testnet.chainId, [hostPeer], cid, store, { maxBytes: 64 << 20, signal: opts.signal })
    // the current base model, by CID and as weights
    let weights = m.init(seededRng('federation-init', opts.seed ?? 1))
    let base: CID = await addModel(store, weights)
    log(`initial model ${base} (${m.name}, ${m.dimension} parameters; test accuracy ${(100 * m.accuracy(weights, test)).toFixed(1)} %)`)

    log(`starting the enclave host and ${nBanks} participant peers …`)
    actors.push(await spawnEnclaveHost(dir))
    for (const b of banks) actors.push(await spawnParticipant(dir, b))
    await waitConnected(p2p, [hostPeer, ...banks.map((b) => memberPeers[testnet.members.findIndex((x) => x.id === b)]!)], 60_000, actors, opts.signal)

    const checkpoints: FederationReport['checkpoints'] = []
    const sinceCheckpoint: string[] = []
    let revoked: string | null = null
    let accuracy = 0
    for (let k = 1; k <= rounds && opts.signal?.aborted !== true; k++) {
      const id = `r${k}`
      // every bank is proposed: the ledger refuses revoked ones and those whose budget would be exceeded
      const eligible = [...banks]
      const opened = await coordinator.openRound({ round: id, baseModel: base, training, aggregation: { rule: 'multi-krum', f, m: eligible.length - f, centralNoiseMultiplier: opts.centralNoiseMultiplier ?? 0 }, eligible, deadlineBlocks: opts.deadlineBlocks ?? 40 }, opts.signal)
      const d = await coordinator.waitForResult(id, { timeoutMs: 300_000, signal: opts.signal, onPoll: (p) => table.progress(id, p) })
      const result = d.record.result
      if (result === null) {
        table.row({ round: id, height: d.height, committed: d.record.commitCount, eligible: opened.eligible.length, leftOut: opened.leftOut, excluded: [], accuracy, model: null, note: `no result (${d.record.status})` })
        continue
      }
      weights = await fetchRoundModel(result.model)
      accuracy = m.accuracy(weights, test)
      await coordinator.closeRound(id, opts.signal)
      base = result.model
      sinceCheckpoint.push(id)
      const row: RoundRow = { round: id, height: d.height, committed: d.record.commitCount, eligible: opened.eligible.length, leftOut: opened.leftOut, excluded: result.excluded, accuracy, model: base.toString() }
      if (revoked === null && k === (opts.revokeAfter ?? 3)) {
        const revokedAt = await coordinator.revoke(revokeMember, 'attestation revoked: TCB out of date', opts.signal)
        revoked = revokeMember
        const details = await coordinator.waitReaggregated(sinceCheckpoint, { sinceHeight: revokedAt, timeoutMs: 120_000, signal: opts.signal })
        const latest = details.at(-1)!.result!
        const redone = details.filter((x) => x.result!.superseded.length > 0).map((x) => x.id)
        base = latest.model
        weights = await fetchRoundModel(base)
        accuracy = m.accuracy(weights, test)
        row.note = `${revokeMember} revoked; re-aggregated ${redone.join(', ') || 'nothing'} without it → ${(100 * accuracy).toFixed(1)} %`
        row.model = base.toString()
      }
      if (k % (opts.checkpointEvery ?? 2) === 0 || k === rounds) {
        const cp = await coordinator.checkpoint(id, base, weights, opts.signal)
        const latest = await ledger.latestCheckpoint(opts.signal)
        checkpoints.push({ seq: latest!.seq, round: id, root: cp.root.toString() })
        row.checkpoint = cp.root.toString()
        sinceCheckpoint.length = 0
      }
      table.row(row, await budgets(ledger, banks, opts.signal))
    }
    const report: FederationReport = { rounds: table.rows, finalModel: base.toString(), accuracy, checkpoints, revoked, byzantine, lowBudget }
    table.summary(report)
    await opts.inspect?.({ chainId: testnet.chainId, apis, ledger, p2p, store, coordinatorAddr: `${fed.coordinator.listen}/p2p/${fed.coordinator.peerId}`, hostPeer, report })
    return report
  } catch (e) {
    for (const a of actors) if (!(await actorRunning(a))) log(`${a.name} is not running; its log ends:\n${await actorLogTail(a)}`)
    throw e
  } finally {
    log('stopping the federation …')
    await Promise.all(actors.map((a) => stopActor(a)))
    await p2p.stop().catch(() => {})
    await down(dir)
  }
}

async function budgets(ledger: ApiClient, banks: readonly string[], signal?: AbortSignal): Promise<Map<string, { spent: number; cap: number; revoked: boolean }>> {
  const out = new Map<string, { spent: number; cap: number; revoked: boolean }>()
  for (const b of banks) {
    const m = await ledger.member(b, signal)
    if (m?.budget) out.set(b, { spent: m.budget.epsilonSpent, cap: m.budget.epsilonCap, revoked: m.member.revoked })
  }
  return out
}

async function waitConnected(p2p: P2PHost, peers: readonly string[], timeoutMs: number, actors: readonly Actor[], signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const connected = new Set(p2p.connectedPeers())
    const missing = peers.filter((p) => !connected.has(p))
    if (missing.length === 0) return
    for (const a of actors) if (!(await actorRunning(a))) throw new TestnetError('NOT_READY', `${a.name} exited during start-up; its log ends:\n${await actorLogTail(a)}`)
    if (Date.now() > deadline) throw new TestnetError('NOT_READY', `${missing.length} of the federation's peers did not connect within ${timeoutMs / 1000} s`)
    signal?.throwIfAborted()
    await new Promise((r) => setTimeout(r, 250))
  }
}
