// The sim-v1 revocation list: issued and verified against the root, and the
// tracker's refusals (rollback, conflict, stale, not yet valid), including
// rollback protection across an export/import of its high-water marks.
import { describe, expect, it } from 'vitest'
import { AttestationError, isAttestationError, type AttestationErrorCode } from '../../../enclave/attestation/errors.ts'
import { issueSimRevocationList, MAX_REVOCATION_LIST_BYTES, parseRevocationList, RevocationListTracker, type RevocationListBody } from '../../../enclave/attestation/revocation-list.ts'
import { DomainTag, encode, keyPairFromSeed, sha256, signPayload } from '../../../primitives/index.ts'

const keys = (name: string) => keyPairFromSeed(sha256(new TextEncoder().encode(name)))
const root = keys('crl-root')
const otherRoot = keys('crl-other-root')
const T = 1_700_000_000
const DAY = 86_400
const measurement = sha256(new TextEncoder().encode('bad bundle'))

type Input = Omit<RevocationListBody, 'format'>
const body = (over: Partial<Input> = {}): Input => ({
  issuer: 'testnet-root',
  serial: 5,
  issuedAt: T,
  nextUpdate: T + DAY,
  revoked: { platforms: ['sim-platform-9'], measurements: [measurement], keys: [keys('leaked').publicKey] },
  ...over,
})
const issue = (over: Partial<Input> = {}, secret = root.secretKey) => issueSimRevocationList(secret, body(over))
const anchors = [root.publicKey]

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

describe('sim-v1 revocation list', () => {
  it('round-trips through issue and parse, naming the anchor that signed it', () => {
    const list = parseRevocationList(issue(), [otherRoot.publicKey, root.publicKey])
    expect(list).toMatchObject({ format: 'sim-v1-crl', issuer: 'testnet-root', serial: 5, issuedAt: T, nextUpdate: T + DAY })
    expect(list.revoked.platforms).toEqual(['sim-platform-9'])
    expect(list.revoked.measurements).toEqual([measurement])
    expect(list.signer).toEqual(root.publicKey)
    expect(list.digest).toHaveLength(32)
  })

  it('refuses a list not signed by a trust anchor, tampered, malformed or oversized (BAD_REVOCATION_LIST)', () => {
    expectCode(() => parseRevocationList(issue({}, otherRoot.secretKey), anchors), 'BAD_REVOCATION_LIST', /not signed by a trusted root/)
    expectCode(() => parseRevocationList(issue(), []), 'BAD_REVOCATION_LIST', /not signed/)
    // a body altered after signing: the platform revoked is dropped
    const signed = issue()
    const forged = encode({ body: { ...body(), format: 'sim-v1-crl', revoked: { ...body().revoked, platforms: [] } }, sig: signPayload(root.secretKey, DomainTag.SIM_REVOCATION_LIST, { ...body(), format: 'sim-v1-crl' }) })
    expect(parseRevocationList(signed, anchors).revoked.platforms).toHaveLength(1)
    expectCode(() => parseRevocationList(forged, anchors), 'BAD_REVOCATION_LIST', /not signed/)
    // signed with another domain tag (a platform certificate's) does not verify
    const wrongTag = encode({ body: { ...body(), format: 'sim-v1-crl' }, sig: signPayload(root.secretKey, DomainTag.SIM_PLATFORM_CERT, { ...body(), format: 'sim-v1-crl' }) })
    expectCode(() => parseRevocationList(wrongTag, anchors), 'BAD_REVOCATION_LIST', /not signed/)
    // well signed but schema-invalid: nextUpdate not after issuedAt, unknown field, wrong format tag
    for (const bad of [{ ...body({ nextUpdate: T }), format: 'sim-v1-crl' }, { ...body(), format: 'sim-v1-crl', extra: 1 }, { ...body(), format: 'x509-crl' }]) {
      const bytes = encode({ body: bad, sig: signPayload(root.secretKey, DomainTag.SIM_REVOCATION_LIST, bad) })
      expectCode(() => parseRevocationList(bytes, anchors), 'BAD_REVOCATION_LIST', /malformed body/)
    }
    expectCode(() => parseRevocationList(new Uint8Array([0xff, 0x00]), anchors), 'BAD_REVOCATION_LIST')
    expectCode(() => parseRevocationList(encode({ body: body() }), anchors), 'BAD_REVOCATION_LIST', /\{ body, sig \}/)
    expectCode(() => parseRevocationList(new Uint8Array(MAX_REVOCATION_LIST_BYTES + 1), anchors), 'BAD_REVOCATION_LIST', /limit/)
    // the issuer cannot sign an invalid list either
    expectCode(() => issue({ nextUpdate: T - 1 }), 'BAD_REVOCATION_LIST', /nextUpdate/)
  })
})

