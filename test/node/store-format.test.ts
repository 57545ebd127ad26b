// A validator whose data folder holds blocks of an earlier format (block time under
// `time`, before it was named timeSec) refuses to start with a typed CONFIG error that
// says what to do, instead of running on blocks whose ids no longer match.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelKeyValueStore } from '../../ledger/index.ts'
import { ConsensusStore } from '../../node/consensus-store.ts'
import { HOME_FILES } from '../../node/config.ts'
import { readGenesis, readKey, readNodeConfig, silentLogger, ValidatorNode } from '../../node/index.ts'
import { generateTestnet } from '../../testnet/index.ts'

let dir: string | undefined
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

describe('the data folder format', () => {
  it('a folder written before timeSec is refused with CONFIG, naming the folder and what to do', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fedledger-format-'))
    await generateTestnet({ dir, validators: 1 })
    const home = join(dir, 'v0')
    const kv = new LevelKeyValueStore(join(home, HOME_FILES.db))
    await kv.open()
    // a block as an earlier version recorded it
    const old = { epoch: 0, view: 1, height: 1, parent: new Uint8Array(32), justify: { epoch: 0, view: 0, block: new Uint8Array(32), height: 0, votes: { signers: new Uint8Array(1), signature: new Uint8Array(0) } }, proposer: 0, time: 1_700_000_000, payload: [] }
    await new ConsensusStore({ kv }).saveBlocks([old as never])
    await kv.close()
    const [config, genesis, key] = await Promise.all([readNodeConfig(home), readGenesis(home), readKey(home)])
    const node = new ValidatorNode({ home, config, genesis, key, logger: silentLogger })
    const error = await node.start().then(() => undefined, (e: unknown) => e)
    await node.stop()
    expect(error).toMatchObject({ code: 'CONFIG', message: expect.stringMatching(/earlier fedledger version.*new folder/) })
  })
})
