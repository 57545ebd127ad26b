/**
 * `generateTestnet`: keys, configs and a shared genesis for N validators on
 * 127.0.0.1, plus the consortium's member, authority and enclave keys and a
 * testnet.json manifest (see layout.ts). Ports are learned free unless given.
 * An existing testnet is replaced only with `force` and only while none of its
 * validators runs; a non-empty folder that is not a testnet is never touched.
 */
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { peerIdOf, peerKeyFromSeed } from '../node/p2p/index.ts'
import { writeGenesis, writeKey, writeKeyFile, writeNodeConfig, type NodeConfigInput } from '../node/index.ts'
import { genesisState, Identifier, isLedgerError } from '../ledger/index.ts'
import { generateKeyPair, toHex } from '../primitives/index.ts'
import { buildConsortium } from './consortium.ts'
import { TestnetError } from './errors.ts'
import { AUTHORITIES_DIR, ENCLAVES_DIR, MEMBERS_DIR, readTestnetFile, TESTNET_FILE, writeTestnetFile, type TestnetFile } from './layout.ts'
import { checkPortsFree, freePorts, LOOPBACK } from './ports.ts'
import { runningPid } from './process.ts'
import type { ByzantineBehaviour } from '../node/index.ts'

export const MAX_VALIDATORS = 100
export const DEFAULT_CHAIN_ID = 'fedledger-testnet'

export interface GenerateOptions {
  dir: string
  /** number of validators, 1..MAX_VALIDATORS */
  validators: number
  chainId?: string
  /** validator i listens for p2p on basePort + i (default: free ports) */
  basePort?: number
  /** validator i serves its API on apiBasePort + i (default: basePort + validators, or free ports) */
  apiBasePort?: number
  app?: 'ledger' | 'noop'
  consensus?: NodeConfigInput['consensus']
  logLevel?: NonNullable<NodeConfigInput['log']>['level']
  /** blocks per epoch (default 1000) */
  epochLength?: number
  /** validators that misbehave on purpose, by index (fault-injection tests; node/byzantine.ts) */
  byzantine?: Readonly<Record<number, readonly ByzantineBehaviour[]>>
  /** load senders for throughput benchmarks (see ConsortiumOptions.loadSenders; default none) */
  loadSenders?: number
  /** participant banks (default bank-a … bank-d), every bank's ε cap (default 4) and particular caps */
  banks?: readonly string[]
  epsilon?: number
  epsilonCaps?: Readonly<Record<string, number>>
  /** replace an existing testnet in `dir` (refused while its validators run) */
  force?: boolean
}

