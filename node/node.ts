/**
 * The validator node: the one composition root (docs/ARCHITECTURE.md §5, "one composition root"). It builds every
 * part with explicit calls and runs their lifecycle: start in dependency order
 * (store → ledger → consensus state → network → driver → API), stop in reverse,
 * the store closed last, after the driver has finished the input in hand.
 *
 * On start it recovers: blocks recorded as committed by consensus but not yet
 * executed by the ledger (a crash in between) are executed first; the replica
 * resumes from the last committed block with the persisted safety state; an epoch
 * whose last block was executed but whose successor was never recorded is
 * advanced from the ledger state.
 */
import { join } from 'node:path'
import { Registry } from 'prom-client'
import { blockId, ed25519Signer, Epochs, makeGenesis, type Block, type StateDivergenceError } from '../consensus/index.ts'
import { ChainStore, genesisState, LedgerError, LevelKeyValueStore, type Genesis, type KeyValueStore } from '../ledger/index.ts'
import { ApiServer, LedgerQueries, NodeMetrics, ProofLies, SubmitError, type CommitSource, type NodeStatus } from './api/index.ts'
import { LedgerApp, NoopApp, type App, type SubmitResult, type ValidatorInfo } from './app.ts'
import { ConfigError, HOME_FILES, type NodeConfig, type ValidatorKey } from './config.ts'
import { Certification, type ExecutedHeight } from './certification.ts'
import { ConsensusStore, type EpochRecord } from './consensus-store.ts'
import { ConsensusDriver, epochChange, epochSetup, finiteOr, nextEpochRecord } from './driver.ts'
import type { Logger } from './logger.ts'
import { TxGossip } from './tx-gossip.ts'
import { Byzantine } from './byzantine.ts'
import { P2PHost, peerIdOfPublicKey, peerKeyFromSeed } from './p2p/index.ts'

export const VERSION = '0.1.0'

export interface ValidatorNodeOptions {
  home: string
  config: NodeConfig
  genesis: Genesis
  key: ValidatorKey
  logger: Logger
  /** called with blocks once they are executed (benchmarks, tools) */
  onCommitted?: (blocks: readonly Block[]) => void
  /** the node hit a broken invariant and must stop (default: log only; the CLI stops the process) */
  onFatal?: (error: unknown) => void
}

export class ValidatorNode {
  private readonly options: ValidatorNodeOptions
  private kv: KeyValueStore | null = null
  private app: App | null = null
  private epochs: Epochs | null = null
  private host: P2PHost | null = null
  private driver: ConsensusDriver | null = null
  private certification: Certification | null = null
  private api: ApiServer | null = null
  private chain: ChainStore | null = null
  readonly registry = new Registry()
  readonly metrics = new NodeMetrics({ registry: this.registry })

  constructor(options: ValidatorNodeOptions) {
    this.options = options
  }

  get peerId(): string {
    return peerIdOfPublicKey(this.options.key.publicKey)
  }

  get apiUrl(): string | undefined {
    return this.api?.address().url
  }

  get p2pAddresses(): string[] {
    return this.host?.addresses() ?? []
  }

