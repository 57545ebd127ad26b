/**
 * `fedledger init --home DIR`: makes a validator home folder (node/config.ts):
 * an ed25519 key (kept if DIR already has one), config.json, and genesis.json —
 * either copied from `--genesis FILE` or a new single-validator chain whose one
 * governor/coordinator member key is written to DIR/keys/operator.json.
 */
import { access, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import * as dagJson from '@ipld/dag-json'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { genesisState, GenesisSchema, Identifier, type Genesis } from '../ledger/index.ts'
import { generateKeyPair, toHex } from '../primitives/index.ts'
import { ConfigError, HOME_FILES, readKey, readKeyFile, writeGenesis, writeKey, writeKeyFile, writeNodeConfig, type ValidatorKey } from '../node/index.ts'
import { peerIdOf, peerKeyFromSeed } from '../node/p2p/index.ts'
import { type Command, numberOption, parseOptions, UsageError } from './io.ts'

export const DEFAULT_LISTEN = '/ip4/127.0.0.1/tcp/26656'
export const DEFAULT_API_PORT = 26657
export const DEFAULT_LOCAL_CHAIN = 'fedledger-local'
const OPERATOR_KEY = join('keys', 'operator.json')

const usage = `usage: fedledger init --home DIR [options]

Creates a validator home: keys/validator.json (kept if present), config.json, genesis.json.
  --id ID            validator id (default: the id the genesis gives this key, else validator-0)
  --chain-id ID      chain id of a new single-validator genesis (default ${DEFAULT_LOCAL_CHAIN})
  --genesis FILE     copy this genesis (DAG-JSON) instead of creating a single-validator one
  --listen ADDR      libp2p listen multiaddr (default ${DEFAULT_LISTEN})
  --api-port P       HTTP API port on 127.0.0.1 (default ${DEFAULT_API_PORT})
  --peers A,B        the other validators: multiaddrs ending in /p2p/<peer id>
  --app ledger|noop  execute ledger transactions, or order opaque commands only (default ledger)
  --force            overwrite an existing config.json and genesis.json`

const exists = (path: string) => access(path).then(() => true, () => false)

export const initCommand: Command = {
  summary: 'create a validator home folder: key, config and genesis',
  usage,
  async run(argv, io) {
    const { values } = parseOptions(
      argv,
      {
        home: { type: 'string' }, id: { type: 'string' }, 'chain-id': { type: 'string' }, genesis: { type: 'string' }, listen: { type: 'string' },
        'api-port': { type: 'string' }, peers: { type: 'string' }, app: { type: 'string' }, force: { type: 'boolean' },
      },
      false,
    )
    if (values.home === undefined) throw new UsageError('--home DIR is required')
    const home = resolve(io.cwd, values.home)
    if (values.id !== undefined && !Identifier.safeParse(values.id).success) throw new UsageError(`--id '${values.id}' is not a valid id (letters, digits and . _ : -)`)
    if (values['chain-id'] !== undefined && values.genesis !== undefined) throw new UsageError('--chain-id only applies to a new genesis, not with --genesis')
    const chainId = values['chain-id'] ?? DEFAULT_LOCAL_CHAIN
    if (!Identifier.safeParse(chainId).success) throw new UsageError(`--chain-id '${chainId}' is not a valid id (letters, digits and . _ : -)`)
    const apiPort = numberOption('api-port', values['api-port'], { integer: true, min: 1 }) ?? DEFAULT_API_PORT
    if (apiPort > 65535) throw new UsageError(`--api-port must be at most 65535, got '${apiPort}'`)
    const app = values.app ?? 'ledger'
    if (app !== 'ledger' && app !== 'noop') throw new UsageError(`--app must be ledger or noop, got '${app}'`)
    const listen = values.listen ?? DEFAULT_LISTEN
    checkAddr('--listen', listen, false)
    const peers = values.peers === undefined ? [] : values.peers.split(',').map((p) => p.trim()).filter((p) => p !== '')
    for (const p of peers) checkAddr('--peers', p, true)

    for (const f of [HOME_FILES.config, HOME_FILES.genesis]) {
      if (!values.force && (await exists(join(home, f)))) throw new ConfigError(`${join(home, f)} exists; pass --force to overwrite it (the key is kept)`)
    }
    const genesis = values.genesis === undefined ? undefined : await readGenesisFile(resolve(io.cwd, values.genesis))

    // the key: kept if the home has one
    let key: ValidatorKey
    const keptKey = await exists(join(home, HOME_FILES.key))
    if (keptKey) {
      key = await readKey(home)
    } else {
      const pair = generateKeyPair()
      key = { id: values.id ?? 'validator-0', publicKey: pair.publicKey, secretKey: pair.secretKey }
    }
    // the id: what the genesis says for this key, else --id, else the key file's
    const inGenesis = genesis?.validators.find((v) => toHex(v.publicKey) === toHex(key.publicKey))
    if (inGenesis && values.id !== undefined && values.id !== inGenesis.id) throw new ConfigError(`the genesis names this key '${inGenesis.id}', not '${values.id}'`)
    const id = inGenesis?.id ?? values.id ?? key.id
    if (keptKey && id !== key.id) throw new ConfigError(`${join(home, HOME_FILES.key)} belongs to '${key.id}', not '${id}'`)
    if (!keptKey) await writeKey(home, key)

    let genesisNote: string
    if (genesis !== undefined) {
      await writeGenesis(home, genesis)
      genesisNote = `copied from ${values.genesis} (chain ${genesis.chainId}, ${genesis.validators.length} validators)`
      if (inGenesis === undefined) io.err(`fedledger init: note: this key (${toHex(key.publicKey)}) is not among the genesis validators; the node will not vote`)
    } else {
      const operator = await operatorKey(home)
      const single: Genesis = {
        chainId,
        epochLength: 1000,
        governanceThreshold: 1,
        revocationAuthorities: {},
        attestation: { formats: [], measurements: [] },
        validators: [{ id, publicKey: key.publicKey, power: 1 }],
        members: [{ id: 'operator', org: 'operator', roles: ['governor', 'coordinator'], publicKey: operator.publicKey }],
      }
      genesisState(single)
      await writeGenesis(home, single)
      genesisNote = `new single-validator chain ${chainId}; member 'operator' (governor, coordinator) key in ${join(home, OPERATOR_KEY)}`
    }
    await writeNodeConfig(home, { id, listen, peers, api: { host: '127.0.0.1', port: apiPort }, app })

    const peerId = peerIdOf(await peerKeyFromSeed(key.secretKey))
    io.out(`initialized ${home}`)
    io.out(`  id          ${id}${keptKey ? ' (existing key)' : ''}`)
    io.out(`  public key  ${toHex(key.publicKey)}`)
    io.out(`  peer id     ${peerId}`)
    io.out(`  p2p         ${listen}/p2p/${peerId}`)
    io.out(`  api         http://127.0.0.1:${apiPort}`)
    io.out(`  genesis     ${genesisNote}`)
    io.out(`start it with: fedledger node start --home ${home}`)
    return 0
  },
}

function checkAddr(option: string, text: string, needPeer: boolean): void {
  let peer: string | undefined
  try {
    peer = multiaddr(text).getComponents().findLast((c) => c.name === 'p2p')?.value
  } catch {
    throw new UsageError(`${option}: '${text}' is not a multiaddr`)
  }
  if (needPeer && peer === undefined) throw new UsageError(`${option}: '${text}' has no /p2p/<peer id> at the end`)
  if (!needPeer && peer !== undefined) throw new UsageError(`${option}: '${text}' must not name a peer id`)
}

async function readGenesisFile(path: string): Promise<Genesis> {
  let raw: Uint8Array
  try {
    raw = await readFile(path)
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
  }
  let genesis: Genesis
  try {
    genesis = GenesisSchema.parse(dagJson.decode(raw))
  } catch (e) {
    const issues = e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') : (e as Error).message
    throw new ConfigError(`${path} is not a genesis (DAG-JSON): ${issues}`)
  }
  genesisState(genesis) // a LedgerError names what is wrong
  return genesis
}

/** The operator member key of a single-validator genesis: kept if present. */
async function operatorKey(home: string): Promise<ValidatorKey> {
  const path = join(home, OPERATOR_KEY)
  if (await exists(path)) return readKeyFile(path)
  const pair = generateKeyPair()
  const key = { id: 'operator', publicKey: pair.publicKey, secretKey: pair.secretKey }
  await writeKeyFile(path, key)
  return key
}
