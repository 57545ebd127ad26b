// VerifiedReader (node/api/verified.ts): reading ledger state from validators it does
// not trust. Real API servers serve proofs and certificates; some of them lie (a wrong
// value under an honest certificate, a forged certificate, an old state offered as the
// latest, no certificate at all). The reader returns only what the light client
// verifies, names each liar in its faults and its log, and fails over to the next.
import { Registry } from 'prom-client'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { CommitCertificate, CommitHeader } from '../../../consensus/index.ts'
import { ChainStore, MemoryKeyValueStore, StateKey, type BudgetRecord, type LedgerState } from '../../../ledger/index.ts'
import { LightClient } from '../../../light/index.ts'
import { ApiServer, LedgerQueries, VerifiedReader, type CommitSource } from '../../../node/api/index.ts'
import { encode, sha256 } from '../../../primitives/index.ts'
import { signCertificate } from '../../helpers/commits.ts'
import { recordingLogger } from '../../helpers/logger.ts'
import { CHAIN, defaultGenesis, TestChain } from '../../ledger/harness.ts'

const genesis = defaultGenesis()
const VALIDATORS = [0, 1, 2, 3].map((i) => `val-${i}`)
const KEY = StateKey.budget('bank-a')
const states: LedgerState[] = []
let genesisHash: Uint8Array

beforeAll(() => {
  const c = new TestChain(genesis)
  states.push(c.state)
  genesisHash = c.state.root
  c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 1, delta: 1e-5 }))
  states.push(c.state)
  c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 1, delta: 1e-5 }))
  states.push(c.state)
  while (c.state.height < 4) {
    c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-b', epsilon: 1, delta: 1e-5 }))
    states.push(c.state)
  }
})

function certify(height: number, root: Uint8Array, signers: readonly string[] = VALIDATORS.slice(0, 3)): CommitCertificate {
  const header: CommitHeader = { chain: CHAIN, genesis: genesisHash, epoch: 0, height, block: sha256(encode(['block', height])), ledgerBlock: null, stateRoot: root }
  return signCertificate(header, signers, VALIDATORS)
}

const servers: ApiServer[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})

/**
 * A validator's API that serves `state` at `height` with `certificate` (null: none).
 * With `lateLie`, the state it answers from turns into that one after the first proof
 * answer (which looks the state up twice: is it provable, then the proof), so that its
 * proofs are honest and its snapshot is not.
 */
async function validator(state: LedgerState, certificate: CommitCertificate | null, lateLie?: LedgerState): Promise<{ url: string; server: ApiServer }> {
  const height = state.height
  let served = 0
  const snapshots = { snapshotAt: (h: number) => (h !== height ? undefined : served++ >= 2 && lateLie !== undefined ? lateLie : state), retainedSnapshots: () => ({ from: height, to: height }) }
  const commits: CommitSource = { certifiedHeight: () => height, certificate: async (h) => (h === height && certificate !== null ? certificate : undefined), epochChange: async () => undefined }
  const server = new ApiServer({ queries: new LedgerQueries({ store: new ChainStore({ kv: new MemoryKeyValueStore() }), state: () => state, snapshots }), commits, submit: async () => ({ id: '' }), status: () => { throw new Error('unused') }, registry: new Registry() })
  await server.start()
  servers.push(server)
  return { url: server.address().url, server }
}

const honestCert = () => certify(4, states[4]!.root)

