// The off-ledger attestation policy a participant applies before encrypting to a
// round key: every refusal code on sim-v1 evidence (each against a baseline that
// passes), and production policy refusing sim-v1 while accepting a real AWS Nitro
// document at the pinned time nitro.test.ts uses.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { isAttestationError, type AttestationError, type AttestationErrorCode } from '../../../enclave/attestation/errors.ts'
import { NITRO_FORMAT, NITRO_ROOT_SHA256, NitroAttestationVerifier } from '../../../enclave/attestation/nitro.ts'
import { productionPolicy, testnetPolicy, verifyAttested, type AttestationExpectation, type AttestationPolicy, type AttestationPolicyOptions } from '../../../enclave/attestation/policy.ts'
import { issueSimRevocationList, parseRevocationList, RevocationListTracker, type RevocationList, type RevocationListBody } from '../../../enclave/attestation/revocation-list.ts'
import { certifyPlatform, issueSimEvidence, SIM_FORMAT, SimAttestationVerifier, type SimReport } from '../../../enclave/attestation/sim.ts'
import { AttestationVerifierRegistry, evidenceNonce } from '../../../ledger/index.ts'
import { fromHex, keyPairFromSeed, sha256 } from '../../../primitives/index.ts'

const keys = (name: string) => keyPairFromSeed(sha256(new TextEncoder().encode(name)))
const utf8 = (s: string) => new TextEncoder().encode(s)
const T = 1_700_000_000
const root = keys('sim-root')
const platform = keys('sim-platform-1')
const roundKey = keys('round-key').publicKey
const M = sha256(utf8('enclave bundle v1'))
const cert = certifyPlatform(root.secretKey, 'sim-platform-1', platform.publicKey, T + 30 * 86_400)
const GENESIS = new Uint8Array(32).fill(7)
const nonce = evidenceNonce('fedledger-test', 'enclave.round-key', 'round-1', GENESIS)
const report: SimReport = { platform: 'sim-platform-1', measurement: M, keys: [roundKey], nonce, timestamp: T, debug: false }
const sim = (over: Partial<SimReport> = {}, platformKey = platform.secretKey) => ({ format: SIM_FORMAT, evidence: issueSimEvidence(cert, platformKey, { ...report, ...over }) })

const registry = new AttestationVerifierRegistry().register(SIM_FORMAT, new SimAttestationVerifier()).register(NITRO_FORMAT, new NitroAttestationVerifier())
const simOptions = (over: Partial<AttestationPolicyOptions> = {}): AttestationPolicyOptions => ({
  formats: [SIM_FORMAT],
  trustAnchors: { [SIM_FORMAT]: [root.publicKey] },
  measurements: [M],
  maxAgeSeconds: 3600,
  requireRevocationList: true,
  revocationIssuer: 'testnet-root',
  ...over,
})
const policy = testnetPolicy(simOptions())
const expected = (over: Partial<AttestationExpectation> = {}): AttestationExpectation => ({ at: T + 60, nonce, platform: 'sim-platform-1', measurement: M, keys: [roundKey], ...over })
const noneRevoked = { platforms: ['sim-platform-9'], measurements: [sha256(utf8('old bundle'))], keys: [keys('leaked').publicKey] }
const crl = (over: Partial<Omit<RevocationListBody, 'format'>> = {}): RevocationList =>
  parseRevocationList(issueSimRevocationList(root.secretKey, { issuer: 'testnet-root', serial: 1, issuedAt: T - 3600, nextUpdate: T + 86_400, revoked: noneRevoked, ...over }), [root.publicKey])
const list = crl()

function expectCode(fn: () => unknown, code: AttestationErrorCode, why?: RegExp): void {
  let thrown: unknown
  try {
    fn()
  } catch (e) {
    thrown = e
  }
  expect(isAttestationError(thrown), `expected an AttestationError ${code}, got ${String(thrown)}`).toBe(true)
  expect((thrown as AttestationError).code).toBe(code)
  if (why !== undefined) expect((thrown as AttestationError).message).toMatch(why)
}

