import { describe, expect, it } from 'vitest'
import { addModel, CasBlockstore, MemoryKeyValueStore, restoreCheckpoint, StateKey, writeCheckpoint, float32ToLeBytes, leBytesToFloat32, addDirectory, CHECKPOINT_CID_OPTIONS, type CheckpointRecord } from '../../ledger/index.ts'
import { encode } from '../../primitives/index.ts'
import { keysFor, modelCid, PARTICIPANTS, TestChain, testEvidence } from './harness.ts'

function weights(n: number): Float32Array {
  const w = new Float32Array(n)
  for (let i = 0; i < n; i++) w[i] = Math.sin(i) * 0.01
  return w
}

describe('checkpoints', () => {
  it('encodes weights as explicit little-endian float32', () => {
    const bytes = float32ToLeBytes(new Float32Array([1, -2.5]))
    expect([...bytes]).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0])
    expect([...leBytesToFloat32(bytes)]).toEqual([1, -2.5])
    expect(() => leBytesToFloat32(new Uint8Array(3))).toThrow(/float32/)
  })

  it('writes a UnixFS directory whose restore rebuilds the exact state root, model and transcripts', async () => {
    const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
    const c = new TestChain()
    c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 3, delta: 1e-6 }))
    const model = weights(10_000)
    const transcripts = new Map([['r1', encode({ round: 'r1', included: PARTICIPANTS })]])
    const written = await writeCheckpoint(store, { state: c.state, model, transcripts })
    expect(written.model.equals(await addModel(store, model))).toBe(true) // the model file's CID is the standalone model CID
    const restored = await restoreCheckpoint(store, written.root, { stateRoot: c.state.root, height: c.state.height, model: written.model })
    expect(restored.state.root).toEqual(c.state.root)
    expect(restored.state.height).toBe(c.state.height)
    expect(restored.model).toEqual(model)
    expect(restored.transcripts.get('r1')).toEqual(transcripts.get('r1'))
    // the same contents always give the same root CID
    expect((await writeCheckpoint(new CasBlockstore({ kv: new MemoryKeyValueStore() }), { state: c.state, model, transcripts })).root.equals(written.root)).toBe(true)
  })

  it('refuses a checkpoint whose root, height or model is not what the ledger anchored', async () => {
    const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
    const c = new TestChain()
    const written = await writeCheckpoint(store, { state: c.state, model: weights(10) })
    const anchored = { stateRoot: c.state.root, height: c.state.height, model: written.model }
    await expect(restoreCheckpoint(store, written.root, anchored)).resolves.toBeDefined()
    await expect(restoreCheckpoint(store, written.root, { ...anchored, stateRoot: new Uint8Array(32) })).rejects.toMatchObject({ code: 'CHECKPOINT' })
    await expect(restoreCheckpoint(store, written.root, { ...anchored, height: 7 })).rejects.toMatchObject({ code: 'CHECKPOINT', message: expect.stringMatching(/height/) })
    // a directory with the right state but another model file than the anchored one
    const swapped = await writeCheckpoint(store, { state: c.state, model: weights(11) })
    await expect(restoreCheckpoint(store, swapped.root, anchored)).rejects.toMatchObject({ code: 'CHECKPOINT', message: expect.stringMatching(/model/) })
    // a directory whose manifest lies about the root
    const lying = await addDirectory(
      store,
      [
        { path: 'checkpoint.cbor', content: encode({ version: 1, height: 0, stateRoot: new Uint8Array(32), model: { file: 'model.f32le', dtype: 'float32-le', length: 0 }, transcripts: [] }) },
        { path: 'model.f32le', content: new Uint8Array(0) },
        { path: 'state.cbor', content: encode({ entries: [...c.state.trie.entries()] }) },
      ],
      { params: CHECKPOINT_CID_OPTIONS },
    )
    await expect(restoreCheckpoint(store, lying)).rejects.toMatchObject({ code: 'CHECKPOINT' })
  })

  it('round trip through the ledger: anchor a checkpoint of a resulted round, then restore it against the anchored root', async () => {
    const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
    const c = new TestChain()
    const model = weights(1000)
    const modelId = await addModel(store, model)
    const roundKey = keysFor('round-key').publicKey
    const committed = PARTICIPANTS.slice(0, 4)
    c.exec(c.tx('coord', 'round.open', { round: 'r1', baseModel: modelCid('m0'), training: { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }, aggregation: { rule: 'multi-krum', f: 1, m: 4 }, eligible: PARTICIPANTS, deadline: 5, enclave: 'enclave-1' }))
    c.exec(c.tx('enclave-1', 'enclave.round-key', { round: 'r1', publicKey: roundKey, attestation: testEvidence({ keys: [roundKey, keysFor('enclave-1').publicKey], for: ['enclave.round-key', 'r1'] }) }))
    c.exec(...committed.map((p) => c.tx(p, 'round.commit', { round: 'r1', ciphertext: modelCid(p), ...c.statement('r1', p) })))
    c.advanceTo(6)
    const result = { round: 'r1', model: modelId, included: committed, excluded: [], dp: { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, steps: 100 }, aggregation: { f: 1, m: committed.length, centralNoiseMultiplier: 1.1 }, transcriptHash: new Uint8Array(32) }
    expect(c.exec(c.tx('enclave-1', 'round.result', result))[0]!.code).toBe('OK')

    const written = await writeCheckpoint(store, { state: c.state, model, transcripts: new Map([['r1', encode(result)]]) })
    expect(written.model.equals(modelId)).toBe(true)
    const anchor = { round: 'r1', model: written.model, snapshot: written.root, stateRoot: c.state.root, height: c.state.height }
    expect(c.exec(c.tx('coord', 'checkpoint', anchor))[0]!.code).toBe('OK')

    const anchored = c.get<CheckpointRecord>(StateKey.checkpointLatest)!
    const restored = await restoreCheckpoint(store, anchored.snapshot, anchored)
    expect(restored.state.root).toEqual(anchored.stateRoot)
    expect(restored.state.get(StateKey.round('r1'))).toMatchObject({ status: 'resulted' })
    expect(restored.model).toEqual(model)
  })
})

