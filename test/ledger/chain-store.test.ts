import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainStore, executeBlock, LevelKeyValueStore, MemoryKeyValueStore, type LedgerBlock, type KeyValueStore } from '../../ledger/index.ts'
import { CHAIN, TestChain, testVerifier } from './harness.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fedledger-chain-'))
  dirs.push(d)
  return d
}

/** Commits `n` blocks of budget grants and returns the final chain. */
async function commitBlocks(store: ChainStore, n: number): Promise<TestChain> {
  const chain = new TestChain()
  chain.state = await store.initialize(chain.state)
  for (let i = 0; i < n; i++) {
    const height = chain.state.height + 1
    const head = (await store.head())!
    const block: LedgerBlock = { chain: CHAIN, height, timeSec: 1_700_000_000 + height, parent: head.block, txs: [chain.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: height, delta: 1e-5 })] }
    const outcome = executeBlock(chain.state, block, { attestation: testVerifier })
    await store.commitBlock(block, outcome)
    chain.state = outcome.state
  }
  return chain
}

describe('ChainStore', () => {
  it('stores blocks by height and CID, receipts and a tx index, and reloads the same state', async () => {
    const kv: KeyValueStore = new MemoryKeyValueStore()
    const store = new ChainStore({ kv })
    const chain = await commitBlocks(store, 3)
    const head = (await store.head())!
    expect(head.height).toBe(3)
    const block = (await store.blockAt(2))!
    expect(block.height).toBe(2)
    expect((await store.blockByCid(head.block!))!.height).toBe(3)
    const commit = (await store.commitAt(2))!
    expect(commit.receipts.map((r) => r.code)).toEqual(['OK'])
    expect((await store.findTx(commit.receipts[0]!.tx))!.height).toBe(2)
    const reloaded = await new ChainStore({ kv }).loadState()
    expect(reloaded.root).toEqual(chain.state.root)
    expect(reloaded.height).toBe(3)
    expect(await store.blockAt(9)).toBeUndefined()
  })

  it('keeps the index pointing at the committed transaction when a replay of it is refused', async () => {
    const store = new ChainStore({ kv: new MemoryKeyValueStore() })
    const chain = new TestChain()
    chain.state = await store.initialize(chain.state)
    const tx = chain.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 2, delta: 1e-5 })
    for (const height of [1, 2]) {
      const block: LedgerBlock = { chain: CHAIN, height, timeSec: height, parent: (await store.head())!.block, txs: [tx] }
      const outcome = executeBlock(chain.state, block, { attestation: testVerifier })
      await store.commitBlock(block, outcome)
      chain.state = outcome.state
    }
    const id = (await store.commitAt(1))!.receipts[0]!.tx
    expect(await store.findTx(id)).toMatchObject({ height: 1, receipt: { code: 'OK' } })
  })

  it('indexes the committed occurrence when the same bytes appear twice in a block', async () => {
    const store = new ChainStore({ kv: new MemoryKeyValueStore() })
    const chain = new TestChain()
    chain.state = await store.initialize(chain.state)
    const t0 = chain.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 2, delta: 1e-5 }, { nonce: 0 })
    const t1 = chain.tx('gov-1', 'budget.grant', { member: 'bank-b', epsilon: 2, delta: 1e-5 }, { nonce: 1 })
    const block: LedgerBlock = { chain: CHAIN, height: 1, timeSec: 1, parent: null, txs: [t1, t0, t1] } // t1 first refused (nonce), then committed
    const outcome = executeBlock(chain.state, block, { attestation: testVerifier })
    expect(outcome.receipts.map((r) => r.code)).toEqual(['BAD_NONCE', 'OK', 'OK'])
    await store.commitBlock(block, outcome)
    expect(await store.findTx(outcome.receipts[0]!.tx)).toMatchObject({ height: 1, receipt: { index: 2, code: 'OK' } })
  })

  it('refuses to commit a block that does not follow the head', async () => {
    const store = new ChainStore({ kv: new MemoryKeyValueStore() })
    const chain = await commitBlocks(store, 1)
    const outcome = executeBlock(chain.state, { height: 2, timeSec: 0, txs: [] }, { attestation: testVerifier })
    await expect(store.commitBlock({ chain: CHAIN, height: 5, timeSec: 0, parent: null, txs: [] }, outcome)).rejects.toThrow(/does not follow/)
    await expect(store.commitBlock({ chain: CHAIN, height: 2, timeSec: 0, parent: null, txs: [] }, outcome)).rejects.toThrow(/parent/) // right height, wrong parent
  })

  it('detects a state that does not match the head root', async () => {
    const kv = new MemoryKeyValueStore()
    const store = new ChainStore({ kv })
    await commitBlocks(store, 2)
    // tamper with one state entry behind the store's back
    for await (const [k] of kv.iterate({})) {
      if (k[0] === 0x05) {
        await kv.put(k, new Uint8Array([0xf6]))
        break
      }
    }
    await expect(new ChainStore({ kv }).loadState()).rejects.toThrow(/corrupt/)
  })

  it('after kill -9 mid-write, reopens at the last committed block with nothing committed lost', async () => {
    const dir = await tempDir()
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures/crash-writer.ts'), dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let reported = 0
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const progressed = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`writer made too little progress: ${reported} blocks; ${stderr}`)), 20_000)
      child.stdout.on('data', (d: Buffer) => {
        const lines = d.toString().trim().split('\n')
        reported = Number(lines[lines.length - 1])
        if (reported >= 40) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.on('exit', () => reject(new Error(`writer exited early: ${stderr}`)))
    })
    const closed = new Promise((r) => child.once('close', r))
    try {
      await progressed
    } finally {
      child.kill('SIGKILL') // the crash; also stops the child if the test failed
      await closed
    }

    const kv = new LevelKeyValueStore(dir)
    await kv.open()
    const store = new ChainStore({ kv })
    const head = (await store.head())!
    expect(head.height).toBeGreaterThanOrEqual(reported) // every acknowledged block survived
    const state = await store.loadState() // throws if the state were torn
    // replaying every stored block from genesis gives the same roots
    let replay = new TestChain().state
    for (let h = 1; h <= head.height; h++) {
      const block = (await store.blockAt(h))!
      const out = executeBlock(replay, block, { attestation: testVerifier })
      expect(out.stateRoot).toEqual((await store.commitAt(h))!.stateRoot)
      replay = out.state
    }
    expect(replay.root).toEqual(state.root)
    await kv.close()
  })
})
