// Commit certificates (consensus/commits.ts): a quorum of one epoch's validators signs
// the state after each committed height; a validator whose own execution differs from
// a certified header learns it (diverged), and a forged, short, foreign or tampered
// certificate never checks.
import { describe, expect, it } from 'vitest'
import {
  checkCertificate, commitMessage, CommitCertifier, decodeCommitMessage, ed25519Scheme, ed25519Signer, encodeCommitMessage, StateDivergenceError,
  type CertifierEvent, type CommitCertificate, type CommitHeader, type CommitMessage, type CommitVote,
} from '../../consensus/index.ts'
import { cidOfBytes, keyPairFromSeed } from '../../primitives/index.ts'

const N = 4
const CHAIN = 'fedledger-test'
const GENESIS = new Uint8Array(32).fill(0xab)
const NETWORK = { chain: CHAIN, genesis: GENESIS }
const keys = Array.from({ length: N + 1 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)))
const scheme = ed25519Scheme(keys.slice(0, N).map((k) => k.publicKey))
const signers = keys.map((k, i) => ed25519Signer(i, k.secretKey))

function header(height: number, root = 7, over: Partial<CommitHeader> = {}): CommitHeader {
  return { chain: CHAIN, genesis: GENESIS, epoch: 0, height, block: new Uint8Array(32).fill(height % 256), ledgerBlock: cidOfBytes(new Uint8Array([height])), stateRoot: new Uint8Array(32).fill(root), ...over }
}

function certifierOf(index: number): CommitCertifier {
  const c = new CommitCertifier({ network: NETWORK })
  c.addEpoch({ epoch: 0, scheme, signer: signers[index]!, firstHeight: 1, lastHeight: Number.POSITIVE_INFINITY })
  return c
}

/** Each validator's vote on `h` (as its own certifier signs it). */
function votesOn(h: CommitHeader | ((i: number) => CommitHeader), who = [0, 1, 2, 3]): CommitVote[] {
  return who.map((i) => certifierOf(i).executed(typeof h === 'function' ? h(i) : h).vote!)
}

const certified = (events: CertifierEvent[]) => events.find((e) => e.type === 'certified')

