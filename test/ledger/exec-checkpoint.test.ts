// The checkpoint transaction on a network: it may anchor the state after any of the last MAX_CHECKPOINT_LAG_BLOCKS
// blocks (verified through ExecutionComponents.stateRootAt), never one before the round's result, never a wrong root.
import { describe, expect, it } from 'vitest'
import { executeBlock, MAX_CHECKPOINT_LAG_BLOCKS, StateKey, type CheckpointRecord, type Receipt, type RoundRecord, type TxBody } from '../../ledger/index.ts'
import { sha256 } from '../../primitives/index.ts'
import { codes, keysFor, modelCid, PARTICIPANTS, TestChain, testEvidence, testVerifier } from './harness.ts'

const training = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, localEpochs: 1 }
const dp = { clipNorm: 1, noiseMultiplier: 1.1, samplingRate: 0.01, steps: 100 }

/** A TestChain that remembers the state root after every block, as a validator's committed history does. */
class RootedChain {
  readonly c = new TestChain()
  readonly roots = new Map<number, Uint8Array>([[0, this.c.state.root]])

  exec(...txs: Uint8Array[]): Receipt[] {
    const r = this.c.exec(...txs)
    this.roots.set(this.c.state.height, this.c.state.root)
    return r
  }

  /** Blocks that each change the state (a member registered), so every height has its own root. */
  advanceTo(height: number): void {
    while (this.c.state.height < height) {
      const id = `filler-${this.c.state.height + 1}`
      expect(codes(this.exec(this.c.tx('gov-1', 'member.register', { id, org: id, roles: ['auditor'], publicKey: keysFor(id).publicKey })))).toEqual(['OK'])
    }
  }

  get height(): number {
    return this.c.state.height
  }

  round(id = 'r1'): RoundRecord {
    return this.c.get<RoundRecord>(StateKey.round(id))!
  }

  /** A checkpoint body for round r1's current result, snapshotting the state after block `height`. */
  body(height: number, stateRoot: Uint8Array | undefined = this.roots.get(height)): TxBody<'checkpoint'> {
    return { round: 'r1', model: this.round().result!.model, snapshot: modelCid(`snapshot@${height}`), stateRoot: stateRoot!, height }
  }

  /** Executes a block holding one checkpoint, with (or without) the history's stateRootAt. */
  checkpoint(body: TxBody<'checkpoint'>, withHistory = true): Receipt {
    const c = this.c
    c.time += 5
    const tx = c.tx('coord', 'checkpoint', body, { nonce: c.get<number>(StateKey.nonce('coord')) ?? 0 })
    const components = withHistory ? { attestation: testVerifier, stateRootAt: (h: number) => this.roots.get(h) } : { attestation: testVerifier }
    const out = executeBlock(c.state, { height: c.state.height + 1, timeSec: c.time, txs: [tx] }, components)
    c.state = out.state
    this.roots.set(c.state.height, c.state.root)
    return out.receipts[0]!
  }
}

/** Round r1 opened, keyed, committed by four members and resulted; returns the chain and the result's height. */
function resulted(): { chain: RootedChain; resultHeight: number } {
  const chain = new RootedChain()
  const { c } = chain
  const roundKey = keysFor('round-key-r1').publicKey
  const open: TxBody<'round.open'> = { round: 'r1', baseModel: modelCid('model-0'), training, aggregation: { rule: 'multi-krum', f: 1, m: 4 }, eligible: PARTICIPANTS, deadline: 8, enclave: 'enclave-1' }
  expect(codes(chain.exec(c.tx('coord', 'round.open', open)))).toEqual(['OK'])
  const key = { round: 'r1', publicKey: roundKey, attestation: testEvidence({ keys: [roundKey, keysFor('enclave-1').publicKey], for: ['enclave.round-key', 'r1'] }) }
  expect(codes(chain.exec(c.tx('enclave-1', 'enclave.round-key', key)))).toEqual(['OK'])
  const commit = (m: string) => c.tx(m, 'round.commit', { round: 'r1', ciphertext: modelCid(`r1/${m}`), ...c.statement('r1', m, 0.9) })
  expect(codes(chain.exec(...PARTICIPANTS.slice(0, 4).map(commit)))).toEqual(['OK', 'OK', 'OK', 'OK'])
  chain.advanceTo(open.deadline)
  const result = { round: 'r1', model: modelCid('model-1'), included: ['bank-a', 'bank-b', 'bank-c'], excluded: [{ member: 'bank-d', reason: 'multi-krum' }], dp, aggregation: { f: 1, m: 3, centralNoiseMultiplier: 1.1 }, transcriptHash: sha256(new TextEncoder().encode('t')) }
  expect(codes(chain.exec(c.tx('enclave-1', 'round.result', result)))).toEqual(['OK'])
  return { chain, resultHeight: chain.height }
}

const latest = (chain: RootedChain) => chain.c.get<CheckpointRecord>(StateKey.checkpointLatest)

