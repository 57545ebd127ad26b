// Property tests: random updates round-trip through seal → check; any single altered byte is rejected, never thrown.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkUpdate, ciphertextCid, clipToNorm, decryptUpdate, generateRoundKey, sealUpdate } from '../../../enclave/updates/index.ts'
import { decode, encode } from '../../../primitives/index.ts'
import { keysFor } from '../../ledger/harness.ts'

const CHAIN = 'fedledger-test'
const roundKey = generateRoundKey()
const member = keysFor('bank-a')
const ctx = { chain: CHAIN, round: 'r7', member: 'bank-a' }

const updateArb = fc
  .tuple(fc.array(fc.float({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 64 }), fc.double({ min: 0.01, max: 5, noNaN: true }))
  .map(([values, clip]) => ({ update: clipToNorm(values, clip), clip }))

function seal(update: Float32Array) {
  return sealUpdate({ ...ctx, memberSecretKey: member.secretKey, roundPublicKey: roundKey.publicKey, update })
}

function check(s: ReturnType<typeof seal>, clip: number, dimension: number, envelope = s.envelope) {
  return checkUpdate({
    ...ctx,
    memberPublicKey: member.publicKey,
    statement: s.statement,
    statementSig: s.statementSig,
    envelope,
    committedCiphertext: ciphertextCid(envelope), // as if the altered envelope had been committed
    roundSecretKey: roundKey.secretKey,
    clipNorm: clip,
    dimension,
  })
}

describe('encrypted update properties', () => {
  it('random clipped updates round-trip bit for bit', () => {
    fc.assert(
      fc.property(updateArb, ({ update, clip }) => {
        const r = check(seal(update), clip, update.length)
        expect(r.ok).toBe(true)
        if (r.ok) expect(Buffer.from(r.update.buffer).equals(Buffer.from(update.buffer))).toBe(true)
      }),
      { numRuns: 100, seed: 11 },
    )
  })

  it('a flipped byte in the ciphertext, nonce or ephemeral key fails decryption', () => {
    const field = fc.constantFrom('ciphertext' as const, 'nonce' as const, 'ephemeralPublicKey' as const)
    fc.assert(
      fc.property(updateArb, field, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ update, clip }, name, at, mask) => {
        const s = seal(update)
        const env = decode<Record<string, Uint8Array>>(s.envelope)
        const bytes = env[name]!.slice()
        bytes[at % bytes.length]! ^= mask
        const altered = encode({ ...env, [name]: bytes })
        const opened = decryptUpdate({ ...ctx, roundSecretKey: roundKey.secretKey, envelope: altered })
        expect(opened.ok ? 'OK' : opened.reason).toBe('DECRYPT_FAILED')
        const r = check(s, clip, update.length, altered)
        expect(r.ok ? 'OK' : r.reason).toBe('DECRYPT_FAILED')
      }),
      { numRuns: 300, seed: 12 },
    )
  })

  it('any altered byte of the envelope is rejected with a reason (and the original CID no longer matches)', () => {
    fc.assert(
      fc.property(updateArb, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ update, clip }, at, mask) => {
        const s = seal(update)
        const altered = s.envelope.slice()
        altered[at % altered.length]! ^= mask
        const r = check(s, clip, update.length, altered)
        expect(r.ok).toBe(false)
        if (!r.ok) expect(['MALFORMED', 'DECRYPT_FAILED', 'WRONG_LENGTH']).toContain(r.reason)
        expect(ciphertextCid(altered).equals(s.ciphertext)).toBe(false)
      }),
      { numRuns: 500, seed: 13 },
    )
  })
})
