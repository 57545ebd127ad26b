/**
 * Bad user input on every command family ends in one typed line, `fedledger CMD:
 * error CODE: message` with exit 1, never "internal error" or a stack trace. Each
 * family's cases are the ones that printed "internal error" before every error class
 * shared one base (primitives/CodedError) and main learnt to print any of them, plus
 * system errors on paths the user named.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LevelKeyValueStore } from '../../ledger/index.ts'
import { writeFederationFile } from '../../node/federation/index.ts'
import type { CliIo } from '../../cli/io.ts'
import { main } from '../../cli/main.ts'
import { generateTestnet, type TestnetFile } from '../../testnet/index.ts'

let dir: string
let testnet: TestnetFile
// a path under a regular file: every mkdir or open below it fails (ENOTDIR or EEXIST)
let underAFile: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedledger-cli-errors-'))
  testnet = await generateTestnet({ dir, validators: 1, banks: ['bank-01'], force: true })
  const peerId = '12D3KooWLRPJAA5o6Z6ZSbDm5DbEGV5yvXWLiodc7rAfxWzHJ8vZ'
  await writeFederationFile(dir, {
    version: 1,
    chainId: testnet.chainId,
    enclave: { id: 'enclave-1', host: { listen: '/ip4/127.0.0.1/tcp/1', peerId, key: 'host.json' } },
    coordinator: { listen: '/ip4/127.0.0.1/tcp/2', peerId, key: 'coordinator.json' },
    data: { source: 'mnist', alpha: 0.5, seed: 1, members: ['bank-01'] },
    model: { kind: 'logreg', learningRate: 1 },
  })
  await writeFile(join(dir, 'a-file'), 'not a folder\n')
  await writeFile(join(dir, 'ragged.csv'), '1,0.5,0.25\n0,0.5\n')
  underAFile = join(dir, 'a-file', 'below')
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function run(...argv: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = []
  const io: CliIo = { out: () => {}, err: (l) => err.push(l), write: () => {}, cwd: dir }
  const code = await main(argv, io)
  return { code, err: err.join('\n') }
}

function expectTyped(r: { code: number; err: string }, command: string, code: string, says: RegExp): void {
  expect(r.err).not.toMatch(/internal error|\n\s+at /)
  expect(r.err).toMatch(new RegExp(`^fedledger ${command}: error ${code}: `))
  expect(r.err).toMatch(says)
  expect(r.err.split('\n')).toHaveLength(1)
  expect(r.code).toBe(1)
}

describe('typed errors on the command line', () => {
  it('demo: a --dir where no store can be opened', async () => {
    expectTyped(await run('demo', '--dir', underAFile), 'demo', 'STORE_UNAVAILABLE', /cannot open the store at .*pass a writable folder/)
  })

  it('node: a home whose store another process holds, and a folder that is no home', async () => {
    const home = join(dir, testnet.validators[0]!.home)
    const holder = new LevelKeyValueStore(join(home, 'db'))
    await holder.open()
    try {
      expectTyped(await run('node', 'start', '--home', home), 'node', 'STORE_UNAVAILABLE', /locked by another process; pass a writable folder that no other fedledger process is using/)
    } finally {
      await holder.close()
    }
    expectTyped(await run('node', 'start', '--home', join(dir, 'nowhere')), 'node', 'CONFIG', /cannot read .*\.json: ENOENT; is .* a validator home\? `fedledger init --home/)
  })

  it('init: a home that cannot be created', async () => {
    expectTyped(await run('init', '--home', underAFile), 'init', 'ENOTDIR', /a part of the path is a file, not a folder/)
  })

  it('prints the stack after the typed line only when FEDLEDGER_DEBUG is set', async () => {
    process.env.FEDLEDGER_DEBUG = '1'
    try {
      const r = await run('demo', '--dir', underAFile)
      const [line, ...stack] = r.err.split('\n')
      expect(line).toMatch(/^fedledger demo: error STORE_UNAVAILABLE: /)
      expect(stack.join('\n')).toMatch(/^LedgerError: cannot open the store[^\n]*\n\s+at /)
    } finally {
      delete process.env.FEDLEDGER_DEBUG
    }
  })

  it('participant: a CSV that is not a dataset, and one that is missing', async () => {
    expectTyped(await run('participant', 'run', '--testnet', dir, '--member', 'bank-01', '--csv', join(dir, 'ragged.csv')), 'participant', 'BAD_CSV', /line 2/)
    expectTyped(await run('participant', 'run', '--testnet', dir, '--member', 'bank-01', '--csv', join(dir, 'missing.csv')), 'participant', 'MISSING_FILE', /missing\.csv does not exist/)
  })

  it('keys: an --out below a file is reported as unwritable, not as existing', async () => {
    expectTyped(await run('keys', 'generate', '--out', join(dir, 'a-file', 'k.json')), 'keys', 'CONFIG', /cannot write .*k\.json: EEXIST/)
  })

  it.each([
    // (paths relative to the temporary folder, the commands' working directory)
    ['testnet', ['testnet', 'up', '--dir', 'a-file/below', '--no-wait'], 'INVALID_ARGUMENT'],
    ['start', ['start', '--dir', 'a-file/below'], 'INVALID_ARGUMENT'],
    ['enclave', ['enclave', 'serve', '--testnet', 'nowhere', '--enclave', 'enclave-1'], 'NOT_FOUND'],
    ['cas', ['cas', 'add', 'missing.bin'], 'NOT_FOUND'],
  ])('%s: its typed errors stay typed', async (command, argv, code) => {
    expectTyped(await run(...argv), command, code, /./)
  })
})
