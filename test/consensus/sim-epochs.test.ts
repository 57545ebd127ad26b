// Validator-set changes at epoch boundaries: seeded scenarios (sim/scenarios.ts epochScenario)
// where a validator leaves, a new one joins from outside the first set and the one that left
// comes back, under the same faults as the default suite; plus the epoch-end proof's checks.
import { describe, expect, it } from 'vitest'
import { blockId, Epochs, FifoMempool, makeGenesis, nextEpochGenesis, verifyEpochEnd, type Block, type EpochOutput, type SyncInfo } from '../../consensus/index.ts'
import { epochScenario } from './sim/scenarios.ts'
import { simScheme, simSecrets, simSigner } from './sim/sim-scheme.ts'
import { defineSeedRange } from './sim/suite.ts'
import { nodeId, simulate } from './sim/simulator.ts'

defineSeedRange(describe, it, (failures) => expect(failures).toEqual([]), 1, 150, 75, epochScenario)

/** Runs a fault-free 4-validator epoch that ends at height 5, and returns the end proof and the chain. */
function endedEpoch(): { proof: SyncInfo; last: Block; committed: Block[] } {
  const r = simulate({ n: 4, seed: 9, duration: 20_000, gst: 0, delay: [1, 5], commands: 20, maxBatch: 1, expectLiveness: true, epochs: { lastHeights: [5], validators: [[0, 1, 2, 3], [1, 2, 3, 4]] } })
  expect(r.violations).toEqual([])
  expect(r.epochs).toEqual([1, 1, 1, 1, 1])
  // replay the same epoch by hand to get at the proof
  const secrets = simSecrets(5, 9)
  const scheme = simScheme(secrets.slice(0, 4))
  const genesis = makeGenesis(0, 4)
  const mempools = [0, 1, 2, 3].map(() => new FifoMempool())
  for (const m of mempools) for (let k = 0; k < 20; k++) m.add(new TextEncoder().encode(`cmd-${k}`))
  const nodes = [0, 1, 2, 3].map((i) => new Epochs({ signer: (k) => simSigner(k, secrets[i]!), mempool: mempools[i]! }, { self: nodeId(i), setup: { epoch: 0, validators: [0, 1, 2, 3].map(nodeId), scheme, genesis, lastHeight: 5 }, replica: { maxBatch: 1 } }))
  const queue: Array<{ from: string; to: string | null; message: Extract<EpochOutput, { type: 'send' }>['message'] }> = []
  let end: Extract<EpochOutput, { type: 'epoch-end' }> | undefined
  const committed: Block[] = []
  const take = (from: number, outs: EpochOutput[]) => {
    for (const o of outs) {
      if (o.type === 'broadcast') queue.push({ from: nodeId(from), to: null, message: o.message })
      else if (o.type === 'send') queue.push({ from: nodeId(from), to: o.to, message: o.message })
      else if (o.type === 'epoch-end' && from === 0) end = o
      else if (o.type === 'commit') {
        mempools[from]!.removeCommitted(o.blocks)
        if (from === 0) committed.push(...o.blocks)
      }
    }
  }
  nodes.forEach((node, i) => take(i, node.handle({ type: 'start', nowMs: 0 })))
  for (let steps = 0; queue.length > 0 && end === undefined && steps < 10_000; steps++) {
    const m = queue.shift()!
    nodes.forEach((node, i) => {
      if (nodeId(i) !== m.from && (m.to === null || m.to === nodeId(i))) take(i, node.receive(m.from, m.message, steps).outputs)
    })
  }
  expect(end).toBeDefined()
  return { proof: end!.proof, last: end!.block, committed }
}

describe('epoch ends', () => {
  it('the last block is the one at lastHeight; blocks past it carry no commands and never commit', () => {
    const { proof, last, committed } = endedEpoch()
    expect(last.height).toBe(5)
    expect(committed.map((b) => b.height)).toEqual([1, 2, 3, 4, 5])
    for (const b of proof.blocks) if (b.height > 5) expect(b.payload).toEqual([])
    expect(verifyEpochEnd(proof, 5)).toEqual(last)
  })

  it('a proof that does not show a 3-chain over the last block is refused', () => {
    const { proof } = endedEpoch()
    expect(verifyEpochEnd(proof, 6)).toBeNull() // claims a later end than it proves
    expect(verifyEpochEnd({ ...proof, blocks: proof.blocks.slice(1) }, 5)).toBeNull() // the certified block is missing
    expect(verifyEpochEnd({ ...proof, blocks: proof.blocks.filter((b) => b.height !== 5) }, 5)).toBeNull() // the last block is missing
    const [b2, ...rest] = proof.blocks
    const forgedParent = { ...b2!, parent: blockId(rest.at(-1)!) } // b2 names another parent than the one its justify certifies
    expect(verifyEpochEnd({ ...proof, blocks: [forgedParent, ...rest], highQC: { ...proof.highQC, block: blockId(forgedParent) } }, 5)).toBeNull()
  })

  it('next-epoch must follow the end, with the genesis derived from the last block', () => {
    const secrets = simSecrets(4, 1)
    const scheme = simScheme(secrets)
    const e = new Epochs({ signer: (k) => simSigner(k, secrets[0]!), mempool: new FifoMempool() }, { self: nodeId(0), setup: { epoch: 0, validators: [0, 1, 2, 3].map(nodeId), scheme, genesis: makeGenesis(0, 4), lastHeight: 5 } })
    const g = nextEpochGenesis(1, 4, makeGenesis(0, 4, 5))
    expect(() => e.handle({ type: 'next-epoch', setup: { epoch: 1, validators: [0, 1, 2, 3].map(nodeId), scheme, genesis: g, lastHeight: 10 }, nowMs: 0 })).toThrow(/before epoch 0 ended/)
  })

  it('a node outside the current set never signs, and asks for the epoch end until it gets it', () => {
    const secrets = simSecrets(5, 1)
    const scheme = simScheme(secrets.slice(0, 4))
    const e = new Epochs({ signer: (k) => simSigner(k, secrets[4]!), mempool: new FifoMempool() }, { self: nodeId(4), setup: { epoch: 0, validators: [0, 1, 2, 3].map(nodeId), scheme, genesis: makeGenesis(0, 4), lastHeight: 5 } })
    expect(e.replica).toBeNull()
    const outs = e.handle({ type: 'start', nowMs: 0 })
    expect(outs).toEqual([{ type: 'broadcast', message: { kind: 'epoch-request', epoch: 0 } }, { type: 'set-timer', epoch: 0, view: 0, atMs: 1000 }])
    expect(e.handle({ type: 'timer', epoch: 0, view: 0, nowMs: 1000 }).map((o) => o.type)).toEqual(['broadcast', 'set-timer'])
  })
})