describe('checkpoint restore limits', () => {
  it('refuses an oversized manifest before reading it, and transcripts the manifest does not list', async () => {
    const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
    const c = new TestChain()
    const manifest = (transcripts: string[]) => encode({ version: 1, height: 0, stateRoot: c.state.root, model: { file: 'model.f32le', dtype: 'float32-le', length: 0 }, transcripts })
    const base = [
      { path: 'model.f32le', content: new Uint8Array(0) },
      { path: 'state.cbor', content: encode({ entries: [...c.state.trie.entries()] }) },
    ]
    const huge = await addDirectory(store, [{ path: 'checkpoint.cbor', content: new Uint8Array(200 * 1024) }, ...base], { params: CHECKPOINT_CID_OPTIONS })
    await expect(restoreCheckpoint(store, huge)).rejects.toMatchObject({ code: 'CHECKPOINT', message: expect.stringMatching(/limit/) })
    const extra = await addDirectory(store, [{ path: 'checkpoint.cbor', content: manifest(['r1']) }, ...base, { path: 'transcripts/r1.cbor', content: encode({}) }, { path: 'transcripts/notes.cbor', content: encode({}) }], { params: CHECKPOINT_CID_OPTIONS })
    await expect(restoreCheckpoint(store, extra)).rejects.toMatchObject({ code: 'CHECKPOINT', message: expect.stringMatching(/notes/) })
    const missing = await addDirectory(store, [{ path: 'checkpoint.cbor', content: manifest(['r1', 'r2']) }, ...base, { path: 'transcripts/r1.cbor', content: encode({}) }], { params: CHECKPOINT_CID_OPTIONS })
    await expect(restoreCheckpoint(store, missing)).rejects.toMatchObject({ code: 'CHECKPOINT', message: expect.stringMatching(/r2/) })
  })

  it('refuses to write a transcript under a name it could not read back', async () => {
    const store = new CasBlockstore({ kv: new MemoryKeyValueStore() })
    await expect(writeCheckpoint(store, { state: new TestChain().state, model: new Float32Array(1), transcripts: new Map([['round 1', new Uint8Array(1)]]) })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' })
  })
})
