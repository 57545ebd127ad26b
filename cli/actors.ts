/**
 * Running a federation actor as a process: a participant peer
 * (`fedledger participant run`) or an enclave host (`fedledger enclave host`),
 * wired from a testnet folder (testnet.json, keys) and its federation.json.
 * Each runs until SIGINT/SIGTERM (or the signal given), then stops in reverse
 * order: actor, libp2p host, enclave child.
 */
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CasBlockstore, genesisState, MemoryKeyValueStore } from '../ledger/index.ts'
import { cryptoRng, FileUpdateTrainer, poison, type Trainer } from '../participant/index.ts'
import { readDataFile } from '../node/data/index.ts'
import { readTestnetFile } from '../testnet/index.ts'
import { readGenesis, readKeyFile, type Logger } from '../node/index.ts'
import { ProcessEnclave } from '../node/enclave/index.ts'
import { ApiClient, VerifiedReader } from '../node/api/index.ts'
import { LightClient } from '../light/index.ts'
import { bankSetup, modelOf, EnclaveHost, ParticipantPeer, readFederationFile, readSeed, type FederationFile } from '../node/federation/index.ts'
import { P2PHost, peerIdOfPublicKey, peerKeyFromSeed } from '../node/p2p/index.ts'
import { pino } from 'pino'
import type { CliIo } from './io.ts'

/** What ProcessEnclave runs for enclave `enclave` of the testnet in `testnet`: this CLI's enclave entry with `serve`. */
export function enclaveServeArgv(testnet: string, enclave: string, extra: readonly string[] = []): string[] {
  return [fileURLToPath(new URL('./enclave-main.ts', import.meta.url)), 'serve', '--testnet', testnet, '--enclave', enclave, ...extra]
}

/** The process's pino logger: JSON lines on the command's output (the runner keeps them in the actor's log file). */
function actorLogger(io: CliIo, bindings: Record<string, unknown>): Logger {
  return pino({ base: bindings }, { write: (line: string) => io.out(line.replace(/\n$/, '')) })
}

/** A libp2p message limit that fits a model of up to ~10^6 float32 values plus framing. */
const MAX_MESSAGE_BYTES = 8 * 1024 * 1024

interface Context {
  dir: string
  fed: FederationFile
  ledger: ApiClient
  memberPeers: string[]
  /** the hash of the testnet's genesis.json, which its banks pin */
  genesisHash: Uint8Array
  /** a reader that verifies what it reads against that genesis, asking each validator in turn */
  verified: (logger: Logger) => VerifiedReader
}

async function context(dirArg: string, io: CliIo): Promise<Context> {
  const dir = resolve(io.cwd, dirArg)
  const [testnet, fed, genesis] = await Promise.all([readTestnetFile(dir), readFederationFile(dir), readGenesis(dir)])
  const ledger = new ApiClient({ apis: testnet.validators.map((v) => v.api) })
  const keys = await Promise.all(testnet.members.map((m) => readKeyFile(join(dir, m.key))))
  const genesisHash = genesisState(genesis).root
  const apis = testnet.validators.map((v) => v.api)
  const verified = (logger: Logger) => new VerifiedReader({ light: LightClient.fromGenesis(genesis, genesisHash), logger }, { apis })
  return { dir, fed, ledger, memberPeers: keys.map((k) => peerIdOfPublicKey(k.publicKey)), genesisHash, verified }
}

function untilSignal(signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      process.off('SIGINT', finish)
      process.off('SIGTERM', finish)
      done()
    }
    process.once('SIGINT', finish)
    process.once('SIGTERM', finish)
    signal?.addEventListener('abort', finish, { once: true })
  })
}

export interface ParticipantRunOptions {
  testnet: string
  member: string
  csv?: { path: string; labelColumn?: number | string }
  /** a bank that trains elsewhere: each round submits this little-endian float32 file as it is then */
  updateFile?: string
  /** a sim-v1 revocation list, read afresh before each round's attestation check */
  revocationList?: string
  signal?: AbortSignal
}

/** A trainer that reads the bank's update file afresh each round (FileUpdateTrainer checks length and values). */
function fileTrainer(path: string, dimension: number): Trainer {
  return {
    dimension,
    async train(base, config, rng, options) {
      const bytes = await readDataFile(path, 'update file', options?.signal)
      return new FileUpdateTrainer(bytes, { dimension }).train(base, config, rng, options)
    },
  }
}