describe('RevocationListTracker', () => {
  const at = T + 60

  it('holds the newest list per issuer and returns it while fresh', () => {
    const tracker = new RevocationListTracker()
    expectCode(() => tracker.current('testnet-root', at), 'NO_REVOCATION_LIST')
    tracker.accept(issue({ serial: 5 }), { at, trustAnchors: anchors })
    tracker.accept(issue({ serial: 6, revoked: { platforms: [], measurements: [], keys: [] } }), { at, trustAnchors: anchors })
    tracker.accept(issue({ issuer: 'other-issuer', serial: 1 }), { at, trustAnchors: anchors })
    expect(tracker.current('testnet-root', at).serial).toBe(6)
    expect(tracker.current('other-issuer', at).serial).toBe(1)
    // accepting the held list again is a no-op
    expect(tracker.accept(issue({ serial: 6, revoked: { platforms: [], measurements: [], keys: [] } }), { at, trustAnchors: anchors }).serial).toBe(6)
  })

  it('refuses a rollback to a lower serial, and a different list of the held serial', () => {
    const tracker = new RevocationListTracker()
    const v5 = issue({ serial: 5 })
    tracker.accept(v5, { at, trustAnchors: anchors })
    tracker.accept(issue({ serial: 7, revoked: { platforms: [], measurements: [], keys: [] } }), { at, trustAnchors: anchors })
    expectCode(() => tracker.accept(v5, { at, trustAnchors: anchors }), 'ROLLED_BACK_REVOCATION_LIST', /#5 is older than the accepted #7/)
    expectCode(() => tracker.accept(issue({ serial: 7 }), { at, trustAnchors: anchors }), 'CONFLICTING_REVOCATION_LIST')
    // neither refusal replaced the held list
    expect(tracker.current('testnet-root', at).revoked.platforms).toEqual([])
    // a fresh tracker takes the same v5: the refusal came from the held mark only
    expect(new RevocationListTracker().accept(v5, { at, trustAnchors: anchors }).serial).toBe(5)
  })

  it('refuses a stale list and a list issued in the future; a held list goes stale once past nextUpdate', () => {
    const tracker = new RevocationListTracker()
    const list = issue({ issuedAt: T, nextUpdate: T + DAY })
    expectCode(() => tracker.accept(list, { at: T + DAY + 1, trustAnchors: anchors }), 'STALE_REVOCATION_LIST', /expired/)
    expectCode(() => tracker.accept(issue({ issuedAt: T + 301, nextUpdate: T + DAY }), { at: T, trustAnchors: anchors }), 'BAD_REVOCATION_LIST', /not valid before/)
    // clock skew up to 300 s is tolerated; the last second of the window is still fresh
    expect(tracker.accept(issue({ issuedAt: T + 300, nextUpdate: T + DAY }), { at: T, trustAnchors: anchors }).serial).toBe(5)
    expect(tracker.current('testnet-root', T + DAY).serial).toBe(5)
    expectCode(() => tracker.current('testnet-root', T + DAY + 1), 'STALE_REVOCATION_LIST')
    expectCode(() => tracker.accept(issue({}, otherRoot.secretKey), { at, trustAnchors: anchors }), 'BAD_REVOCATION_LIST')
    expectCode(() => tracker.accept(issue(), { at: Number.NaN, trustAnchors: anchors }), 'BAD_REVOCATION_LIST', /integer unix seconds/)
  })

  it('keeps rollback protection across an export and import of its high-water marks', () => {
    const before = new RevocationListTracker()
    before.accept(issue({ serial: 5 }), { at, trustAnchors: anchors })
    before.accept(issue({ serial: 8, revoked: { platforms: [], measurements: [], keys: [] } }), { at, trustAnchors: anchors })
    before.accept(issue({ issuer: 'other-issuer', serial: 2 }), { at, trustAnchors: anchors })
    // what a participant writes to disk and reads back after a restart
    const persisted: unknown = JSON.parse(JSON.stringify(before.exportState()))
    expect(persisted).toEqual({ version: 1, marks: [{ issuer: 'other-issuer', serial: 2, digest: expect.stringMatching(/^[0-9a-f]{64}$/) }, { issuer: 'testnet-root', serial: 8, digest: expect.stringMatching(/^[0-9a-f]{64}$/) }] })

    const after = new RevocationListTracker()
    after.importState(persisted as ReturnType<RevocationListTracker['exportState']>)
    // the marks are known, the lists themselves must be fetched and accepted again
    expectCode(() => after.current('testnet-root', at), 'NO_REVOCATION_LIST')
    expectCode(() => after.accept(issue({ serial: 5 }), { at, trustAnchors: anchors }), 'ROLLED_BACK_REVOCATION_LIST')
    expectCode(() => after.accept(issue({ serial: 8 }), { at, trustAnchors: anchors }), 'CONFLICTING_REVOCATION_LIST')
    expect(after.accept(issue({ serial: 8, revoked: { platforms: [], measurements: [], keys: [] } }), { at, trustAnchors: anchors }).serial).toBe(8)
    expect(after.current('testnet-root', at).serial).toBe(8)
    expect(after.exportState()).toEqual(persisted)
  })

  it('merges imported marks (max serial wins) and refuses malformed or conflicting ones atomically', () => {
    const tracker = new RevocationListTracker()
    tracker.accept(issue({ serial: 9 }), { at, trustAnchors: anchors })
    const held = tracker.exportState().marks[0]!
    // an older persisted mark does not lower the held one
    tracker.importState({ version: 1, marks: [{ issuer: 'testnet-root', serial: 3, digest: '00'.repeat(32) }] })
    expect(tracker.current('testnet-root', at).serial).toBe(9)
    expectCode(() => tracker.importState({ version: 1, marks: [{ issuer: 'x', serial: 1, digest: '11'.repeat(32) }, { issuer: 'testnet-root', serial: 9, digest: '00'.repeat(32) }] }), 'CONFLICTING_REVOCATION_LIST')
    expect(tracker.exportState().marks.map((m) => m.issuer)).toEqual(['testnet-root']) // 'x' was not merged
    for (const bad of [{ version: 2, marks: [] }, { version: 1, marks: [{ issuer: 'a', serial: -1, digest: '00'.repeat(32) }] }, { version: 1, marks: [{ issuer: 'a', serial: 1, digest: 'zz' }] }, null]) {
      expectCode(() => tracker.importState(bad as never), 'BAD_REVOCATION_LIST', /tracker state/)
    }
    // a newer persisted mark replaces the held list: it must be accepted again, and 9 is now a rollback
    tracker.importState({ version: 1, marks: [{ ...held, serial: 10 }] })
    expectCode(() => tracker.current('testnet-root', at), 'NO_REVOCATION_LIST')
    expectCode(() => tracker.accept(issue({ serial: 9 }), { at, trustAnchors: anchors }), 'ROLLED_BACK_REVOCATION_LIST')
  })
})