export async function generateTestnet(opts: GenerateOptions): Promise<TestnetFile> {
  const n = opts.validators
  if (!Number.isInteger(n) || n < 1 || n > MAX_VALIDATORS) throw new TestnetError('INVALID_ARGUMENT', `validators must be an integer in 1..${MAX_VALIDATORS}, got ${n}`)
  const chainId = opts.chainId ?? DEFAULT_CHAIN_ID
  if (!Identifier.safeParse(chainId).success) throw new TestnetError('INVALID_ARGUMENT', `chain id '${chainId}' is not valid: letters, digits and . _ : - (starting with a letter or digit)`)
  const dir = resolve(opts.dir)
  await prepareDir(dir, opts.force ?? false)
  const { p2pPorts, apiPorts } = await assignPorts(n, opts.basePort, opts.apiBasePort)

  const created: string[] = []
  try {
    const validators = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const key = generateKeyPair()
        const peerId = peerIdOf(await peerKeyFromSeed(key.secretKey))
        const listen = `/ip4/${LOOPBACK}/tcp/${p2pPorts[i]!}`
        const apiPort = apiPorts[i]!
        return { index: i, id: `validator-${i}`, key, peerId, home: `v${i}`, listen, p2p: `${listen}/p2p/${peerId}`, apiPort, api: `http://${LOOPBACK}:${apiPort}` }
      }),
    )
    const consortium = buildConsortium({ chainId, validators: validators.map((v) => ({ id: v.id, publicKey: v.key.publicKey })), epochLength: opts.epochLength, loadSenders: opts.loadSenders, banks: opts.banks, epsilon: opts.epsilon, epsilonCaps: opts.epsilonCaps })
    try {
      genesisState(consortium.genesis)
    } catch (e) {
      if (isLedgerError(e)) throw new TestnetError('INVALID_ARGUMENT', `the generated genesis is refused: ${e.message}`, { cause: e })
      throw e
    }

    created.push('genesis.json')
    await writeGenesis(dir, consortium.genesis)
    for (const v of validators) {
      const home = join(dir, v.home)
      created.push(v.home)
      await mkdir(home, { recursive: true, mode: 0o700 })
      await writeKey(home, { id: v.id, publicKey: v.key.publicKey, secretKey: v.key.secretKey })
      await writeGenesis(home, consortium.genesis)
      await writeNodeConfig(home, {
        id: v.id,
        listen: v.listen,
        peers: validators.filter((o) => o !== v).map((o) => o.p2p),
        api: { host: LOOPBACK, port: v.apiPort, admin: true },
        consensus: opts.consensus ?? {},
        app: opts.app ?? 'ledger',
        log: { level: opts.logLevel ?? 'info' },
        ...(opts.byzantine?.[v.index] === undefined ? {} : { byzantine: [...opts.byzantine[v.index]!] }),
      })
    }
    created.push(MEMBERS_DIR, AUTHORITIES_DIR, ENCLAVES_DIR)
    const keyPath = (folder: string, id: string) => join(folder, `${id}.json`)
    for (const m of consortium.members) await writeKeyFile(join(dir, keyPath(MEMBERS_DIR, m.id)), { id: m.id, ...m.key })
    for (const a of consortium.authorities) await writeKeyFile(join(dir, keyPath(AUTHORITIES_DIR, a.id)), { id: a.id, ...a.key })
    for (const e of consortium.enclaves) await writeKeyFile(join(dir, keyPath(ENCLAVES_DIR, e.id)), { id: e.id, ...e.key })

    const file: TestnetFile = {
      version: 1,
      chainId,
      app: opts.app ?? 'ledger',
      createdAt: new Date().toISOString(),
      genesis: 'genesis.json',
      validators: validators.map(({ key, ...v }) => ({ ...v, publicKey: toHex(key.publicKey) })),
      members: consortium.members.map((m) => ({ id: m.id, roles: m.roles, key: keyPath(MEMBERS_DIR, m.id) })),
      authorities: consortium.authorities.map((a) => ({ id: a.id, purpose: a.purpose, key: keyPath(AUTHORITIES_DIR, a.id) })),
      enclaves: consortium.enclaves.map((e) => ({ id: e.id, platform: e.platform, measurement: e.measurement, key: keyPath(ENCLAVES_DIR, e.id) })),
    }
    created.push(TESTNET_FILE)
    await writeTestnetFile(dir, file)
    return file
  } catch (e) {
    await Promise.all(created.map((entry) => rm(join(dir, entry), { recursive: true, force: true })))
    throw e
  }
}

/** Makes `dir` ready for a new testnet: absent or empty, or (with force) an old testnet whose files are removed. */
async function prepareDir(dir: string, force: boolean): Promise<void> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'ENOENT') throw new TestnetError('INVALID_ARGUMENT', `cannot use ${dir}: ${code ?? (e as Error).message}`)
    await mkdir(dir, { recursive: true })
    return
  }
  if (entries.length === 0) return
  if (!entries.includes(TESTNET_FILE)) throw new TestnetError('NOT_EMPTY', `${dir} is not empty and holds no testnet; choose a new or empty folder`)
  if (!force) throw new TestnetError('EXISTS', `${dir} already holds a testnet; pass --force to replace it`)
  let homes: string[]
  try {
    const old = await readTestnetFile(dir)
    homes = old.validators.map((v) => v.home)
  } catch {
    homes = entries.filter((e) => /^v\d+$/.test(e))
  }
  const running: string[] = []
  for (const h of homes) if ((await runningPid(resolve(dir, h))) !== null) running.push(h)
  if (running.length > 0) throw new TestnetError('ALREADY_RUNNING', `validators ${running.join(', ')} in ${dir} are running; run 'fedledger testnet down' first`)
  for (const entry of [...homes, 'genesis.json', MEMBERS_DIR, AUTHORITIES_DIR, ENCLAVES_DIR, TESTNET_FILE]) {
    await rm(resolve(dir, entry), { recursive: true, force: true })
  }
}

async function assignPorts(n: number, basePort?: number, apiBasePort?: number): Promise<{ p2pPorts: number[]; apiPorts: number[] }> {
  const range = (base: number) => Array.from({ length: n }, (_, i) => base + i)
  const fixedP2p = basePort === undefined ? undefined : range(basePort)
  const apiBase = apiBasePort ?? (basePort === undefined ? undefined : basePort + n)
  const fixedApi = apiBase === undefined ? undefined : range(apiBase)
  await checkPortsFree([...(fixedP2p ?? []), ...(fixedApi ?? [])])
  const fixed = new Set([...(fixedP2p ?? []), ...(fixedApi ?? [])])
  // a learned port may coincide with a given one (closed again after its check): learn extra, skip those
  const free = (await freePorts((fixedP2p ? 0 : n) + (fixedApi ? 0 : n) + fixed.size)).filter((p) => !fixed.has(p))
  return { p2pPorts: fixedP2p ?? free.splice(0, n), apiPorts: fixedApi ?? free.splice(0, n) }
}
