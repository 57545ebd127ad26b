/**
 * The files of a generated testnet folder and its manifest, testnet.json:
 *
 *   DIR/testnet.json            what was generated (this file's TestnetFileSchema)
 *   DIR/genesis.json            the shared genesis (also copied into every home)
 *   DIR/v<i>/                   validator i's home (node/config.ts HOME_FILES)
 *   DIR/members/<id>.json       member keys (governors, coordinator, auditor, banks)
 *   DIR/authorities/<id>.json   attestation root, simulated TEE platform, revocation authority
 *   DIR/enclaves/<id>.json      the aggregation enclave registered in genesis
 *
 * Key files all have the validator key file's shape ({id, publicKey, secretKey},
 * hex, mode 0600; readKeyFile and writeKeyFile in node/config.ts). Paths inside
 * testnet.json are relative to DIR, so the folder can be moved while nothing runs.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { ROLES } from '../ledger/index.ts'
import { TestnetError } from './errors.ts'

export const TESTNET_FILE = 'testnet.json'
export const MEMBERS_DIR = 'members'
export const AUTHORITIES_DIR = 'authorities'
export const ENCLAVES_DIR = 'enclaves'

const hex32 = z.string().regex(/^[0-9a-f]{64}$/)

export const TestnetFileSchema = z.strictObject({
  version: z.literal(1),
  chainId: z.string().min(1),
  app: z.enum(['ledger', 'noop']),
  createdAt: z.string(),
  genesis: z.string(),
  validators: z
    .array(
      z.strictObject({
        index: z.number().int().nonnegative(),
        id: z.string().min(1),
        publicKey: hex32,
        peerId: z.string().min(1),
        /** relative to DIR: v<index> */
        home: z.string().regex(/^v\d+$/),
        /** the libp2p listen address */
        listen: z.string().min(1),
        /** listen address + /p2p/<peerId>: what other validators dial */
        p2p: z.string().min(1),
        apiPort: z.number().int().min(1).max(65535),
        api: z.string().url(),
      }),
    )
    .min(1),
  members: z.array(z.strictObject({ id: z.string(), roles: z.array(z.enum(ROLES)), key: z.string() })),
  authorities: z.array(z.strictObject({ id: z.string(), purpose: z.string(), key: z.string() })),
  enclaves: z.array(z.strictObject({ id: z.string(), platform: z.string(), measurement: z.string(), key: z.string() })),
})
export type TestnetFile = z.output<typeof TestnetFileSchema>
export type TestnetValidator = TestnetFile['validators'][number]

/** Reads and validates DIR/testnet.json; NOT_FOUND when absent, MALFORMED when invalid. */
export async function readTestnetFile(dir: string): Promise<TestnetFile> {
  const path = join(dir, TESTNET_FILE)
  let raw: string
  try {
    raw = await readFile(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new TestnetError('NOT_FOUND', `no testnet in ${dir} (${TESTNET_FILE} is missing; run 'fedledger testnet up')`)
    throw new TestnetError('NOT_FOUND', `cannot read ${path}: ${code ?? (e as Error).message}`)
  }
  try {
    const file = TestnetFileSchema.parse(JSON.parse(raw))
    file.validators.forEach((v, i) => {
      if (v.index !== i) throw new Error(`validators[${i}] has index ${v.index}`)
    })
    return file
  } catch (e) {
    const issues = e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') : (e as Error).message
    throw new TestnetError('MALFORMED', `${path} is not valid: ${issues}`)
  }
}

export async function writeTestnetFile(dir: string, file: TestnetFile): Promise<void> {
  await writeFile(join(dir, TESTNET_FILE), JSON.stringify(TestnetFileSchema.parse(file), null, 2) + '\n')
}

/** The absolute home folder of validator `v` of the testnet in `dir`. */
export function homeOf(dir: string, v: TestnetValidator): string {
  return resolve(dir, v.home)
}

/** Validator `index` of a testnet, or INVALID_ARGUMENT naming the valid range. */
export function validatorAt(file: TestnetFile, index: number): TestnetValidator {
  const v = Number.isInteger(index) ? file.validators[index] : undefined
  if (v === undefined) throw new TestnetError('INVALID_ARGUMENT', `no validator ${index}: this testnet has validators 0..${file.validators.length - 1}`)
  return v
}

