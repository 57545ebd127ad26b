/**
 * The off-ledger attestation policy: what a participant (a bank) checks locally
 * before it encrypts anything to an enclave's round key. A policy is plain data —
 * the allowed evidence formats, each format's trust anchors, the allow-list of
 * enclave measurements, the maximum evidence age, whether debug enclaves are
 * tolerated (never by default, never in production) and whether a revocation
 * list is required (optionally from a named issuer). `productionPolicy` refuses
 * `sim-v1` outright; `testnetPolicy` allows it. `verifyAttested` runs the format's
 * verifier (signatures, chain to an anchor, age) and then the policy, in order:
 * format, evidence, debug, measurement, platform, nonce, bound keys, revocation.
 * The revocation list (see revocation-list.ts) is signed by the root, names
 * revoked platforms, measurements and keys, and must be fresh (`at` ≤ nextUpdate);
 * a list's rollback protection lives in its tracker. Every refusal is an
 * `AttestationError` with its own code.
 */
import { isLedgerError, type AttestationVerifier, type VerifiedEvidence } from '../../ledger/index.ts'
import { bytesEqual, toHex } from '../../primitives/index.ts'
import { AttestationError } from './errors.ts'
import type { RevocationList } from './revocation-list.ts'
import { SIM_FORMAT } from './sim.ts'

export interface AttestationPolicy {
  production: boolean
  /** allowed evidence formats */
  formats: string[]
  /** each allowed format's trust anchors (sim-v1: root public keys; hardware: vendor root fingerprints) */
  trustAnchors: Record<string, Uint8Array[]>
  /** allow-list of enclave measurements */
  measurements: Uint8Array[]
  maxAgeSeconds: number
  /** false by default; never true in production */
  allowDebug?: boolean
  requireRevocationList: boolean
  /** when set, a revocation list must come from this issuer */
  revocationIssuer?: string
}

export type AttestationPolicyOptions = Omit<AttestationPolicy, 'production'>

/** What the caller expects the evidence to attest. */
export interface AttestationExpectation {
  /** unix seconds: the local time */
  at: number
  /** e.g. evidenceNonce(chainId, 'enclave.round-key', roundId) */
  nonce: Uint8Array
  platform?: string
  measurement?: Uint8Array
  /** keys that must all be bound into the evidence (e.g. the round key) */
  keys: Uint8Array[]
}

/** Evidence as carried by a transaction. */
export interface AttestedEvidence {
  format: string
  evidence: Uint8Array
}

const badPolicy = (why: string) => new AttestationError('BAD_POLICY', `attestation policy: ${why}`)
const short = (b: Uint8Array) => `${toHex(b).slice(0, 16)}…`

/** A production policy: hardware formats only, debug refused. */
export function productionPolicy(options: AttestationPolicyOptions): AttestationPolicy {
  if (Array.isArray(options.formats) && options.formats.includes(SIM_FORMAT)) {
    throw new AttestationError('SIMULATED_IN_PRODUCTION', `attestation policy: '${SIM_FORMAT}' proves nothing about isolation and is refused in production`)
  }
  if (options.allowDebug === true) throw badPolicy('a production policy cannot allow debug enclaves')
  return checked({ ...options, production: true })
}

/** A testnet policy: may list sim-v1. */
export function testnetPolicy(options: AttestationPolicyOptions): AttestationPolicy {
  return checked({ ...options, production: false })
}

function checked(p: AttestationPolicy): AttestationPolicy {
  if (!Array.isArray(p.formats) || p.formats.length === 0) throw badPolicy('no evidence format is allowed')
  if (new Set(p.formats).size !== p.formats.length) throw badPolicy('a format is listed twice')
  const trustAnchors: Record<string, Uint8Array[]> = {}
  for (const format of p.formats) {
    if (typeof format !== 'string' || format.length === 0) throw badPolicy('a format name is empty')
    const anchors = p.trustAnchors !== null && typeof p.trustAnchors === 'object' && Object.hasOwn(p.trustAnchors, format) ? p.trustAnchors[format] : undefined
    if (!Array.isArray(anchors) || anchors.length === 0) throw badPolicy(`format '${format}' has no trust anchors`)
    if (!anchors.every((a) => a instanceof Uint8Array && a.length > 0)) throw badPolicy(`format '${format}' has an empty trust anchor`)
    trustAnchors[format] = anchors.map((a) => a.slice())
  }
  if (!Array.isArray(p.measurements) || p.measurements.length === 0) throw badPolicy('the measurement allow-list is empty')
  if (!p.measurements.every((m) => m instanceof Uint8Array && m.length > 0)) throw badPolicy('the measurement allow-list holds an empty measurement')
  if (!Number.isSafeInteger(p.maxAgeSeconds) || p.maxAgeSeconds <= 0) throw badPolicy(`maxAgeSeconds must be a positive integer, got ${String(p.maxAgeSeconds)}`)
  if (typeof p.requireRevocationList !== 'boolean') throw badPolicy('requireRevocationList must be a boolean')
  if (p.allowDebug !== undefined && typeof p.allowDebug !== 'boolean') throw badPolicy('allowDebug must be a boolean')
  if (p.revocationIssuer !== undefined && (typeof p.revocationIssuer !== 'string' || p.revocationIssuer.length === 0)) throw badPolicy('revocationIssuer is empty')
  const out: AttestationPolicy = {
    production: p.production,
    formats: [...p.formats],
    trustAnchors,
    measurements: p.measurements.map((m) => m.slice()),
    maxAgeSeconds: p.maxAgeSeconds,
    allowDebug: p.allowDebug === true,
    requireRevocationList: p.requireRevocationList,
  }
  if (p.revocationIssuer !== undefined) out.revocationIssuer = p.revocationIssuer
  return out
}