describe('CommitCertifier', () => {
  it('forms the certificate at the quorum-th matching vote, once, and it checks against the epoch set', () => {
    const c = certifierOf(0)
    const [own, v1, v2, v3] = votesOn(header(5))
    expect(c.executed(header(5)).vote).toEqual(own)
    expect(c.receive(v1!).events).toEqual([])
    const third = c.receive(v2!)
    expect(third.verdict).toEqual({ ok: true })
    const cert = (certified(third.events) as { certificate: CommitCertificate }).certificate
    expect(cert.header).toEqual(header(5))
    expect(checkCertificate(cert, NETWORK, scheme)).toEqual({ ok: true })
    // the fourth vote comes late: the height is settled, nothing more happens
    expect(c.receive(v3!).events).toEqual([])
    expect(c.awaiting(5)).toBe(false)
  })

  it('a certificate formed before this validator executed the height is compared when it does', () => {
    const c = certifierOf(0)
    for (const v of votesOn(header(3), [1, 2])) c.receive(v)
    const last = c.receive(votesOn(header(3), [3])[0]!)
    expect(certified(last.events)).toBeDefined()
    expect(c.executed(header(3)).events.filter((e) => e.type === 'diverged')).toEqual([])
  })

  it('a validator whose state root differs from the quorum learns it diverged, naming the height and both headers', () => {
    const c = certifierOf(0)
    c.executed(header(9, 0xee)) // this validator's execution went wrong
    const events = votesOn(header(9), [1, 2, 3]).flatMap((v) => c.receive(v).events)
    expect(events.filter((e) => e.type === 'disagreement').map((e) => (e as { voter: number }).voter)).toEqual([1, 2, 3])
    const diverged = events.find((e) => e.type === 'diverged')
    expect(diverged).toEqual({ type: 'diverged', height: 9, local: header(9, 0xee), certified: header(9) })
    const error = new StateDivergenceError(9, header(9, 0xee), header(9))
    expect(error.code).toBe('STATE_DIVERGED')
    expect(error.message).toContain('height 9')
    expect(error.message).toContain('ee'.repeat(32))
    expect(error.message).toContain('07'.repeat(32))
  })

  it('diverges too when its own execution comes after the quorum certified another state', () => {
    const c = certifierOf(0)
    for (const v of votesOn(header(4), [1, 2, 3])) c.receive(v)
    expect(c.executed(header(4, 0x99)).events.find((e) => e.type === 'diverged')).toMatchObject({ height: 4 })
  })

  it('one dissenting validator cannot stop the others: three of four certify, its vote is a disagreement', () => {
    const c = certifierOf(0)
    c.executed(header(2))
    const dissent = votesOn(header(2, 0x55), [3])[0]!
    const r = c.receive(dissent)
    expect(r.events).toEqual([{ type: 'disagreement', voter: 3, local: header(2), theirs: header(2, 0x55) }])
    const events = votesOn(header(2), [1, 2]).flatMap((v) => c.receive(v).events)
    expect(certified(events)).toBeDefined()
    expect(events.find((e) => e.type === 'diverged')).toBeUndefined()
  })

  it('refuses a bad signature, a foreign chain and a voter out of range; ignores unknown epochs, repeats and far heights', () => {
    const c = certifierOf(0)
    c.executed(header(1))
    const [, v1] = votesOn(header(2))
    expect(c.receive({ ...v1!, signature: new Uint8Array(64) }).verdict).toMatchObject({ ok: false, action: 'reject' })
    // signed as voter 1 but claimed by voter 2
    expect(c.receive({ ...v1!, voter: 2 }).verdict).toMatchObject({ ok: false, action: 'reject' })
    expect(c.receive({ ...v1!, voter: 4 }).verdict).toMatchObject({ ok: false, action: 'reject' })
    const foreign = votesOn(header(2, 7, { chain: 'other-chain' }), [1])[0]!
    expect(c.receive(foreign).verdict).toMatchObject({ ok: false, action: 'reject' })
    const otherGenesis = votesOn(header(2, 7, { genesis: new Uint8Array(32) }), [1])[0]!
    expect(c.receive(otherGenesis).verdict).toMatchObject({ ok: false, action: 'reject' })
    const h1 = header(2, 7, { epoch: 1 })
    const nextEpoch: CommitVote = { kind: 'commit-vote', header: h1, voter: 1, signature: signers[1]!.sign(commitMessage(h1)) }
    expect(c.receive(nextEpoch).verdict).toMatchObject({ ok: false, action: 'ignore' })
    expect(c.receive(v1!).verdict).toEqual({ ok: true })
    expect(c.receive(v1!).verdict).toMatchObject({ ok: false, action: 'ignore' })
    const far = votesOn(header(5_000), [1])[0]!
    expect(c.receive(far).verdict).toMatchObject({ ok: false, action: 'ignore' })
  })

  it('a voter counts once per height: a second, different header from it is not counted', () => {
    const c = certifierOf(0)
    c.executed(header(6))
    c.receive(votesOn(header(6), [1])[0]!)
    // validator 1 equivocates: its second header does not count towards either quorum
    expect(c.receive(votesOn(header(6, 0x11), [1])[0]!).verdict).toMatchObject({ ok: false, action: 'ignore' })
    expect(certified(c.receive(votesOn(header(6), [2])[0]!).events)).toBeDefined()
  })

  it('a validator of the previous epoch cannot sign this epoch\'s heights under its old index and silence whoever holds it now', () => {
    // epoch 1 reorders the set: validator 0 of epoch 0 is index 1 now, a new validator holds index 0
    const set1 = [keys[4]!, keys[0]!, keys[2]!, keys[3]!]
    const scheme1 = ed25519Scheme(set1.map((k) => k.publicKey))
    const c = new CommitCertifier({ network: NETWORK })
    c.addEpoch({ epoch: 0, scheme, signer: null, firstHeight: 1, lastHeight: 9 })
    c.addEpoch({ epoch: 1, scheme: scheme1, signer: null, firstHeight: 10, lastHeight: 19 })
    const vote = (h: CommitHeader, voter: number, signer: (typeof signers)[number]): CommitVote => ({ kind: 'commit-vote', header: h, voter, signature: signer.sign(commitMessage(h)) })
    // it signs height 12 as epoch 0's validator 0: valid under epoch 0's keys, but height 12 is epoch 1's
    expect(c.receive(vote(header(12, 7, { epoch: 0 }), 0, signers[0]!)).verdict).toMatchObject({ ok: false, action: 'reject', detail: expect.stringContaining('not in epoch 0') })
    // so the new validator at index 0 still counts, and with indexes 2 and 3 the height is certified
    const h12 = header(12, 7, { epoch: 1 })
    const events = [0, 2, 3].flatMap((i) => c.receive(vote(h12, i, ed25519Signer(i, set1[i]!.secretKey))).events)
    expect(certified(events)).toBeDefined()
  })

  it('a certificate fetched from a peer settles a height this validator executed, and diverges it if different', () => {
    const full = certifierOf(1)
    full.executed(header(8))
    let cert: CommitCertificate | undefined
    for (const v of votesOn(header(8), [0, 2])) cert = (certified(full.receive(v).events) as { certificate: CommitCertificate } | undefined)?.certificate ?? cert
    const behind = certifierOf(3)
    behind.executed(header(8))
    expect(behind.awaiting(8)).toBe(true)
    expect(certified(behind.receiveCertificate(cert!).events)).toBeDefined()
    expect(behind.awaiting(8)).toBe(false)

    const wrong = certifierOf(3)
    wrong.executed(header(8, 0x42))
    expect(wrong.receiveCertificate(cert!).events.find((e) => e.type === 'diverged')).toMatchObject({ height: 8 })
    // a tampered certificate is refused before it can settle or diverge anything
    const liar = certifierOf(3)
    liar.executed(header(8, 0x42))
    const forged = { ...cert!, header: header(8, 0x42) }
    expect(liar.receiveCertificate(forged)).toMatchObject({ verdict: { ok: false, action: 'reject' }, events: [] })
  })
})

