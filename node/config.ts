/**
 * A validator's home folder and its files, as `fedledger init` and
 * `fedledger testnet up` write them and `fedledger node start` reads them:
 *
 *   <home>/config.json          NodeConfig (JSON): listen address, peers, API, consensus options
 *   <home>/genesis.json         the ledger genesis in DAG-JSON (bytes as {"/":{"bytes":…}})
 *   <home>/keys/validator.json  the validator's ed25519 key (mode 0600); it is also the
 *                               libp2p identity, so a validator's peer id follows from its key
 *   <home>/db/                  level database (blocks, receipts, state, consensus records)
 *   <home>/node.pid, node.log   written by the testnet runner
 */
import { CodedError, fromHex, toHex } from '../primitives/index.ts'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import * as dagJson from '@ipld/dag-json'
import { z } from 'zod'
import { GenesisSchema, type Genesis } from '../ledger/index.ts'
import { REPO_DB_DIR } from './repo.ts'
import { BYZANTINE_BEHAVIOURS } from './byzantine.ts'

export const HOME_FILES = {
  config: 'config.json',
  genesis: 'genesis.json',
  key: join('keys', 'validator.json'),
  db: REPO_DB_DIR,
  pid: 'node.pid',
  log: 'node.log',
} as const

export const NodeConfigSchema = z.strictObject({
  /** this validator's id in the genesis validator list */
  id: z.string().min(1),
  /** libp2p listen multiaddr, e.g. /ip4/127.0.0.1/tcp/26656 */
  listen: z.string().min(1),
  /** the other validators: multiaddrs ending in /p2p/<peer id> */
  peers: z.array(z.string()).default([]),
  api: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535),
    /** testnets only: POST /v1/admin/block|unblock (partitions by connection gating) */
    admin: z.boolean().default(false),
  }),
  consensus: z
    .strictObject({
      baseTimeoutMs: z.number().int().positive().default(1000),
      maxTimeoutMs: z.number().int().positive().default(30_000),
      maxBatch: z.number().int().positive().default(400),
      maxBatchBytes: z.number().int().positive().default(1024 * 1024),
      /** propose an empty block when the chain has been idle this long (ms; 0 = never), so deadline heights keep coming */
      emptyBlockIntervalMs: z.number().int().nonnegative().default(0),
    })
    .prefault({}),
  /** 'ledger' executes transactions; 'noop' orders opaque commands only (the HotStuff paper's benchmark workload) */
  app: z.enum(['ledger', 'noop']).default('ledger'),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  /** testnets only: this validator misbehaves on purpose (node/byzantine.ts); refused unless api.admin is set too */
  byzantine: z.array(z.enum(BYZANTINE_BEHAVIOURS)).optional(),
}).refine((c) => c.byzantine === undefined || c.byzantine.length === 0 || c.api.admin, {
  message: 'byzantine is a testnet fault: it is refused unless api.admin (the testnet switch) is set too',
  path: ['byzantine'],
})
export type NodeConfig = z.output<typeof NodeConfigSchema>
export type NodeConfigInput = z.input<typeof NodeConfigSchema>

export const KeyFileSchema = z.strictObject({
  id: z.string().min(1),
  publicKey: z.string().regex(/^[0-9a-f]{64}$/),
  secretKey: z.string().regex(/^[0-9a-f]{64}$/),
})

export interface ValidatorKey {
  id: string
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/** A node home's file is missing, unreadable or invalid (or would be overwritten). */
export class ConfigError extends CodedError<'CONFIG'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options)
  }
}

/** What to do when a home's file cannot be read at all. */
const notAHome = (home: string) => `is ${home} a validator home? \`fedledger init --home ${home}\` creates one, \`fedledger testnet up\` a whole testnet`

export async function readNodeConfig(home: string): Promise<NodeConfig> {
  return parseFile(join(home, HOME_FILES.config), (raw) => NodeConfigSchema.parse(JSON.parse(raw)), notAHome(home))
}

export async function writeNodeConfig(home: string, config: NodeConfigInput): Promise<void> {
  await writeFileIn(join(home, HOME_FILES.config), JSON.stringify(NodeConfigSchema.parse(config), null, 2) + '\n')
}

const parseKeyFile = (raw: string): ValidatorKey => {
  const k = KeyFileSchema.parse(JSON.parse(raw))
  return { id: k.id, publicKey: fromHex(k.publicKey), secretKey: fromHex(k.secretKey) }
}
const keyFileBody = (key: ValidatorKey): string => JSON.stringify({ id: key.id, publicKey: toHex(key.publicKey), secretKey: toHex(key.secretKey) }, null, 2) + '\n'

/** A validator home's key (keys/validator.json). */
export async function readKey(home: string): Promise<ValidatorKey> {
  return parseFile(join(home, HOME_FILES.key), parseKeyFile, notAHome(home))
}

export async function writeKey(home: string, key: ValidatorKey): Promise<void> {
  await writeFileIn(join(home, HOME_FILES.key), keyFileBody(key), 0o600)
}

/**
 * Any key file of the validator key's shape ({id, publicKey, secretKey}, hex): a member's,
 * an authority's or an enclave's key in a testnet folder, or a key given by path.
 */
export async function readKeyFile(path: string): Promise<ValidatorKey> {
  return parseFile(path, (raw) => {
    try {
      return parseKeyFile(raw)
    } catch {
      throw new ConfigError(`${path} is not a key file ({id, publicKey, secretKey} in hex)`)
    }
  })
}

/** Writes a key file with mode 0600 (its folder 0700); an existing file is never overwritten (EEXIST). */
export async function writeKeyFile(path: string, key: ValidatorKey): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(path, keyFileBody(key), { mode: 0o600, flag: 'wx' })
}

export async function readGenesis(home: string): Promise<Genesis> {
  return parseFile(join(home, HOME_FILES.genesis), parseGenesis, notAHome(home))
}

/** A genesis file by path (DAG-JSON, as writeGenesis writes it). */
export async function readGenesisFile(path: string): Promise<Genesis> {
  return parseFile(path, parseGenesis)
}

function parseGenesis(raw: string): Genesis {
  return GenesisSchema.parse(dagJson.decode(new TextEncoder().encode(raw)))
}

export function genesisToJson(genesis: Genesis): string {
  return new TextDecoder().decode(dagJson.encode(GenesisSchema.parse(genesis))) + '\n'
}

export async function writeGenesis(home: string, genesis: Genesis): Promise<void> {
  await writeFileIn(join(home, HOME_FILES.genesis), genesisToJson(genesis))
}

/** Reads and parses one file; `hint` says what to do when it cannot be read at all. */
async function parseFile<T>(path: string, parse: (raw: string) => T, hint?: string): Promise<T> {
  let raw: string
  try {
    raw = await readFile(path, 'utf8')
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}${hint === undefined ? '' : `; ${hint}`}`, { cause: e })
  }
  try {
    return parse(raw)
  } catch (e) {
    if (e instanceof ConfigError) throw e
    // never quote the file: a key file's text is its secret (V8's JSON.parse messages quote the input)
    if (e instanceof SyntaxError) throw new ConfigError(`${path} is not valid JSON`)
    const issues = e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') : 'unreadable'
    throw new ConfigError(`${path} is not valid: ${issues}`)
  }
}

async function writeFileIn(path: string, body: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(path, body, { mode })
}
