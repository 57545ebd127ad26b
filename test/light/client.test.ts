// The light client (light/): anchored in a pinned genesis, it accepts only certificates
// a quorum of the right epoch's validators signed for this network, learns later
// validator sets only through certified epoch changes, accepts a value only with a
// proof under a certified root, and never lets its latest height go back.
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import type { CommitCertificate, CommitHeader } from '../../consensus/index.ts'
import { StateKey, type LedgerState } from '../../ledger/index.ts'
import { LightClient, LightClientError, type LightClientErrorCode } from '../../light/index.ts'
import { decode, encode, sha256 } from '../../primitives/index.ts'
import { signCertificate } from '../helpers/commits.ts'
import { CHAIN, defaultGenesis, keysFor, TestChain } from '../ledger/harness.ts'

const genesis = defaultGenesis() // epochLength 10: epoch 0 is heights 0–9, epoch 1 is 10–19
const EPOCH0 = [0, 1, 2, 3].map((i) => `val-${i}`)
const EPOCH1 = [4, 5, 6, 7].map((i) => `val-${i}`)
/** the state after each height 0–14, on a chain whose governance hands epoch 1 to val-4…7 */
const states: LedgerState[] = []
let genesisHash: Uint8Array

beforeAll(() => {
  const c = new TestChain(genesis)
  states.push(c.state)
  genesisHash = c.state.root
  const validators = EPOCH1.map((id) => ({ id, publicKey: keysFor(id).publicKey, power: 1 }))
  c.exec(c.tx('gov-1', 'validator-set.update', { validators, epoch: 1 }))
  states.push(c.state)
  c.exec(c.tx('gov-1', 'budget.grant', { member: 'bank-a', epsilon: 1, delta: 1e-5 }))
  states.push(c.state)
  while (c.state.height < 14) {
    c.exec()
    states.push(c.state)
  }
})

function header(height: number, over: Partial<CommitHeader> = {}): CommitHeader {
  return { chain: CHAIN, genesis: genesisHash, epoch: Math.floor(height / 10), height, block: sha256(encode(['block', height])), ledgerBlock: null, stateRoot: states[height]!.root, ...over }
}

/** `h` signed by the named validators, at their indexes in `set` (by default, the set of `h`'s epoch). */
function certify(h: CommitHeader, signers: readonly string[], set: readonly string[] = h.epoch === 0 ? EPOCH0 : EPOCH1): CommitCertificate {
  return signCertificate(h, signers, set)
}

const quorum0 = EPOCH0.slice(0, 3)
const quorum1 = EPOCH1.slice(1, 4)
const client = () => LightClient.fromGenesis(genesis, genesisHash)
const epochChange = () => ({ certificate: certify(header(9), quorum0), proof: states[9]!.trie.prove(StateKey.validators) })

