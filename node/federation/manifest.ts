/**
 * federation.json: what the actors of a local federation need besides the
 * testnet (testnet.json, keys): where the enclave host and the coordinator
 * listen, how banks get their data (MNIST split non-IID by Dirichlet(α), or a
 * bank's own CSV) and the model every bank trains. The main job
 * (testnet/federation) writes it; participant peers and the enclave host read it.
 *
 *   DIR/federation.json
 *   DIR/federation/<actor>.json   libp2p identity seeds of the host and coordinator (mode 0600)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { z } from 'zod'
import { FederationError } from './errors.ts'

export const FEDERATION_FILE = 'federation.json'
export const FEDERATION_KEYS_DIR = 'federation'

const Endpoint = z.strictObject({ listen: z.string(), peerId: z.string(), key: z.string() })

export const ModelSpec = z.strictObject({ kind: z.enum(['logreg', 'mlp']), hidden: z.number().int().positive().default(32), learningRate: z.number().positive() })
export type ModelSpec = z.output<typeof ModelSpec>

export const FederationFileSchema = z.strictObject({
  version: z.literal(1),
  chainId: z.string(),
  enclave: z.strictObject({ id: z.string(), host: Endpoint }),
  coordinator: Endpoint,
  data: z.strictObject({
    source: z.literal('mnist'),
    /** Dirichlet concentration of the label split */
    alpha: z.number().positive(),
    seed: z.number().int().nonnegative(),
    /** the banks in split order: bank i gets part i */
    members: z.array(z.string()).min(1),
    /** use only the first N MNIST training examples (small runs and tests) */
    limitTrain: z.number().int().positive().optional(),
    limitTest: z.number().int().positive().optional(),
  }),
  model: ModelSpec,
  /** testnets: banks that poison their updates on purpose */
  byzantine: z.record(z.string(), z.enum(['sign-flip-scale'])).default({}),
})
export type FederationFile = z.output<typeof FederationFileSchema>
export type FederationFileInput = z.input<typeof FederationFileSchema>

export async function writeFederationFile(dir: string, file: FederationFileInput): Promise<void> {
  const parsed = FederationFileSchema.parse(file)
  await writeFile(join(dir, FEDERATION_FILE), `${JSON.stringify(parsed, null, 2)}\n`)
}

export async function readFederationFile(dir: string): Promise<FederationFile> {
  const path = join(dir, FEDERATION_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new FederationError('BAD_ARGUMENT', `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is ${dir} a federation made by \`fedledger start\`?`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new FederationError('BAD_ARGUMENT', `${path} is not JSON`)
  }
  const r = FederationFileSchema.safeParse(json)
  if (!r.success) throw new FederationError('BAD_ARGUMENT', `${path}: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`)
  return r.data
}

/** Writes a 32-byte seed as JSON hex, mode 0600. */
export async function writeSeed(path: string, seed: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFile(path, `${JSON.stringify({ seed: Buffer.from(seed).toString('hex') })}\n`, { mode: 0o600 })
}

export async function readSeed(path: string): Promise<Uint8Array> {
  const parsed = z.object({ seed: z.string().regex(/^[0-9a-f]{64}$/) }).safeParse(JSON.parse(await readFile(path, 'utf8')))
  if (!parsed.success) throw new FederationError('BAD_ARGUMENT', `${path} does not hold a 32-byte hex seed`)
  return Uint8Array.from(Buffer.from(parsed.data.seed, 'hex'))
}