  async start(): Promise<void> {
    const { config, genesis, key, logger } = this.options
    const kv = new LevelKeyValueStore(join(this.options.home, HOME_FILES.db))
    await kv.open()
    this.kv = kv
    const consensusStore = new ConsensusStore({ kv })
    const lastRecorded = await consensusStore.lastBlock()
    if (lastRecorded !== undefined && typeof lastRecorded.timeSec !== 'number') {
      // blocks written before block time was named timeSec (7477180): their ids no longer match
      throw new ConfigError(`the data folder ${join(this.options.home, HOME_FILES.db)} was written by an earlier fedledger version (its blocks have no timeSec); start this validator from a new folder`)
    }
    const first: ValidatorInfo[] = genesis.validators.map((v) => ({ id: v.id, publicKey: v.publicKey }))
    let app: App
    if (config.app === 'ledger') {
      this.chain = new ChainStore({ kv })
      app = await LedgerApp.open({ store: this.chain, now: () => Date.now() }, genesis)
    } else {
      // a noop app executes nothing: its height is that of the last recorded block
      app = new NoopApp(first, (await consensusStore.lastBlock())?.height ?? 0)
    }
    this.app = app

    // blocks consensus committed that the ledger had not executed when the node stopped
    for (const b of await consensusStore.blocksFrom(app.height() + 1)) {
      if (b.height !== app.height() + 1) break
      logger.info({ height: b.height }, 'executing a committed block recorded before the restart')
      await app.commit(b)
    }

    let record: EpochRecord = (await consensusStore.epoch()) ?? { epoch: 0, validators: first, genesis: makeGenesis(0, first.length), lastHeight: finiteOr(app.lastHeight(0)) }
    let safety = await consensusStore.safety()
    if (record.lastHeight >= 0 && app.height() >= record.lastHeight) {
      // the epoch's last block was executed, the next epoch was not recorded yet
      const last = await consensusStore.blockAt(record.lastHeight)
      if (last === undefined) throw new Error(`epoch ${record.epoch} ended at ${record.lastHeight} but its last block is not recorded`)
      record = nextEpochRecord(app, record.epoch, last)
      await consensusStore.saveEpoch(record, undefined, epochChange(app, record.epoch, last.height))
      safety = undefined
    }
    const committedBlock = await consensusStore.blockAt(app.height())
    const history = (await consensusStore.blocksFrom(Math.max(0, app.height() - 200))).filter((b: Block) => b.epoch === record.epoch)
    const peerIdOf = (v: ValidatorInfo) => peerIdOfPublicKey(v.publicKey)
    const setup = epochSetup(record, peerIdOf)
    this.epochs = new Epochs(
      { signer: (index) => ed25519Signer(index, key.secretKey), mempool: app.mempool },
      {
        self: this.peerId,
        setup,
        safety: safety?.epoch === record.epoch ? safety : undefined,
        committed: committedBlock !== undefined && committedBlock.epoch === record.epoch && committedBlock.height >= record.genesis.height ? committedBlock : undefined,
        history,
        pending: safety?.epoch === record.epoch ? await consensusStore.pending() : [],
        proofs: await consensusStore.proofs(),
        replica: { baseTimeoutMs: config.consensus.baseTimeoutMs, maxTimeoutMs: config.consensus.maxTimeoutMs, maxBatch: config.consensus.maxBatch, maxBatchBytes: config.consensus.maxBatchBytes, emptyBlockIntervalMs: config.consensus.emptyBlockIntervalMs },
      },
    )
    this.metrics.setEpoch(record.epoch)
    this.metrics.setCommittedHeight(app.height())

    this.host = new P2PHost({ privateKey: await peerKeyFromSeed(key.secretKey), logger: logger.child({ module: 'p2p' }) }, { listen: config.listen, peers: config.peers })
    this.host.onPeer(() => this.metrics.setPeers(this.host?.connectedPeers().length ?? 0))
    await this.host.start()

    const chainId = genesis.chainId
    // the ledger's transactions travel in gossip batches; a noop app's commands stay where they were submitted
    const txs = app instanceof LedgerApp ? new TxGossip({ host: this.host, app, logger: logger.child({ module: 'tx-gossip' }), onAdmitted: () => this.driver?.commandsAvailable() }, { chainId }) : undefined
    // a divergence found before the driver runs (votes arrive as soon as the network is up) halts it once it exists
    let divergence: StateDivergenceError | undefined
    const certification = new Certification(
      { self: this.peerId, signer: (index) => ed25519Signer(index, key.secretKey), host: this.host, store: consensusStore, metrics: this.metrics, logger: logger.child({ module: 'certification' }), now: () => Date.now(), onDiverged: (e) => (this.driver === null ? (divergence = e) : this.driver.halt(e)) },
      // the genesis hash is the state root at height 0 (a noop node has the same genesis file)
      { network: { chain: chainId, genesis: genesisState(genesis).root } },
    )
    this.certification = certification
    certification.addEpoch(setup)
    await certification.start()
    // heights executed before a restart whose certificate this node never saw: vote again (peers may be waiting for it)
    for (let h = Math.max(certification.certifiedHeight(), app.height() - 64) + 1; h <= app.height(); h++) {
      const header = await this.executedAt(consensusStore, h)
      if (header?.epoch === record.epoch) certification.executed(header)
    }
    const epochs = this.epochs
    const byzantine = config.byzantine === undefined || config.byzantine.length === 0 ? undefined
      : new Byzantine({ signer: ed25519Signer(0, key.secretKey), validators: () => epochs.setup.validators, self: this.peerId, logger: logger.child({ module: 'byzantine' }) }, config.byzantine)
    if (byzantine !== undefined) logger.warn({ behaviours: config.byzantine }, 'this validator is Byzantine on purpose (testnet fault injection)')
    this.driver = new ConsensusDriver({ epochs: this.epochs, store: consensusStore, app, host: this.host, txs, misbehave: byzantine === undefined ? undefined : (o) => byzantine.apply(o), certification, peerIdOf, metrics: this.metrics, logger: logger.child({ module: 'consensus' }), now: () => Date.now(), onCommitted: this.options.onCommitted, onFatal: (e) => this.options.onFatal?.(e) }, { chainId, emptyBlockIntervalMs: config.consensus.emptyBlockIntervalMs })
    await this.driver.start()
    if (divergence !== undefined) this.driver.halt(divergence)

    const commits: CommitSource = { certifiedHeight: () => certification.certifiedHeight(), certificate: (h) => certification.certificate(h), epochChange: (e) => consensusStore.epochChange(e) }
    // testnet fault injection: this validator's API lies in its proofs (light clients must catch it)
    const lies = config.byzantine?.includes('lying-api') === true ? new ProofLies() : undefined
    if (this.chain !== null && app instanceof LedgerApp) {
      const ledger = app
      this.api = new ApiServer(
        { queries: new LedgerQueries({ store: this.chain, state: () => ledger.state, snapshots: ledger }), submit: (bytes) => this.submit(bytes), submitRefusal: () => this.submitRefusal(), status: () => this.status(), registry: this.registry, metrics: this.metrics, logger: logger.child({ module: 'api' }), admin: config.api.admin ? this.host : undefined, ...(lies === undefined ? {} : { lies }), blocks: ledger, commits },
        { host: config.api.host, port: config.api.port },
      )
    } else {
      this.api = new ApiServer(
        { queries: new LedgerQueries({ store: new ChainStore({ kv }), state: () => { throw new LedgerError('NOT_FOUND', 'a noop node keeps no ledger state') } }), submit: (bytes) => this.submit(bytes), status: () => this.status(), registry: this.registry, metrics: this.metrics, logger: logger.child({ module: 'api' }), admin: config.api.admin ? this.host : undefined, ...(lies === undefined ? {} : { lies }), commits },
        { host: config.api.host, port: config.api.port },
      )
    }
    await this.api.start()
    logger.info({ id: config.id, peerId: this.peerId, api: this.api.address().url, p2p: this.host.addresses(), epoch: record.epoch, height: app.height() }, 'validator started')
  }