function refused(f: () => unknown, code: LightClientErrorCode, message?: RegExp): void {
  let error: unknown
  try {
    f()
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(LightClientError)
  expect((error as LightClientError).code).toBe(code)
  if (message !== undefined) expect((error as Error).message).toMatch(message)
}

describe('the trust anchor', () => {
  it('starts only from a genesis that gives the pinned hash', () => {
    expect(client().network).toEqual({ chain: CHAIN, genesis: genesisHash })
    refused(() => LightClient.fromGenesis(genesis, new Uint8Array(32)), 'WRONG_NETWORK', /pinned/)
    refused(() => LightClient.fromGenesis({ ...genesis, governanceThreshold: 2 }, genesisHash), 'WRONG_NETWORK')
  })
})

describe('certificates', () => {
  it('accepts a quorum of the epoch set and raises the highest verified height', () => {
    const lc = client()
    expect(lc.verifyCommit(certify(header(5), quorum0))).toEqual(header(5))
    expect(lc.verifyCommit(certify(header(6), EPOCH0))).toEqual(header(6))
    expect(lc.highestVerified()?.height).toBe(6)
  })

  it('refuses forged ones: too few signers, an outsider, a changed header, another network, a wrong epoch', () => {
    const lc = client()
    refused(() => lc.verifyCommit(certify(header(5), EPOCH0.slice(0, 2))), 'BAD_CERTIFICATE', /quorum/)
    // val-9 signs in val-0's slot
    refused(() => lc.verifyCommit(certify(header(5), ['val-9', 'val-1', 'val-2'])), 'BAD_CERTIFICATE', /signature/)
    const good = certify(header(5), quorum0)
    refused(() => lc.verifyCommit({ ...good, header: header(5, { stateRoot: new Uint8Array(32).fill(9) }) }), 'BAD_CERTIFICATE')
    refused(() => lc.verifyCommit(certify(header(5, { chain: 'other' }), quorum0)), 'WRONG_NETWORK')
    refused(() => lc.verifyCommit(certify(header(5, { genesis: new Uint8Array(32) }), quorum0)), 'WRONG_NETWORK')
    // signed by epoch 0's own validators, but claiming epoch 1 for a height of epoch 0
    refused(() => lc.verifyCommit(certify(header(5, { epoch: 1 }), quorum0, EPOCH0)), 'BAD_CERTIFICATE', /epoch 0/)
    expect(lc.highestVerified()).toBeUndefined()
  })

  it('any change to a valid certificate is refused with a typed error (property)', () => {
    const lc = client()
    const good = certify(header(7), quorum0)
    const fields = ['block', 'stateRoot', 'genesis', 'signature', 'signers'] as const
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.nat(), fc.integer({ min: 1, max: 255 }), (field, at, xor) => {
        const flip = (b: Uint8Array) => {
          const out = b.slice()
          out[at % out.length]! ^= xor
          return out
        }
        const forged: CommitCertificate =
          field === 'signature' || field === 'signers'
            ? { header: good.header, signatures: { ...good.signatures, [field]: flip(good.signatures[field]) } }
            : { header: { ...good.header, [field]: flip(good.header[field]) }, signatures: good.signatures }
        expect(() => lc.verifyCommit(forged)).toThrow(LightClientError)
      }),
      { numRuns: 300 },
    )
    expect(lc.verifyCommit(good).height).toBe(7)
  })

  it('two certified headers for one height are a conflict, not a choice', () => {
    const lc = client()
    lc.verifyCommit(certify(header(8), quorum0))
    refused(() => lc.verifyCommit(certify(header(8, { stateRoot: new Uint8Array(32).fill(9) }), EPOCH0.slice(1))), 'CONFLICT', /broke safety/)
  })
})

describe('epoch changes', () => {
  it('learns the next set only from a certified last height and a proof of the set under its root', () => {
    const lc = client()
    refused(() => lc.verifyCommit(certify(header(12), quorum1)), 'UNKNOWN_EPOCH', /epochs 0 only/)
    const set = lc.verifyEpochChange(epochChange())
    expect(set).toEqual({ epoch: 1, validators: EPOCH1.map((id) => ({ id, publicKey: keysFor(id).publicKey })) })
    expect(lc.verifyCommit(certify(header(12), quorum1)).height).toBe(12)
    // the old set no longer speaks for epoch 1
    refused(() => lc.verifyCommit(certify(header(13), quorum0, EPOCH1)), 'BAD_CERTIFICATE')
  })

  it('refuses a change proven at another height, with another key, or under another root', () => {
    const lc = client()
    refused(() => lc.verifyEpochChange({ certificate: certify(header(8), quorum0), proof: states[8]!.trie.prove(StateKey.validators) }), 'BAD_PROOF', /last height 9/)
    refused(() => lc.verifyEpochChange({ certificate: certify(header(9), quorum0), proof: states[9]!.trie.prove(StateKey.params) }), 'BAD_PROOF')
    // the set as it was before governance changed it, proven under an older root
    refused(() => lc.verifyEpochChange({ certificate: certify(header(9), quorum0), proof: states[0]!.trie.prove(StateKey.validators) }), 'BAD_PROOF')
    expect(lc.knownEpochs()).toEqual([0])
  })
})