/**
 * Verifies `att` with the format's verifier and then applies `policy` and
 * `expect`; returns what the evidence attests, or throws an AttestationError.
 * `revocations` is a list already verified by parseRevocationList (typically
 * `tracker.current(issuer, at)`).
 */
export function verifyAttested(verifier: AttestationVerifier, policy: AttestationPolicy, att: AttestedEvidence, expect: AttestationExpectation, revocations?: RevocationList): VerifiedEvidence {
  const { at } = expect
  if (policy.production && att.format === SIM_FORMAT) throw new AttestationError('SIMULATED_IN_PRODUCTION', `'${SIM_FORMAT}' evidence is refused in production`)
  if (!policy.formats.includes(att.format)) throw new AttestationError('FORMAT_NOT_ALLOWED', `evidence format '${att.format}' is not allowed by the policy`)
  const trustAnchors = Object.hasOwn(policy.trustAnchors, att.format) ? (policy.trustAnchors[att.format] ?? []) : []
  let v: VerifiedEvidence
  try {
    v = verifier.verify(att.format, att.evidence, { at, maxAgeSeconds: policy.maxAgeSeconds, trustAnchors })
  } catch (e) {
    if (isLedgerError(e)) throw new AttestationError('EVIDENCE_REJECTED', e.message, { cause: e })
    throw e
  }
  if (v.format !== att.format) throw new AttestationError('EVIDENCE_REJECTED', `verifier returned format '${v.format}' for '${att.format}' evidence`)
  if (v.debug && (policy.production || policy.allowDebug !== true)) throw new AttestationError('DEBUG_MODE', `enclave on platform '${v.platform}' runs in debug mode`)
  if (!policy.measurements.some((m) => bytesEqual(m, v.measurement))) throw new AttestationError('MEASUREMENT_NOT_ALLOWED', `measurement ${short(v.measurement)} is not on the allow-list`)
  if (expect.measurement !== undefined && !bytesEqual(expect.measurement, v.measurement)) {
    throw new AttestationError('MEASUREMENT_NOT_ALLOWED', `measurement ${short(v.measurement)} is not the expected ${short(expect.measurement)}`)
  }
  if (expect.platform !== undefined && v.platform !== expect.platform) throw new AttestationError('PLATFORM_MISMATCH', `evidence is for platform '${v.platform}', not '${expect.platform}'`)
  if (!bytesEqual(v.nonce, expect.nonce)) throw new AttestationError('NONCE_MISMATCH', 'evidence was made for another nonce (another purpose, round or chain)')
  for (const key of expect.keys) {
    if (!v.boundKeys.some((k) => bytesEqual(k, key))) throw new AttestationError('KEY_NOT_BOUND', `key ${short(key)} is not bound into the evidence`)
  }
  checkRevocations(policy, v, at, revocations)
  return v
}

function checkRevocations(policy: AttestationPolicy, v: VerifiedEvidence, at: number, list: RevocationList | undefined): void {
  if (list === undefined) {
    if (policy.requireRevocationList) throw new AttestationError('NO_REVOCATION_LIST', 'the policy requires a revocation list and none was given')
    return
  }
  if (policy.revocationIssuer !== undefined && list.issuer !== policy.revocationIssuer) {
    throw new AttestationError('BAD_REVOCATION_LIST', `revocation list is from '${list.issuer}', the policy wants '${policy.revocationIssuer}'`)
  }
  if (list.nextUpdate < at) throw new AttestationError('STALE_REVOCATION_LIST', `revocation list '${list.issuer}' #${list.serial} expired at ${list.nextUpdate} (now ${at})`)
  const { platforms, measurements, keys } = list.revoked
  if (platforms.includes(v.platform)) throw new AttestationError('REVOKED_PLATFORM', `platform '${v.platform}' is revoked by list '${list.issuer}' #${list.serial}`)
  if (measurements.some((m) => bytesEqual(m, v.measurement))) throw new AttestationError('REVOKED_MEASUREMENT', `measurement ${short(v.measurement)} is revoked by list '${list.issuer}' #${list.serial}`)
  const revokedKey = v.boundKeys.find((k) => keys.some((r) => bytesEqual(r, k)))
  if (revokedKey !== undefined) throw new AttestationError('REVOKED_KEY', `bound key ${short(revokedKey)} is revoked by list '${list.issuer}' #${list.serial}`)
}
