// The verification edge: bad input is rejected with a typed reason before it reaches a replica.
import { describe, expect, it } from 'vitest'
import { blockId, genesisQC, makeGenesis, MessageVerifier, proposalMessage, timeoutMessage, voteMessage, type Block, type Proposal, type Vote } from '../../consensus/index.ts'
import { simScheme, simSecrets, simSigner } from './sim/sim-scheme.ts'

const n = 4
const secrets = simSecrets(n)
const scheme = simScheme(secrets)
const genesis = makeGenesis(0, n)
const gqc = genesisQC(genesis)
const verifier = () => new MessageVerifier(scheme, { epoch: 0, genesis, maxViewsAhead: 100, maxPayloadCount: 10, maxPayloadBytes: 1000 })

function proposal(over: Partial<Block> = {}, signerIndex = 1): Proposal {
  const block: Block = { epoch: 0, view: 1, height: 1, parent: blockId(genesis), justify: gqc, proposer: 1, timeSec: 0, payload: [], ...over }
  return { kind: 'proposal', block, tc: null, signature: simSigner(signerIndex, secrets[signerIndex]!).sign(proposalMessage(0, blockId(block))) }
}
function vote(over: Partial<Vote> = {}): Vote {
  const v = { kind: 'vote' as const, epoch: 0, view: 1, block: blockId(genesis), height: 0, voter: 2, signature: new Uint8Array(), ...over }
  return { ...v, signature: v.signature.length ? v.signature : simSigner(v.voter, secrets[v.voter]!).sign(voteMessage(v.epoch, v.view, v.block, v.height)) }
}

describe('MessageVerifier', () => {
  it('accepts well-formed, correctly signed messages', () => {
    expect(verifier().verify(proposal(), 1, 1)).toEqual({ ok: true })
    expect(verifier().verify(vote(), 2, 1)).toEqual({ ok: true })
  })

  it('rejects bad signatures, unknown signers, wrong epochs, oversized payloads and far-future views with typed reasons', () => {
    const v = verifier()
    expect(v.verify(proposal({}, 2), 1, 1)).toMatchObject({ ok: false, action: 'reject', reason: 'bad-signature' })
    expect(v.verify(proposal(), 2, 1)).toMatchObject({ ok: false, action: 'reject', reason: 'bad-signature' }) // relayed by another
    expect(v.verify(proposal(), 9, 1)).toMatchObject({ ok: false, action: 'reject', reason: 'unknown-signer' })
    expect(v.verify(proposal({ proposer: 7 }), 1, 1)).toMatchObject({ ok: false, reason: 'unknown-signer' })
    expect(v.verify(proposal({ epoch: 3 }), 1, 1)).toMatchObject({ ok: false, action: 'ignore', reason: 'wrong-epoch' })
    expect(v.verify(proposal({ payload: Array.from({ length: 11 }, () => new Uint8Array(1)) }), 1, 1)).toMatchObject({ ok: false, reason: 'oversized' })
    expect(v.verify(proposal({ payload: [new Uint8Array(1001)] }), 1, 1)).toMatchObject({ ok: false, reason: 'oversized' })
    expect(v.verify(proposal({ view: 1001, justify: gqc }), 1, 1)).toMatchObject({ ok: false, action: 'ignore', reason: 'far-future' })
    expect(v.verify(vote({ signature: new Uint8Array(32) }), 2, 1)).toMatchObject({ ok: false, reason: 'bad-signature' })
    expect(v.verify(vote(), 3, 1)).toMatchObject({ ok: false, reason: 'unknown-signer' }) // not its own vote
    expect(v.verify(vote({ view: 500 }), 2, 1)).toMatchObject({ ok: false, reason: 'far-future' })
  })

  it('rejects a forged QC: too few signers, bits past n, or bad signatures', () => {
    const v = verifier()
    const b1 = proposal().block
    const sig = (i: number) => simSigner(i, secrets[i]!).sign(voteMessage(0, 1, blockId(b1), 1))
    const agg = (signers: number[], bad = false) => scheme.aggregate(signers.map((i) => ({ signer: i, signature: bad ? new Uint8Array(32) : sig(i) })))
    const withQC = (votes: ReturnType<typeof agg>) => proposal({ view: 2, height: 2, parent: blockId(b1), proposer: 2, justify: { epoch: 0, view: 1, block: blockId(b1), height: 1, votes } }, 2)
    expect(v.verify(withQC(agg([0, 1, 2])), 2, 2)).toEqual({ ok: true })
    expect(v.verify(withQC(agg([0, 1])), 2, 2)).toMatchObject({ ok: false, reason: 'bad-certificate' })
    expect(v.verify(withQC(agg([0, 1, 2], true)), 2, 2)).toMatchObject({ ok: false, reason: 'bad-certificate' })
    expect(v.verify(withQC({ signers: new Uint8Array([0xff]), signature: new Uint8Array(8 * 32) }), 2, 2)).toMatchObject({ ok: false, reason: 'bad-certificate' })
  })

  it('rejects a timeout whose high QC is not below its view, and never throws on garbage', () => {
    const v = verifier()
    const t = { kind: 'timeout' as const, epoch: 0, view: 0, highQC: gqc, tc: null, voter: 1, signature: simSigner(1, secrets[1]!).sign(timeoutMessage(0, 0)) }
    expect(v.verify(t, 1, 1)).toMatchObject({ ok: false, reason: 'bad-certificate' })
    expect(v.verify({ kind: 'proposal', block: null, tc: null, signature: null } as never, 1, 1)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(v.verify({ kind: 'block-response', blocks: Array.from({ length: 2000 }, () => genesis) }, 1, 1)).toMatchObject({ ok: false, reason: 'oversized' })
  })
})