export async function runParticipant(opts: ParticipantRunOptions, io: CliIo): Promise<number> {
  const ctx = await context(opts.testnet, io)
  const { fed } = ctx
  const key = await readKeyFile(join(ctx.dir, 'members', `${opts.member}.json`))
  const setup = opts.updateFile === undefined ? await bankSetup(fed, opts.member, { csv: opts.csv, signal: opts.signal }) : undefined
  const trainer = setup?.trainer ?? fileTrainer(resolve(io.cwd, opts.updateFile!), modelOf(fed.model).dimension)
  const hostAddr = `${fed.enclave.host.listen}/p2p/${fed.enclave.host.peerId}`
  const coordinatorAddr = `${fed.coordinator.listen}/p2p/${fed.coordinator.peerId}`
  const logger = actorLogger(io, { member: opts.member })
  const host = new P2PHost({ privateKey: await peerKeyFromSeed(key.secretKey), logger: logger.child({ module: 'p2p' }) }, { listen: '/ip4/127.0.0.1/tcp/0', peers: [hostAddr, coordinatorAddr], allowedPeers: [fed.enclave.host.peerId, fed.coordinator.peerId], maxMessageBytes: MAX_MESSAGE_BYTES })
  const byzantine = fed.byzantine[opts.member]
  const peer = new ParticipantPeer(
    {
      ledger: ctx.ledger,
      verified: ctx.verified(logger),
      host,
      store: new CasBlockstore({ kv: new MemoryKeyValueStore() }),
      trainer,
      rng: cryptoRng(),
      logger,
      ...(opts.revocationList === undefined ? {} : { revocationList: ((path: string) => () => readDataFile(path, 'revocation list', opts.signal))(resolve(io.cwd, opts.revocationList)) }),
    },
    {
      chainId: fed.chainId,
      genesisHash: ctx.genesisHash,
      member: opts.member,
      secretKey: key.secretKey,
      enclavePeer: fed.enclave.host.peerId,
      providers: [fed.enclave.host.peerId, fed.coordinator.peerId],
      ...(byzantine === undefined ? {} : { tamper: (u: Float32Array) => poison(u, 'sign-flip', { factor: 10 }) }),
    },
  )
  await host.start()
  try {
    await peer.start()
    const source = setup === undefined ? `updates from ${opts.updateFile}` : `${setup.data.n} examples, model ${setup.model.name}`
    logger.info({ source, parameters: trainer.dimension, ...(byzantine === undefined ? {} : { byzantine }), chainId: fed.chainId }, 'participant peer started; following the chain')
    await untilSignal(opts.signal)
    await peer.stop()
  } finally {
    await host.stop()
  }
  return 0
}

export interface EnclaveHostRunOptions {
  testnet: string
  /** worker threads of the enclave child for Multi-Krum distances */
  threads?: number
  signal?: AbortSignal
}

export async function runEnclaveHost(opts: EnclaveHostRunOptions, io: CliIo): Promise<number> {
  const ctx = await context(opts.testnet, io)
  const { fed } = ctx
  const seed = await readSeed(join(ctx.dir, fed.enclave.host.key))
  const enclave = new ProcessEnclave({ argv: enclaveServeArgv(ctx.dir, fed.enclave.id, opts.threads ? ['--threads', String(opts.threads)] : []), onLog: (line) => io.err(line) })
  const coordinatorAddr = `${fed.coordinator.listen}/p2p/${fed.coordinator.peerId}`
  const logger = actorLogger(io, { enclaveHost: fed.enclave.id })
  const p2p = new P2PHost({ privateKey: await peerKeyFromSeed(seed), logger: logger.child({ module: 'p2p' }) }, { listen: fed.enclave.host.listen, peers: [coordinatorAddr], allowedPeers: [...ctx.memberPeers, fed.coordinator.peerId], maxMessageBytes: MAX_MESSAGE_BYTES })
  const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
  const host = new EnclaveHost({ ledger: ctx.ledger, verified: ctx.verified(logger), enclave, host: p2p, store, logger }, { chainId: fed.chainId, enclaveId: fed.enclave.id, providers: [fed.coordinator.peerId] })
  await enclave.start()
  try {
    await p2p.start()
    try {
      await host.start()
      logger.info({ listen: `${fed.enclave.host.listen}/p2p/${fed.enclave.host.peerId}`, enclavePid: enclave.pid ?? null }, 'enclave host started')
      await untilSignal(opts.signal)
      await host.stop()
    } finally {
      await p2p.stop()
    }
  } finally {
    await enclave.stop()
  }
  return 0
}