describe('values', () => {
  it('returns a value, or its absence, only under a certified root', () => {
    const lc = client()
    const cert = certify(header(4), quorum0)
    const key = StateKey.budget('bank-a')
    const got = lc.verifyValue(cert, key, states[4]!.trie.prove(key))
    expect(decode<{ member: string }>(got.value!).member).toBe('bank-a')
    expect(lc.verifyValue(cert, 'member/nobody', states[4]!.trie.prove('member/nobody')).value).toBeUndefined()
    // a proof for another key, or from another height's state
    refused(() => lc.verifyValue(cert, key, states[4]!.trie.prove(StateKey.budget('bank-b'))), 'BAD_PROOF')
    refused(() => lc.verifyValue(cert, key, states[0]!.trie.prove(key)), 'BAD_PROOF')
    refused(() => lc.verifyValue(cert, key, { not: 'a proof' }), 'BAD_PROOF')
  })

  it('verifies several keys under one certificate, and refuses the batch for one bad proof or a key given twice', () => {
    const lc = client()
    const cert = certify(header(4), quorum0)
    const a = StateKey.budget('bank-a')
    const b = StateKey.budget('bank-b')
    const { header: h, values } = lc.verifyValues(cert, [[a, states[4]!.trie.prove(a)], ['member/nobody', states[4]!.trie.prove('member/nobody')], [b, states[4]!.trie.prove(b)]])
    expect(h.height).toBe(4)
    expect([...values.keys()]).toEqual([a, 'member/nobody', b])
    expect(values.get(b)).toEqual(states[4]!.getRaw(b))
    expect(values.get('member/nobody')).toBeUndefined()
    refused(() => lc.verifyValues(cert, [[a, states[4]!.trie.prove(a)], [b, states[4]!.trie.prove(a)]]), 'BAD_PROOF')
    refused(() => lc.verifyValues(cert, [[a, states[4]!.trie.prove(a)], [a, states[4]!.trie.prove(a)]]), 'BAD_PROOF')
  })

  it('a proof of one present key never passes for another key (property)', () => {
    const lc = client()
    const cert = certify(header(10), quorum1, EPOCH1)
    lc.verifyEpochChange(epochChange())
    const keys = [...states[10]!.trie.entries()].map(([k]) => k)
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.string({ minLength: 1, maxLength: 40 }), (key, other) => {
        fc.pre(other !== key)
        const proof = states[10]!.trie.prove(key)
        expect(lc.verifyValue(cert, key, proof).value).toEqual(states[10]!.getRaw(key))
        expect(() => lc.verifyValue(cert, other, proof)).toThrow(LightClientError)
      }),
      { numRuns: 200 },
    )
  })
})

describe('rollback', () => {
  it('a latest answer below the highest verified height is refused, also after a restart from the saved state', () => {
    const lc = client()
    lc.verifyEpochChange(epochChange())
    lc.verifyLatest(certify(header(12), quorum1))
    refused(() => lc.verifyLatest(certify(header(7), quorum0)), 'ROLLBACK', /already verified height 12/)
    // a historical question about height 7 is fine
    expect(lc.verifyCommit(certify(header(7), quorum0)).height).toBe(7)
    expect(lc.highestVerified()?.height).toBe(12)
    const resumed = LightClient.fromGenesis(genesis, genesisHash, decode(encode(lc.state())))
    expect(resumed.knownEpochs()).toEqual([0, 1])
    refused(() => resumed.verifyLatest(certify(header(11), quorum1)), 'ROLLBACK')
    expect(resumed.verifyLatest(certify(header(13), quorum1)).height).toBe(13)
  })
})