describe('checkCertificate', () => {
  const cert = (who: number[], h = header(10)): CommitCertificate => {
    const votes = votesOn(h, who)
    return { header: h, signatures: scheme.aggregate(votes.map((v) => ({ signer: v.voter, signature: v.signature }))) }
  }

  it('accepts a quorum or more of valid signatures', () => {
    expect(checkCertificate(cert([0, 1, 2]), NETWORK, scheme)).toEqual({ ok: true })
    expect(checkCertificate(cert([0, 1, 2, 3]), NETWORK, scheme)).toEqual({ ok: true })
  })

  it('refuses fewer than a quorum, another chain, a changed header, another set, and a malformed bitmap', () => {
    expect(checkCertificate(cert([0, 1]), NETWORK, scheme)).toMatchObject({ ok: false, reason: expect.stringContaining('quorum') })
    expect(checkCertificate(cert([0, 1, 2]), { ...NETWORK, chain: 'another' }, scheme)).toMatchObject({ ok: false, reason: expect.stringContaining('chain') })
    // another network with the same chain id and the same keys: its genesis differs
    expect(checkCertificate(cert([0, 1, 2]), { ...NETWORK, genesis: new Uint8Array(32) }, scheme)).toMatchObject({ ok: false, reason: expect.stringContaining('genesis') })
    const c = cert([0, 1, 2])
    for (const changed of [header(10, 8), header(11), header(10, 7, { epoch: 1 }), header(10, 7, { ledgerBlock: null })]) {
      expect(checkCertificate({ ...c, header: changed }, NETWORK, scheme).ok).toBe(false)
    }
    const otherSet = ed25519Scheme([keys[4]!.publicKey, ...keys.slice(1, N).map((k) => k.publicKey)])
    expect(checkCertificate(c, NETWORK, otherSet).ok).toBe(false)
    expect(checkCertificate({ ...c, signatures: { ...c.signatures, signers: new Uint8Array([0xff]) } }, NETWORK, scheme).ok).toBe(false)
  })
})

describe('commit messages on the wire', () => {
  it('round-trip in canonical form', () => {
    const votes = { kind: 'commit-votes' as const, votes: votesOn(header(3), [2]).concat(votesOn(header(4), [2])) }
    for (const m of [votes, { kind: 'commit-request' as const, from: 4, count: 16 }, { kind: 'commit-response' as const, certificates: [{ header: header(3, 7, { ledgerBlock: null }), signatures: { signers: new Uint8Array([7]), signature: new Uint8Array(192) } }] }]) {
      expect(decodeCommitMessage(encodeCommitMessage(m))).toEqual(m)
    }
  })

  it('refuses extra fields, wrong hash lengths, too many votes, a huge request and unknown kinds with a WireError', () => {
    const vote = votesOn(header(3), [2])[0]!
    const one = (v: unknown) => ({ kind: 'commit-votes', votes: [v] })
    const bad: unknown[] = [
      one({ ...vote, extra: 1 }),
      one({ ...vote, kind: 'vote' }),
      one({ ...vote, header: { ...vote.header, stateRoot: new Uint8Array(31) } }),
      one({ ...vote, header: { ...vote.header, ledgerBlock: 'bafy' } }),
      one({ ...vote, header: { ...vote.header, chain: '' } }),
      { kind: 'commit-votes', votes: Array.from({ length: 257 }, () => vote) },
      vote,
      { kind: 'commit-request', from: 0, count: 100_000 },
      { kind: 'commit-request', from: 0, count: 0 },
      { kind: 'commit-gossip' },
    ]
    for (const m of bad) expect(() => decodeCommitMessage(encodeCommitMessage(m as CommitMessage))).toThrow(expect.objectContaining({ name: 'WireError' }))
  })
})