describe('VerifiedReader', () => {
  it('reads past lying validators to the verified value, naming each liar and what it got wrong', async () => {
    const fake = states[4]!.apply([[KEY, encode({ member: 'bank-a', epsilon: 1000, delta: 1e-5 })]], 4)
    const wrongValue = await validator(fake, honestCert()) // a value the certified root does not hold
    const forged = await validator(fake, certify(4, fake.root, ['val-7', 'val-8', 'val-9'])) // signed by outsiders
    const uncertified = await validator(fake, null)
    const honest = await validator(states[4]!, honestCert())
    const logger = recordingLogger()
    const reader = new VerifiedReader({ light: LightClient.fromGenesis(genesis, genesisHash), logger }, { apis: [wrongValue.url, forged.url, uncertified.url, honest.url] })

    const read = await reader.read<BudgetRecord>(KEY)
    expect(read.value).toEqual(states[4]!.get(KEY))
    expect(read.header.height).toBe(4)
    expect(reader.faults.map((f) => [f.api, f.code])).toEqual([[wrongValue.url, 'BAD_PROOF'], [forged.url, 'BAD_CERTIFICATE'], [uncertified.url, 'UNCERTIFIED']])
    expect(logger.lines.filter((l) => l.level === 'warn').map((l) => (l.obj as { validator?: string }).validator)).toEqual([wrongValue.url, forged.url, uncertified.url])
    // it stays with the validator that answered well
    await reader.read(KEY)
    expect(reader.faults).toHaveLength(3)
  })

  it('refuses an older state offered as the latest once it has verified a newer one', async () => {
    const honest = await validator(states[4]!, honestCert())
    const stale = await validator(states[2]!, certify(2, states[2]!.root)) // valid, but old
    const reader = new VerifiedReader({ light: LightClient.fromGenesis(genesis, genesisHash), logger: recordingLogger() }, { apis: [honest.url, stale.url], timeoutMs: 2_000, maxLagHeights: 1 })
    expect((await reader.read(KEY)).header.height).toBe(4)
    await honest.server.stop()
    const error = await reader.read(KEY).then(() => undefined, (e: unknown) => e)
    expect(error).toMatchObject({ code: 'UNVERIFIED', message: expect.stringContaining('ROLLBACK') })
    expect(reader.faults.map((f) => f.code)).toEqual(['UNREACHABLE', 'ROLLBACK'])
    // the same for several keys at once
    await expect(reader.readMany([KEY])).rejects.toMatchObject({ code: 'UNVERIFIED', message: expect.stringContaining('ROLLBACK') })
  })

  it('takes an honest validator that certifies a height behind as the newest, without blaming it', async () => {
    const ahead = await validator(states[4]!, honestCert())
    const behind = await validator(states[3]!, certify(3, states[3]!.root))
    const reader = new VerifiedReader({ light: LightClient.fromGenesis(genesis, genesisHash), logger: recordingLogger() }, { apis: [ahead.url, behind.url], timeoutMs: 2_000 })
    expect((await reader.read(KEY)).header.height).toBe(4)
    await ahead.server.stop()
    expect((await reader.readMany([KEY])).header.height).toBe(3)
    expect(reader.faults.map((f) => f.code)).toEqual(['UNREACHABLE'])
  })

  it('fails with UNVERIFIED when every validator lies, and never returns the lie', async () => {
    const fake = states[4]!.apply([[KEY, encode('lie')]], 4)
    const a = await validator(fake, honestCert())
    const b = await validator(fake, certify(4, fake.root, ['val-0', 'val-1'])) // short of a quorum
    const reader = new VerifiedReader({ light: LightClient.fromGenesis(genesis, genesisHash), logger: recordingLogger() }, { apis: [a.url, b.url] })
    await expect(reader.read(KEY)).rejects.toMatchObject({ name: 'VerifiedReadError', code: 'UNVERIFIED' })
    expect(reader.faults.map((f) => f.code)).toEqual(['BAD_PROOF', 'BAD_CERTIFICATE'])
  })

  it('syncs a whole state only when its snapshot rebuilds the certified root, from another validator if one lies', async () => {
    const fake = states[4]!.apply([[KEY, encode({ member: 'bank-a', epsilon: 1000, delta: 1e-5 })]], 4)
    const liar = await validator(states[4]!, honestCert(), fake) // proofs and certificate honest, the snapshot not
    const honest = await validator(states[4]!, honestCert())
    const reader = new VerifiedReader({ light: LightClient.fromGenesis(genesis, genesisHash), logger: recordingLogger() }, { apis: [liar.url, honest.url] })
    const synced = await reader.syncState()
    expect(synced.header.height).toBe(4)
    expect(synced.state.root).toEqual(states[4]!.root)
    expect(synced.state.get(KEY)).toEqual(states[4]!.get(KEY))
    expect(synced.bytes).toBeGreaterThan(0)
    expect(reader.faults.map((f) => [f.api, f.code])).toEqual([[liar.url, 'BAD_ANSWER']])
  })
})
