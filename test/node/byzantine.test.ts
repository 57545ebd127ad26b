// node/byzantine.ts: what a Byzantine testnet validator puts on the wire instead of the honest core's outputs.
import { describe, expect, it } from 'vitest'
import { blockId, ed25519Scheme, ed25519Signer, proposalMessage, voteMessage, type Block, type EpochOutput, type Proposal, type Vote } from '../../consensus/index.ts'
import { generateKeyPair } from '../../primitives/index.ts'
import { Byzantine, type ByzantineBehaviour } from '../../node/byzantine.ts'
import { NodeConfigSchema } from '../../node/config.ts'

const key = generateKeyPair()
const scheme = ed25519Scheme([key.publicKey])
const signer = ed25519Signer(0, key.secretKey)
const PEERS = ['me', 'p1', 'p2', 'p3']

function byzantine(behaviours: ByzantineBehaviour[]): Byzantine {
  return new Byzantine({ signer, validators: () => PEERS, self: 'me', logger: { warn: () => {} } }, behaviours)
}

const block: Block = { epoch: 0, view: 7, height: 5, parent: new Uint8Array(32), justify: { epoch: 0, view: 6, block: new Uint8Array(32), height: 4, votes: new Uint8Array(0) } as never, proposer: 0, timeSec: 1, payload: [new Uint8Array([1, 2, 3])] }
const proposal: Proposal = { kind: 'proposal', block, tc: null, signature: signer.sign(proposalMessage(0, blockId(block))) }
const vote: Vote = { kind: 'vote', epoch: 0, view: 7, block: blockId(block), height: 5, voter: 0, signature: signer.sign(voteMessage(0, 7, blockId(block), 5)) }
const safety: EpochOutput = { type: 'persist-safety', state: {} as never, blocks: [] }

describe('Byzantine', () => {
  it('equivocate: replaces the proposal broadcast with two conflicting, validly signed blocks sent to different peers', () => {
    const b = byzantine(['equivocate'])
    const out = b.apply([safety, { type: 'broadcast', message: proposal }])
    expect(out[0]).toBe(safety) // the safety write still comes first
    const sends = out.slice(1) as Array<Extract<EpochOutput, { type: 'send' }>>
    expect(sends.map((s) => [s.type, s.to])).toEqual([['send', 'p1'], ['send', 'p2'], ['send', 'p3']])
    const blocks = sends.map((s) => (s.message as Proposal).block)
    expect(blocks[0]).toEqual(block)
    expect(blocks[2]).toEqual(block)
    expect(blocks[1]!.view).toBe(7)
    expect(blockId(blocks[1]!)).not.toEqual(blockId(block))
    for (const s of sends) {
      const p = s.message as Proposal
      expect(scheme.verify(0, proposalMessage(0, blockId(p.block)), p.signature)).toBe(true)
    }
    expect(b.stats).toEqual({ equivocations: 1, doubleVotes: 0 })
  })

  it('double-vote: sends a second, validly signed vote for another block of the same view to the same leader', () => {
    const b = byzantine(['double-vote'])
    const out = b.apply([{ type: 'send', to: 'p2', message: vote }])
    expect(out).toHaveLength(2)
    expect(out[0]).toEqual({ type: 'send', to: 'p2', message: vote })
    const second = out[1] as Extract<EpochOutput, { type: 'send' }>
    const v = second.message as Vote
    expect(second.to).toBe('p2')
    expect(v.view).toBe(7)
    expect(v.block).not.toEqual(vote.block)
    expect(scheme.verify(0, voteMessage(0, 7, v.block, 5), v.signature)).toBe(true)
  })

  it('leaves everything else alone, and does only what it is configured for', () => {
    expect(byzantine(['double-vote']).apply([{ type: 'broadcast', message: proposal }])).toEqual([{ type: 'broadcast', message: proposal }])
    expect(byzantine(['equivocate']).apply([{ type: 'send', to: 'p1', message: vote }, safety])).toEqual([{ type: 'send', to: 'p1', message: vote }, safety])
  })
})

describe('the byzantine config switch', () => {
  it('is refused unless the node is a testnet node (api.admin)', () => {
    const base = { id: 'v', listen: '/ip4/127.0.0.1/tcp/0', api: { port: 0 } }
    const refused = NodeConfigSchema.safeParse({ ...base, byzantine: ['equivocate'] })
    expect(refused.success).toBe(false)
    expect(refused.error?.issues[0]?.message).toMatch(/refused unless api.admin/)
    expect(NodeConfigSchema.safeParse({ ...base, api: { port: 0, admin: true }, byzantine: ['equivocate', 'double-vote'] }).success).toBe(true)
    expect(NodeConfigSchema.safeParse({ ...base, api: { port: 0, admin: true }, byzantine: ['lie'] }).success).toBe(false)
  })
})