  async stop(): Promise<void> {
    await this.api?.stop()
    await this.driver?.stop()
    await this.certification?.stop()
    await this.host?.stop()
    await this.kv?.close()
    this.api = this.driver = this.certification = this.host = null
    this.kv = null
  }

  /** What this node's execution of height `h` gave, rebuilt from its stores (undefined: a block it no longer keeps). */
  private async executedAt(consensusStore: ConsensusStore, h: number): Promise<ExecutedHeight | undefined> {
    const block = await consensusStore.blockAt(h)
    if (block === undefined) return undefined
    if (this.chain === null) return { epoch: block.epoch, height: h, block: blockId(block), ledgerBlock: null, stateRoot: blockId(block) }
    const commit = await this.chain.commitAt(h)
    return commit === undefined ? undefined : { epoch: block.epoch, height: h, block: blockId(block), ledgerBlock: commit.block, stateRoot: commit.stateRoot }
  }

  async submit(bytes: Uint8Array): Promise<{ id: string }> {
    if (this.driver === null) throw new SubmitError('not-ready', 'NOT_READY', 'the node is not running')
    const r = await this.driver.submit(bytes)
    if (r.ok) return { id: r.id }
    throw submitError(r)
  }

  /** The refusal any client's transaction would get now (the node is full), if any: the API then refuses a whole batch unread. */
  submitRefusal(): SubmitError | undefined {
    const r = this.app instanceof LedgerApp ? this.app.clientRefusal() : undefined
    return r === undefined || r.ok ? undefined : submitError(r)
  }

  /** Commands generated inside the node (benchmarks): into the mempool, no gossip. */
  submitLocal(commands: readonly Uint8Array[]): number {
    if (this.app === null || this.driver === null) return 0
    let added = 0
    for (const c of commands) if (this.app.submit(c, 'local').ok) added++
    if (added > 0) this.driver.commandsAvailable()
    return added
  }

  status(): NodeStatus {
    const replica = this.epochs?.replica ?? null
    const setup = this.epochs?.setup
    const index = setup?.validators.indexOf(this.peerId) ?? -1
    const leaderIndex = replica === null ? -1 : replica.leaderOf(replica.view)
    const ledger = this.app instanceof LedgerApp ? this.app : null
    return {
      chainId: this.options.genesis.chainId,
      validator: index < 0 ? null : { id: this.options.config.id, index },
      epoch: this.epochs?.epoch ?? 0,
      view: replica?.view ?? 0,
      leader: leaderIndex < 0 || setup === undefined ? null : { id: setup.validators[leaderIndex]!, index: leaderIndex },
      committedHeight: this.app?.height() ?? 0,
      committedBlock: null,
      stateRoot: ledger?.state.root ?? new Uint8Array(32),
      peers: this.host?.connectedPeers().length ?? 0,
      mempoolSize: this.app?.mempoolSize() ?? 0,
      syncing: false,
      version: VERSION,
      lastCommitAt: this.driver?.lastCommitAt,
    }
  }
}

/** A refusal as the API throws it: "not now" ones (retryAfterMs) are 503 when the node is full, 429 when the sender is ahead of what it may have pending. */
function submitError(r: Extract<SubmitResult, { ok: false }>): SubmitError {
  const reason = r.retryAfterMs === undefined ? 'rejected' : r.code === 'FULL' ? 'mempool-full' : 'rate-limited'
  return new SubmitError(reason, r.code, r.message, { retryAfterSeconds: r.retryAfterMs === undefined ? undefined : r.retryAfterMs / 1000 })
}