describe('verifyAttested under a testnet policy (sim-v1)', () => {
  it('accepts good evidence with a fresh revocation list, and returns what it attests', () => {
    const v = verifyAttested(registry, policy, sim(), expected(), list)
    expect(v).toMatchObject({ format: SIM_FORMAT, platform: 'sim-platform-1', debug: false })
    expect(v.measurement).toEqual(M)
    expect(v.boundKeys).toEqual([roundKey])
    // the same through a tracker, as a participant holds it
    const tracker = new RevocationListTracker()
    tracker.accept(issueSimRevocationList(root.secretKey, { issuer: 'testnet-root', serial: 1, issuedAt: T, nextUpdate: T + 600, revoked: noneRevoked }), { at: T + 60, trustAnchors: [root.publicKey] })
    expect(verifyAttested(registry, policy, sim(), expected(), tracker.current('testnet-root', T + 60)).platform).toBe('sim-platform-1')
    // optional expectations may be left out
    expect(verifyAttested(registry, policy, sim(), { at: T + 60, nonce, keys: [] }, list).platform).toBe('sim-platform-1')
  })

  it('refuses a format the policy does not list (FORMAT_NOT_ALLOWED)', () => {
    const nitroOnly = testnetPolicy(simOptions({ formats: [NITRO_FORMAT], trustAnchors: { [NITRO_FORMAT]: [NITRO_ROOT_SHA256] } }))
    expectCode(() => verifyAttested(registry, nitroOnly, sim(), expected(), list), 'FORMAT_NOT_ALLOWED', /'sim-v1' is not allowed/)
    expectCode(() => verifyAttested(registry, policy, { ...sim(), format: 'intel-dcap-v1' }, expected(), list), 'FORMAT_NOT_ALLOWED')
  })

  it("wraps the format verifier's refusal with its reason (EVIDENCE_REJECTED)", () => {
    expectCode(() => verifyAttested(registry, policy, sim({}, keys('impostor').secretKey), expected(), list), 'EVIDENCE_REJECTED', /report signature/)
    expectCode(() => verifyAttested(registry, policy, sim(), expected({ at: T + 3601 }), list), 'EVIDENCE_REJECTED', /3601 s old, limit 3600/)
    const otherRoot = testnetPolicy(simOptions({ trustAnchors: { [SIM_FORMAT]: [keys('other-root').publicKey] } }))
    expectCode(() => verifyAttested(registry, otherRoot, sim(), expected(), list), 'EVIDENCE_REJECTED', /trusted root/)
    // a verifier that answers for another format than the one asked is not believed
    const confused = { supports: () => true, verify: (...args: Parameters<SimAttestationVerifier['verify']>) => ({ ...new SimAttestationVerifier().verify(...args), format: NITRO_FORMAT }) }
    expectCode(() => verifyAttested(confused, policy, sim(), expected(), list), 'EVIDENCE_REJECTED', /returned format/)
  })

  it('refuses a debug enclave unless the testnet policy allows it (DEBUG_MODE)', () => {
    expectCode(() => verifyAttested(registry, policy, sim({ debug: true }), expected(), list), 'DEBUG_MODE')
    expect(verifyAttested(registry, testnetPolicy(simOptions({ allowDebug: true })), sim({ debug: true }), expected(), list).debug).toBe(true)
  })

  it('refuses a measurement off the allow-list or other than the expected one (MEASUREMENT_NOT_ALLOWED)', () => {
    const other = sha256(utf8('enclave bundle v2'))
    expectCode(() => verifyAttested(registry, testnetPolicy(simOptions({ measurements: [other] })), sim(), expected(), list), 'MEASUREMENT_NOT_ALLOWED', /allow-list/)
    const both = testnetPolicy(simOptions({ measurements: [M, other] }))
    expectCode(() => verifyAttested(registry, both, sim(), expected({ measurement: other }), list), 'MEASUREMENT_NOT_ALLOWED', /expected/)
  })

  it('refuses another platform, another nonce, a key not bound (PLATFORM_MISMATCH, NONCE_MISMATCH, KEY_NOT_BOUND)', () => {
    expectCode(() => verifyAttested(registry, policy, sim(), expected({ platform: 'sim-platform-2' }), list), 'PLATFORM_MISMATCH')
    // evidence made for registering, or for another round or chain, is not a round-key attestation
    for (const n of [evidenceNonce('fedledger-test', 'enclave.register', 'round-1'), evidenceNonce('fedledger-test', 'enclave.round-key', 'round-2', GENESIS), evidenceNonce('other-chain', 'enclave.round-key', 'round-1', GENESIS), evidenceNonce('fedledger-test', 'enclave.round-key', 'round-1', new Uint8Array(32))]) {
      expectCode(() => verifyAttested(registry, policy, sim(), expected({ nonce: n }), list), 'NONCE_MISMATCH')
    }
    expectCode(() => verifyAttested(registry, policy, sim(), expected({ keys: [roundKey, keys('other-key').publicKey] }), list), 'KEY_NOT_BOUND')
  })

  it('refuses a revoked platform, measurement or bound key (REVOKED_*)', () => {
    const cases: Array<[Partial<typeof noneRevoked>, AttestationErrorCode]> = [
      [{ platforms: ['sim-platform-1'] }, 'REVOKED_PLATFORM'],
      [{ measurements: [M] }, 'REVOKED_MEASUREMENT'],
      [{ keys: [roundKey] }, 'REVOKED_KEY'],
    ]
    for (const [revoked, code] of cases) {
      expectCode(() => verifyAttested(registry, policy, sim(), expected(), crl({ serial: 2, revoked: { ...noneRevoked, ...revoked } })), code, /revoked by list 'testnet-root' #2/)
    }
    // a key bound into the evidence but not asked for is still checked
    const extra = keys('second-bound-key').publicKey
    expectCode(() => verifyAttested(registry, policy, sim({ keys: [roundKey, extra] }), expected(), crl({ revoked: { ...noneRevoked, keys: [extra] } })), 'REVOKED_KEY')
  })

  it('requires a fresh list from the named issuer when the policy says so (NO_ / STALE_ / BAD_REVOCATION_LIST)', () => {
    expectCode(() => verifyAttested(registry, policy, sim(), expected()), 'NO_REVOCATION_LIST')
    expect(verifyAttested(registry, testnetPolicy(simOptions({ requireRevocationList: false })), sim(), expected()).platform).toBe('sim-platform-1')
    expectCode(() => verifyAttested(registry, policy, sim(), expected(), crl({ nextUpdate: T + 59 })), 'STALE_REVOCATION_LIST', /expired at/)
    expect(verifyAttested(registry, policy, sim(), expected(), crl({ nextUpdate: T + 60 })).platform).toBe('sim-platform-1')
    expectCode(() => verifyAttested(registry, policy, sim(), expected(), crl({ issuer: 'someone-else' })), 'BAD_REVOCATION_LIST', /wants 'testnet-root'/)
  })
})

describe('policy constructors', () => {
  it('refuse policies that cannot be right (BAD_POLICY)', () => {
    const bad: Array<Partial<AttestationPolicyOptions>> = [
      { formats: [] },
      { formats: [SIM_FORMAT, SIM_FORMAT] },
      { formats: [SIM_FORMAT, NITRO_FORMAT] }, // no Nitro anchors
      { trustAnchors: { [SIM_FORMAT]: [] } },
      { measurements: [] },
      { measurements: [new Uint8Array(0)] },
      { maxAgeSeconds: 0 },
      { maxAgeSeconds: 1.5 },
      { revocationIssuer: '' },
      { formats: [''], trustAnchors: { '': [root.publicKey] } },
      { trustAnchors: { [SIM_FORMAT]: [new Uint8Array(0)] } },
      // plain data from a config file: wrong kinds are refused, not coerced
      { requireRevocationList: 'yes' as never },
      { allowDebug: 1 as never },
    ]
    for (const over of bad) expectCode(() => testnetPolicy(simOptions(over)), 'BAD_POLICY')
    expectCode(() => productionPolicy({ ...simOptions(), formats: [NITRO_FORMAT], trustAnchors: { [NITRO_FORMAT]: [NITRO_ROOT_SHA256] }, allowDebug: true }), 'BAD_POLICY', /debug/)
  })

  it('copy their input, so later changes to the caller’s arrays do not widen the policy', () => {
    const measurements = [M]
    const p = testnetPolicy(simOptions({ measurements }))
    measurements.push(sha256(utf8('anything')))
    expect(p.measurements).toHaveLength(1)
    expect(p).toMatchObject({ production: false, allowDebug: false, requireRevocationList: true })
  })
})

// aws-nitro-v1 fixtures (see nitro.test.ts): judged one minute after the document was made
const nitroFixture = (file: string) => new Uint8Array(readFileSync(new URL(`./fixtures/aws-nitro/${file}`, import.meta.url)))
const genuine = {
  evidence: nitroFixture('enclave-2022-09-15.cose'),
  at: Math.floor(1663263808848 / 1000) + 60,
  platform: 'i-0697c9729fa547b20-enc0183422ede9a5dc8',
  pcr0: fromHex('ea4212ee889ba1b4dbfe744aadecca8b1930de60a3a1ce3b0c79f42b231700fc561c3d9b34f0565ed9eb6f460996624c'),
  publicKey: fromHex('15db1c67adc9fce91f7da323c708b6e639f0585af8a4a091127f2dfdcfeaf808'),
  nonce: fromHex('47b5fba6979cbf7e567e2629'),
}
const debugDoc = { evidence: nitroFixture('debug-enclave-2022-07-14.cose'), at: Math.floor(1657831567740 / 1000) + 60, nonce: fromHex('d7ddfbf3cdf9'), pcr0: new Uint8Array(48) }
const nitroOptions: AttestationPolicyOptions = { formats: [NITRO_FORMAT], trustAnchors: { [NITRO_FORMAT]: [NITRO_ROOT_SHA256] }, measurements: [genuine.pcr0, debugDoc.pcr0], maxAgeSeconds: 600, requireRevocationList: false }
const nitroExpect = { at: genuine.at, nonce: genuine.nonce, platform: genuine.platform, measurement: genuine.pcr0, keys: [genuine.publicKey] }

describe('production policy', () => {
  it('refuses to list sim-v1 (SIMULATED_IN_PRODUCTION)', () => {
    expectCode(() => productionPolicy(simOptions()), 'SIMULATED_IN_PRODUCTION')
    expectCode(() => productionPolicy({ ...nitroOptions, formats: [NITRO_FORMAT, SIM_FORMAT], trustAnchors: { ...nitroOptions.trustAnchors, [SIM_FORMAT]: [root.publicKey] } }), 'SIMULATED_IN_PRODUCTION')
  })

  it('refuses sim-v1 evidence even when someone listed it by hand, where a testnet policy accepts it', () => {
    const handMade: AttestationPolicy = { ...policy, production: true }
    expect(verifyAttested(registry, policy, sim(), expected(), list).platform).toBe('sim-platform-1')
    expectCode(() => verifyAttested(registry, handMade, sim(), expected(), list), 'SIMULATED_IN_PRODUCTION')
    // and a real production policy refuses it as simulated, not merely as unlisted
    expectCode(() => verifyAttested(registry, productionPolicy(nitroOptions), sim(), expected(), list), 'SIMULATED_IN_PRODUCTION')
  })

  it('accepts a genuine AWS Nitro document at its pinned time, and refuses it when revoked or stale', () => {
    const prod = productionPolicy(nitroOptions)
    const v = verifyAttested(registry, prod, { format: NITRO_FORMAT, evidence: genuine.evidence }, nitroExpect)
    expect(v).toMatchObject({ format: NITRO_FORMAT, platform: genuine.platform, debug: false })
    expect(v.boundKeys).toEqual([genuine.publicKey])
    // the revocation list applies to hardware platforms too
    const revoked = parseRevocationList(issueSimRevocationList(root.secretKey, { issuer: 'consortium', serial: 1, issuedAt: genuine.at - 60, nextUpdate: genuine.at + 3600, revoked: { platforms: [genuine.platform], measurements: [], keys: [] } }), [root.publicKey])
    expectCode(() => verifyAttested(registry, prod, { format: NITRO_FORMAT, evidence: genuine.evidence }, nitroExpect, revoked), 'REVOKED_PLATFORM')
    expectCode(() => verifyAttested(registry, prod, { format: NITRO_FORMAT, evidence: genuine.evidence }, { ...nitroExpect, at: genuine.at + 600 }), 'EVIDENCE_REJECTED', /old, limit 600/)
  })

  it('refuses a debug Nitro enclave, even if allowDebug was set by hand', () => {
    const att = { format: NITRO_FORMAT, evidence: debugDoc.evidence }
    const expectDebug = { at: debugDoc.at, nonce: debugDoc.nonce, keys: [] }
    const handMade: AttestationPolicy = { ...productionPolicy(nitroOptions), allowDebug: true }
    expectCode(() => verifyAttested(registry, handMade, att, expectDebug), 'DEBUG_MODE')
    // the same document passes a testnet policy that allows debug: the refusal is the production rule
    expect(verifyAttested(registry, testnetPolicy({ ...nitroOptions, allowDebug: true }), att, expectDebug).debug).toBe(true)
  })
})
