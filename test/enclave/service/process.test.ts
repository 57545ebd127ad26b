// The enclave contract against the out-of-process twin: `cli/enclave-main.ts serve` as a
// child process built from a generated testnet folder, frames over its stdin/stdout.
// Plus what only a process has: start-up from the testnet's keys, request timeouts,
// size limits on frames, and stop() ending the child by PID.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { enclaveServeArgv } from '../../../cli/actors.ts'
import { ProcessEnclave } from '../../../node/enclave/index.ts'
import { genesisState } from '../../../ledger/index.ts'
import { genesisToJson, readGenesis, readKeyFile } from '../../../node/index.ts'
import { toHex } from '../../../primitives/index.ts'
import type { LedgerTrust } from '../../../enclave/service/index.ts'
import { ATTESTATION_ROOT, ENCLAVE_ID, generateTestnet, SIM_PLATFORM, TESTNET_MEASUREMENT } from '../../../testnet/index.ts'
import { enclaveContract } from './contract.ts'
import { expectCode, ledgerRound, MEMBERS, POISONED } from './rounds.ts'
import { SimChain } from './sim-chain.ts'

let dir: string
let trustAnchor: Uint8Array
let enclavePublicKey: Uint8Array
/** the testnet's own chain (what `enclave serve` pins without --genesis) */
let chainId: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedledger-enclave-'))
  await generateTestnet({ dir, validators: 1 })
  trustAnchor = (await readKeyFile(join(dir, 'authorities', `${ATTESTATION_ROOT}.json`))).publicKey
  enclavePublicKey = (await readKeyFile(join(dir, 'enclaves', `${ENCLAVE_ID}.json`))).publicKey
  chainId = (await readGenesis(dir)).chainId
}, 30_000)

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const info = () => ({ enclaveId: ENCLAVE_ID, platform: SIM_PLATFORM, measurement: TESTNET_MEASUREMENT, publicKey: enclavePublicKey })

/** `enclave serve` argv pinned to `ledger`'s genesis (written next to the testnet) and its hash. */
async function pinnedArgv(ledger: LedgerTrust, extra: string[] = []): Promise<string[]> {
  const file = join(dir, `genesis-${toHex(ledger.genesisHash).slice(0, 12)}.json`)
  await writeFile(file, genesisToJson(ledger.genesis))
  return enclaveServeArgv(dir, ENCLAVE_ID, ['--genesis', file, '--genesis-hash', toHex(ledger.genesisHash), ...extra])
}

enclaveContract('child process over stdio', async () => ({
  info: info(),
  trustAnchor,
  start: async (ledger) => {
    const client = new ProcessEnclave({ argv: await pinnedArgv(ledger), requestTimeoutMs: 20_000 })
    await client.start()
    return { client, stop: () => client.stop() }
  },
}))

describe('ProcessEnclave', () => {
  it('serves the testnet enclave identity, enforces limits and timeouts, and stop() ends the child', { timeout: 30_000 }, async () => {
    const small = new ProcessEnclave({ argv: enclaveServeArgv(dir, ENCLAVE_ID), maxRequestBytes: 4096, maxResponseBytes: 600, requestTimeoutMs: 10_000 })
    await small.start()
    const pid = small.pid!
    try {
      const genesis = await readGenesis(dir)
      expect(await small.identity()).toEqual({ enclaveId: ENCLAVE_ID, platform: SIM_PLATFORM, measurement: TESTNET_MEASUREMENT, publicKey: enclavePublicKey, ledger: { chain: genesis.chainId, genesisHash: genesisState(genesis).root, epoch: 0 } })
      // a request over the client's limit never leaves; a response over it is skipped and refused
      await expectCode(small.exchange(new Uint8Array(5000)), 'TOO_LARGE')
      await expectCode(small.roundKey({ chain: chainId, round: 'r', nonce: 0, time: 1 }), 'TOO_LARGE') // evidence + tx > 600 bytes
      expect((await small.identity()).enclaveId).toBe(ENCLAVE_ID) // the stream stays in step
      // an aborted request fails at once; its late answer is dropped and the next one pairs correctly
      const controller = new AbortController()
      const aborted = small.identity({ signal: controller.signal })
      controller.abort('test')
      await expectCode(aborted, 'ABORTED')
      expect((await small.closeRound({ chain: chainId, round: 'nothing' })).destroyed).toBe(false)
    } finally {
      await small.stop()
    }
    expect(small.pid).toBeUndefined()
    expect(alive(pid)).toBe(false)
    await expectCode(small.identity(), 'UNAVAILABLE')
  })

  it('aggregates with Multi-Krum distances on worker threads (--threads)', { timeout: 30_000 }, async () => {
    const chain = new SimChain(info(), trustAnchor, MEMBERS)
    const threaded = new ProcessEnclave({ argv: await pinnedArgv(chain.trust(), ['--threads', '1']), requestTimeoutMs: 20_000 })
    await threaded.start()
    try {
      const res = await threaded.aggregate((await ledgerRound(chain, threaded, 'threads')).request)
      expect(res).toMatchObject({ kind: 'aggregated', excluded: expect.arrayContaining([{ member: POISONED, reason: 'MULTI_KRUM' }]) })
    } finally {
      await threaded.stop()
    }
  })

  it('refuses to start with a genesis that does not hash to the pinned hash', { timeout: 30_000 }, async () => {
    const chain = new SimChain(info(), trustAnchor, MEMBERS)
    const argv = await pinnedArgv(chain.trust())
    argv[argv.indexOf('--genesis-hash') + 1] = '00'.repeat(32)
    const wrong = new ProcessEnclave({ argv })
    await expect(wrong.start()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('pinned') })
  })

  it('times out a request the child does not answer in time', { timeout: 30_000 }, async () => {
    const slow = new ProcessEnclave({ argv: enclaveServeArgv(dir, ENCLAVE_ID), requestTimeoutMs: 1 })
    await expectCode(slow.start(), 'TIMEOUT') // even identity takes longer than 1 ms through a pipe
    expect(slow.pid).toBeUndefined()
  })

  it('fails to start for an enclave the testnet does not have, with its error', { timeout: 30_000 }, async () => {
    const wrong = new ProcessEnclave({ argv: enclaveServeArgv(dir, 'enclave-9') })
    await expect(wrong.start()).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining("no enclave 'enclave-9'") })
  })
})
