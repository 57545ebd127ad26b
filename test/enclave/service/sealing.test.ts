// Sealing keys (one-way ratchet per chain and checkpoint window) and sealed records:
// erasure is final and touches only anchored windows; only the sealing instance opens a record.
import { describe, expect, it } from 'vitest'
import { EnclaveService, openSealed, SealingKeys, simAttester } from '../../../enclave/service/index.ts'
import { certifyPlatform } from '../../../enclave/index.ts'
import { generateKeyPair } from '../../../primitives/index.ts'
import { inProcessEnclave, simEnclaveKeys, testLedgerTrust } from './factory.ts'
import { aggregated, BASE_BYTES, CHAIN, expectCode, ledgerRound, MEMBERS } from './rounds.ts'
import { codes, SimChain } from './sim-chain.ts'

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f()
  } catch (e) {
    return (e as { code?: string }).code
  }
  return undefined
}

describe('SealingKeys', () => {
  it('derives one key per chain and window, and erasing windows ≤ seq leaves later keys unchanged', () => {
    const keys = new SealingKeys(new Uint8Array(32).fill(7))
    const k1 = keys.windowKey('a', 1)
    const k3 = keys.windowKey('a', 3)
    expect(keys.windowKey('a', 1)).toEqual(k1)
    expect(k3).not.toEqual(k1)
    expect(keys.windowKey('b', 1)).not.toEqual(k1)
    expect(keys.eraseThrough('a', 2)).toBe(2)
    expect(keys.erasedThrough('a')).toBe(2)
    expect(codeOf(() => keys.windowKey('a', 1))).toBe('WINDOW_ERASED')
    expect(codeOf(() => keys.windowKey('a', 2))).toBe('WINDOW_ERASED')
    expect(keys.windowKey('a', 3)).toEqual(k3) // records sealed for window 3 before the checkpoint still open
    expect(keys.eraseThrough('a', 1)).toBe(2) // never backwards
    expect(keys.erasedThrough('b')).toBe(0)
    expect(codeOf(() => keys.windowKey('a', 10_000_000))).toBe('BAD_REQUEST')
    expect(codeOf(() => keys.windowKey('a', 0))).toBe('BAD_REQUEST')
  })

  it('keeps nothing from which an erased key can be derived again: the same master, once ratcheted, gives new keys only', () => {
    const master = new Uint8Array(32).fill(9)
    const a = new SealingKeys(master)
    const before = a.windowKey('a', 1)
    a.eraseThrough('a', 1)
    // a fresh instance from the same master re-derives it (the master is the root of trust) …
    expect(new SealingKeys(master).windowKey('a', 1)).toEqual(before)
    // … but the instance itself moved its master on when it derived chain 'a': a chain seen later gets an unrelated root
    expect(a.windowKey('c', 1)).not.toEqual(new SealingKeys(master).windowKey('c', 1))
  })
})

describe('sealed records', () => {
  it('open only in the enclave instance that sealed them', async () => {
    // two instances of one enclave (same key and chain), e.g. before and after a restart
    const keys = simEnclaveKeys()
    const chain = new SimChain(keys.info, keys.trustAnchor, MEMBERS)
    const one = inProcessEnclave(keys, chain.trust())
    const two = inProcessEnclave(keys, chain.trust())
    const a = aggregated(await one.client.aggregate((await ledgerRound(chain, one.client, 'mine')).request))
    expect(codes(chain.exec(a.tx))).toEqual(['OK'])
    expect(codes(chain.exec(chain.tx('gov-1', 'member.revoke', { member: a.included[0]!, reason: 'fraud', evidence: { kind: 'governance' } })))).toEqual(['OK'])
    const request = chain.reaggregateRequest('mine', a.sealed, BASE_BYTES)
    await expectCode(two.client.reaggregate(request), 'SEALED_UNREADABLE')
    expect((await one.client.reaggregate(request)).included).toEqual(a.included.slice(1))
  })

  it('are ciphertext to anyone else: no member id in the bytes, and another key does not open them', async () => {
    const sealing = new SealingKeys(new Uint8Array(32).fill(1))
    const keys = simEnclaveKeys()
    const chain = new SimChain(keys.info, keys.trustAnchor, MEMBERS)
    const { client } = inProcessEnclave(keys, chain.trust())
    const a = aggregated(await client.aggregate((await ledgerRound(chain, client, 'plain')).request))
    // the plaintext's member ids do not appear in the sealed bytes
    const text = Buffer.from(a.sealed).toString('latin1')
    for (const m of a.included) expect(text.includes(m)).toBe(false)
    expect(codeOf(() => openSealed(a.sealed, sealing.windowKey(CHAIN, 1)))).toBe('SEALED_UNREADABLE')
  })
})

describe('EnclaveService construction', () => {
  it('refuses a malformed identity or scale', () => {
    const root = generateKeyPair()
    const platform = generateKeyPair()
    const cert = certifyPlatform(root.secretKey, 'p', platform.publicKey, 1)
    const attest = simAttester(cert, platform.secretKey, 'p', new Uint8Array(32))
    const identity = { enclaveId: 'e', platform: 'p', measurement: new Uint8Array(32), secretKey: new Uint8Array(32) }
    const ledger = testLedgerTrust()
    expect(codeOf(() => new EnclaveService({ identity: { ...identity, secretKey: new Uint8Array(31) }, attest, ledger }))).toBe('BAD_REQUEST')
    expect(codeOf(() => new EnclaveService({ identity: { ...identity, enclaveId: 'not an id' }, attest, ledger }))).toBe('BAD_REQUEST')
    expect(codeOf(() => new EnclaveService({ identity, attest, scale: 3, ledger }))).toBe('BAD_REQUEST')
    // the genesis must hash to the pinned hash
    expect(codeOf(() => new EnclaveService({ identity, attest, ledger: { ...ledger, genesisHash: new Uint8Array(32) } }))).toBe('BAD_REQUEST')
    expect(codeOf(() => new EnclaveService({ identity, attest, ledger }))).toBeUndefined()
  })
})
