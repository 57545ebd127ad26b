// The node's consensus records: safety state, epochs with end proofs, committed blocks for recovery.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { blockId, makeGenesis, type Block, type SafetyState } from '../../consensus/index.ts'
import { MemoryKeyValueStore } from '../../ledger/index.ts'
import { generateKeyPair } from '../../primitives/index.ts'
import { ConfigError, readGenesis, readKey, readNodeConfig, writeGenesis, writeKey, writeNodeConfig } from '../../node/config.ts'
import { ConsensusStore } from '../../node/consensus-store.ts'

const block = (height: number, epoch = 0): Block => ({ ...makeGenesis(epoch, 4, height), view: height, payload: [new Uint8Array([height])] })

describe('ConsensusStore', () => {
  it('keeps the safety state, and a new epoch clears it', async () => {
    const store = new ConsensusStore({ kv: new MemoryKeyValueStore() })
    const g = makeGenesis(0, 4)
    const safety: SafetyState = { epoch: 0, lastVotedView: 7, lastVote: null, lastTimeoutView: 6, lastTimeout: null, lockedQC: g.justify }
    await store.saveSafety(safety)
    expect(await store.safety()).toEqual(safety)
    const last = block(9)
    await store.saveEpoch({ epoch: 1, validators: [], genesis: makeGenesis(1, 4, 9), lastHeight: 19 }, { epoch: 0, proof: { kind: 'sync', highQC: { ...g.justify, epoch: 0, height: 11, block: blockId(last) }, blocks: [last] } })
    expect(await store.safety()).toBeUndefined()
    expect((await store.epoch())?.epoch).toBe(1)
    expect([...(await store.proofs()).keys()]).toEqual([0])
  })

  it('returns committed blocks in height order from a height, and prunes below one', async () => {
    const store = new ConsensusStore({ kv: new MemoryKeyValueStore() })
    await store.saveBlocks([block(3), block(1), block(2), block(300)])
    expect((await store.blocksFrom(2)).map((b) => b.height)).toEqual([2, 3, 300])
    expect(blockId((await store.blockAt(3))!)).toEqual(blockId(block(3)))
    await store.pruneBelow(3)
    expect((await store.blocksFrom(0)).map((b) => b.height)).toEqual([3, 300])
  })
})

describe('home folder files', () => {
  let dir = ''
  afterEach(async () => rm(dir, { recursive: true, force: true }))

  it('config, key and genesis round-trip; a broken file is a ConfigError naming the field', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedledger-home-'))
    const k = generateKeyPair()
    await writeKey(dir, { id: 'v0', ...k })
    await writeNodeConfig(dir, { id: 'v0', listen: '/ip4/127.0.0.1/tcp/0', api: { port: 0 } })
    const genesis = { chainId: 'c', epochLength: 10, governanceThreshold: 1, revocationAuthorities: {}, attestation: { formats: [], measurements: [] }, validators: [{ id: 'v0', publicKey: k.publicKey, power: 1 }], members: [{ id: 'g', org: 'g', roles: ['governor' as const], publicKey: generateKeyPair().publicKey }] }
    await writeGenesis(dir, genesis)
    expect((await readKey(dir)).secretKey).toEqual(k.secretKey)
    expect((await readNodeConfig(dir)).consensus.maxBatch).toBe(400)
    expect((await readGenesis(dir)).validators[0]!.publicKey).toEqual(k.publicKey)
    await writeFile(join(dir, 'config.json'), JSON.stringify({ id: 'v0', listen: 'x', api: { port: 'eighty' } }))
    await expect(readNodeConfig(dir)).rejects.toThrow(ConfigError)
    await expect(readNodeConfig(dir)).rejects.toThrow(/api\.port/)
  })
})