describe('checkpoint heights', () => {
  it('accepts an older state within the window, recording the height and root it names', () => {
    const { chain, resultHeight } = resulted()
    chain.advanceTo(resultHeight + 10)
    const body = chain.body(resultHeight + 3)
    expect(body.stateRoot).not.toEqual(chain.c.state.root) // not the previous block's root
    const receipt = chain.checkpoint(body)
    expect([receipt.code, receipt.message]).toEqual(['OK', ''])
    expect(latest(chain)).toMatchObject({ seq: 1, round: 'r1', height: resultHeight + 3, stateRoot: chain.roots.get(resultHeight + 3), anchoredAt: resultHeight + 11 })
    expect(chain.c.get<string[]>(StateKey.roundsSinceCheckpoint)).toEqual([])
  })

  it('accepts exactly the last MAX_CHECKPOINT_LAG_BLOCKS heights before the block, nothing older and not the block itself', () => {
    expect(MAX_CHECKPOINT_LAG_BLOCKS).toBe(128)
    const { chain, resultHeight } = resulted()
    chain.advanceTo(resultHeight + MAX_CHECKPOINT_LAG_BLOCKS) // the next block, B = resultHeight + 129, may anchor B − 128 = resultHeight + 1
    const tooOld = chain.checkpoint(chain.body(resultHeight)) // B − 129, at the result: only the window refuses it
    expect(tooOld.code).toBe('CHECKPOINT')
    expect(tooOld.message).toMatch(/outside .*last 128 blocks/)
    const next = chain.height + 1
    const itself = chain.checkpoint(chain.body(next, chain.roots.get(chain.height)))
    expect([itself.code, itself.message]).toEqual(['CHECKPOINT', expect.stringMatching(/outside/)])
    const oldest = chain.height + 1 - MAX_CHECKPOINT_LAG_BLOCKS
    expect(chain.checkpoint(chain.body(oldest)).code).toBe('OK')
    expect(latest(chain)?.height).toBe(oldest)
  })

  it('refuses a root that is not the chain root at the named height', () => {
    const { chain, resultHeight } = resulted()
    chain.advanceTo(resultHeight + 5)
    const swapped = chain.checkpoint(chain.body(resultHeight + 1, chain.roots.get(resultHeight + 2)))
    expect([swapped.code, swapped.message]).toEqual(['CHECKPOINT', expect.stringMatching(/not the chain's root after block/)])
    expect(chain.checkpoint(chain.body(resultHeight + 1, new Uint8Array(32))).code).toBe('CHECKPOINT')
    expect(latest(chain)).toBeUndefined()
    expect(chain.checkpoint(chain.body(resultHeight + 1)).code).toBe('OK')
  })

  it('refuses a state from before the round result was recorded, also after a re-aggregation moved it', () => {
    const { chain, resultHeight } = resulted()
    chain.advanceTo(resultHeight + 3)
    const before = chain.checkpoint(chain.body(resultHeight - 1)) // in the window, with the right root
    expect([before.code, before.message]).toEqual(['CHECKPOINT', expect.stringMatching(/before height \d+, where round 'r1''s result was recorded/)])
    const { c } = chain
    expect(codes(chain.exec(c.tx('gov-1', 'member.revoke', { member: 'bank-a', reason: 'x', evidence: { kind: 'governance' } })))).toEqual(['OK'])
    const again = { round: 'r1', model: modelCid('model-1b'), included: ['bank-b', 'bank-c'], excluded: [{ member: 'bank-a', reason: 'revoked' }, { member: 'bank-d', reason: 'multi-krum' }], dp, aggregation: { f: 1, m: 3, centralNoiseMultiplier: 1.1 }, transcriptHash: sha256(new TextEncoder().encode('t2')) }
    expect(codes(chain.exec(c.tx('enclave-1', 'round.result', again)))).toEqual(['OK'])
    const reaggregatedAt = chain.height
    chain.advanceTo(chain.height + 1)
    // the re-aggregated model at a height before its result: that snapshot holds the superseded result
    expect(chain.checkpoint(chain.body(resultHeight + 1)).code).toBe('CHECKPOINT')
    expect(chain.checkpoint(chain.body(reaggregatedAt)).code).toBe('OK')
  })

  it('without stateRootAt anchors only the previous block state', () => {
    const { chain, resultHeight } = resulted()
    chain.advanceTo(resultHeight + 4)
    const older = chain.checkpoint(chain.body(resultHeight + 1), false)
    expect([older.code, older.message]).toEqual(['CHECKPOINT', expect.stringMatching(/state root at height \d+ is not known.*previous block/)])
    expect(chain.checkpoint(chain.body(chain.height), false).code).toBe('OK')
    expect(latest(chain)?.height).toBe(chain.height - 1)
  })

  it('a history that does not know a height refuses it rather than guessing', () => {
    const { chain, resultHeight } = resulted()
    chain.advanceTo(resultHeight + 4)
    chain.roots.delete(resultHeight + 1)
    expect(chain.checkpoint(chain.body(resultHeight + 1, chain.c.state.root)).code).toBe('CHECKPOINT')
  })
})
