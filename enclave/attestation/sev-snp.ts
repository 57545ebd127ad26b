/**
 * `amd-sev-snp-v1`: AMD SEV-SNP attestation reports (ABI spec "ATTESTATION_REPORT",
 * versions 2–5, Milan and Genoa), verified offline.
 *
 * Evidence bytes are a DAG-CBOR envelope, since a report does not carry its certificates:
 *   { report: 1184-byte report, vcek: DER, ask: DER, ark: DER, keys: [public keys] }
 * Verification (trust comes only from the policy):
 *   ARK self-signed, CA, SHA-256 of its DER ∈ policy.trustAnchors (pinning; see
 *   SEV_SNP_MILAN_ARK_SHA256) → ASK signed by the ARK, CA → VCEK signed by the ASK,
 *   ECDSA P-384 (AMD signs the ARK/ASK/VCEK with RSASSA-PSS SHA-384, which node:crypto's
 *   X509Certificate.verify handles); every certificate valid at policy.at; the VCEK's
 *   hwID extension equals CHIP_ID and its TCB extensions equal REPORTED_TCB; the report
 *   is signed by a VCEK (KEY_INFO), SIGNATURE_ALGO = 1, and its ECDSA P-384 / SHA-384
 *   signature over bytes 0x000–0x29F verifies (r and s: little-endian 72-byte fields
 *   whose top 24 bytes must be zero).
 * Mapping to VerifiedEvidence:
 *   platform    = snpPlatformId(CHIP_ID): 'snp-' + the first 56 hex digits of SHA-256(CHIP_ID)
 *                 (a 64-byte chip id does not fit a 64-character ledger identifier)
 *   measurement = MEASUREMENT (48 bytes); debug = guest POLICY bit 19 (DEBUG allowed)
 *   nonce       = REPORT_DATA[0..32)
 *   boundKeys   = envelope `keys`, accepted only if REPORT_DATA[32..64) equals
 *                 SHA-256(DAG-CBOR ['fedledger/amd-sev-snp/bound-keys/v1', keys]):
 *                 a hash cannot be turned back into keys, so the keys travel in clear.
 *   The enclave builds REPORT_DATA with snpReportData(nonce, keys).
 * Time: a report has no timestamp, so its age cannot be checked and policy.maxAgeSeconds
 * does not apply; certificates are checked at policy.at (block time), and freshness comes
 * from the nonce, which binds the report to one purpose and subject on one chain
 * (evidenceNonce). Revocation (AMD's CRLs) is not checked here.
 */
import { X509Certificate, verify as verifySignature } from 'node:crypto'
import { z } from 'zod'
import { LedgerError, type AttestationVerifier, type EvidencePolicy, type VerifiedEvidence } from '../../ledger/index.ts'
import { bytesEqual, decode, encode, fromHex, sha256, toHex } from '../../primitives/index.ts'
import { childrenOf, readTlv, type Tlv } from './der.ts'

export const SEV_SNP_FORMAT = 'amd-sev-snp-v1'
/** SHA-256 of the DER of AMD's Milan root key certificate (ARK-Milan, 2020–2045): a trust anchor for chain policies. */
export const SEV_SNP_MILAN_ARK_SHA256: Uint8Array = fromHex('69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd')
export const SNP_REPORT_BYTES = 0x4a0
/** the signature covers bytes 0x000–0x29F */
export const SNP_SIGNED_BYTES = 0x2a0
const MIN_VERSION = 2
const MAX_VERSION = 5
const POLICY_DEBUG = 1n << 19n
const BOUND_KEYS_DOMAIN = 'fedledger/amd-sev-snp/bound-keys/v1'
const MAX_CERT_BYTES = 8 * 1024
const MAX_KEYS = 8

const Off = { version: 0x00, guestSvn: 0x04, policy: 0x08, vmpl: 0x30, sigAlgo: 0x34, keyInfo: 0x48, reportData: 0x50, measurement: 0x90, hostData: 0xc0, reportedTcb: 0x180, chipId: 0x1a0, sigR: 0x2a0, sigS: 0x2e8 } as const

/** TCB_VERSION component SVNs (Milan / Genoa layout: bootloader, TEE, 4 reserved, SNP, microcode). */
export interface SnpTcb {
  bootloader: number
  tee: number
  snp: number
  microcode: number
}

/** What a verified report states. */
export interface SnpReportFacts {
  version: number
  guestSvn: number
  policy: bigint
  debug: boolean
  vmpl: number
  reportData: Uint8Array
  measurement: Uint8Array
  hostData: Uint8Array
  chipId: Uint8Array
  reportedTcb: SnpTcb
  /** the VCEK's product name, e.g. 'Milan-B0' */
  product: string
  platform: string
}

export interface SnpCertChain {
  vcek: Uint8Array
  ask: Uint8Array
  ark: Uint8Array
}

export interface SnpEvidence extends SnpCertChain {
  report: Uint8Array
  keys: Uint8Array[]
}

const reject = (why: string) => new LedgerError('ATTESTATION_REJECTED', `${SEV_SNP_FORMAT}: ${why}`)
const sized = (min: number, max: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length >= min && v.length <= max, `expected ${min}..${max} bytes`)
const Envelope = z.strictObject({
  report: sized(SNP_REPORT_BYTES, SNP_REPORT_BYTES),
  vcek: sized(1, MAX_CERT_BYTES),
  ask: sized(1, MAX_CERT_BYTES),
  ark: sized(1, MAX_CERT_BYTES),
  keys: z.array(sized(1, 256)).max(MAX_KEYS),
})

/** The ledger platform id of a chip: 'snp-' + 56 hex digits of SHA-256(CHIP_ID). */
export function snpPlatformId(chipId: Uint8Array): string {
  return `snp-${toHex(sha256(chipId)).slice(0, 56)}`
}

function boundKeysDigest(keys: Uint8Array[]): Uint8Array {
  return sha256(encode([BOUND_KEYS_DOMAIN, keys]))
}

/** The REPORT_DATA an enclave requests its report with: nonce (32 bytes) ‖ digest of the bound keys (32 bytes). */
export function snpReportData(nonce: Uint8Array, keys: Uint8Array[]): Uint8Array {
  if (nonce.length !== 32) throw new LedgerError('BAD_ARGUMENT', 'an SEV-SNP evidence nonce is 32 bytes')
  const out = new Uint8Array(64)
  out.set(nonce, 0)
  out.set(boundKeysDigest(keys), 32)
  return out
}

/** The evidence bytes of format amd-sev-snp-v1 (certificates as DER). */
export function encodeSnpEvidence(evidence: SnpEvidence): Uint8Array {
  const { report, vcek, ask, ark, keys } = evidence
  return encode({ report, vcek, ask, ark, keys })
}

// ---- the VCEK's AMD extensions (node:crypto does not expose them), read with der.ts

function oidHex(dotted: string): string {
  const [a, b, ...rest] = dotted.split('.').map(Number)
  const out = [a! * 40 + b!]
  for (const arc of rest) {
    const groups = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80)
    out.push(...groups)
  }
  return Buffer.from(out).toString('hex')
}

const VcekExt = {
  product: oidHex('1.3.6.1.4.1.3704.1.2'),
  bootloader: oidHex('1.3.6.1.4.1.3704.1.3.1'),
  tee: oidHex('1.3.6.1.4.1.3704.1.3.2'),
  snp: oidHex('1.3.6.1.4.1.3704.1.3.3'),
  microcode: oidHex('1.3.6.1.4.1.3704.1.3.8'),
  hwId: oidHex('1.3.6.1.4.1.3704.1.4'),
} as const

/** extnID (hex of the OID's content) → extnValue content, from a certificate's DER. */
function extensions(der: Uint8Array): Map<string, Uint8Array> {
  const cert = readTlv(der, 0, der.length)
  const tbs = childrenOf(der, cert)[0]
  if (cert.tag !== 0x30 || tbs?.tag !== 0x30) throw new Error('not a certificate')
  const wrapper = childrenOf(der, tbs).find((t) => t.tag === 0xa3)
  const list = wrapper === undefined ? undefined : childrenOf(der, wrapper)[0]
  const out = new Map<string, Uint8Array>()
  if (list === undefined) return out
  for (const ext of childrenOf(der, list)) {
    const parts = childrenOf(der, ext)
    const id = parts[0]
    const value = parts[parts.length - 1]
    if (id?.tag !== 0x06 || value?.tag !== 0x04 || parts.length > 3) throw new Error('malformed extension')
    const key = toHex(der.subarray(id.start, id.end))
    if (out.has(key)) throw new Error('duplicate extension')
    out.set(key, der.subarray(value.start, value.end))
  }
  return out
}

/** A small DER INTEGER (an SVN, 0..255) or IA5String inside an extension value. */
function derValue(value: Uint8Array | undefined, tag: 0x02 | 0x16, what: string): Uint8Array {
  if (value === undefined) throw reject(`VCEK has no ${what} extension`)
  let t: Tlv
  try {
    t = readTlv(value, 0, value.length)
  } catch {
    throw reject(`VCEK ${what} extension is malformed`)
  }
  if (t.tag !== tag || t.end !== value.length || t.start === t.end) throw reject(`VCEK ${what} extension is malformed`)
  return value.subarray(t.start, t.end)
}

function svn(value: Uint8Array | undefined, what: string): number {
  const c = derValue(value, 0x02, what)
  if (c[0]! & 0x80 || c.length > 2 || (c.length === 2 && (c[0] !== 0 || c[1]! < 0x80))) throw reject(`VCEK ${what} extension is not an SVN`)
  return c[c.length - 1]!
}

// ---- the certificate chain

function parseCert(der: Uint8Array, name: string, at: number): X509Certificate {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(der)
  } catch (e) {
    throw reject(`${name} is not a certificate (${(e as Error).message})`)
  }
  if (!bytesEqual(new Uint8Array(cert.raw), der)) throw reject(`${name} is not exactly one DER certificate`)
  if (at < cert.validFromDate.getTime() / 1000) throw reject(`${name} certificate is not valid before ${cert.validFromDate.toISOString()}`)
  if (at > cert.validToDate.getTime() / 1000) throw reject(`${name} certificate expired at ${cert.validToDate.toISOString()}`)
  return cert
}

function requireSignedBy(child: X509Certificate, parent: X509Certificate, what: string): void {
  let ok = false
  try {
    ok = child.checkIssued(parent) && child.verify(parent.publicKey)
  } catch {
    ok = false
  }
  if (!ok) throw reject(what)
}

/** Verifies the chain ARK → ASK → VCEK at `at` and returns the VCEK. */
function verifyChain(chain: SnpCertChain, policy: Pick<EvidencePolicy, 'at' | 'trustAnchors'>): X509Certificate {
  const ark = parseCert(chain.ark, 'ARK', policy.at)
  const ask = parseCert(chain.ask, 'ASK', policy.at)
  const vcek = parseCert(chain.vcek, 'VCEK', policy.at)
  const fingerprint = sha256(chain.ark)
  if (!policy.trustAnchors.some((anchor) => bytesEqual(anchor, fingerprint))) throw reject(`ARK ${toHex(fingerprint)} is not a trust anchor of this chain`)
  requireSignedBy(ark, ark, 'ARK is not self-signed')
  requireSignedBy(ask, ark, 'ASK is not signed by the ARK')
  requireSignedBy(vcek, ask, 'VCEK is not signed by the ASK')
  if (!ark.ca || !ask.ca) throw reject('ARK and ASK must be CA certificates')
  const details = vcek.publicKey.asymmetricKeyDetails
  if (vcek.publicKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'secp384r1') throw reject('VCEK key is not ECDSA P-384')
  return vcek
}

// ---- the report

function littleEndianScalar(report: Uint8Array, at: number, what: string): Uint8Array {
  if (report.subarray(at + 48, at + 72).some((b) => b !== 0)) throw reject(`signature ${what} does not fit 48 bytes`)
  return report.slice(at, at + 48).reverse()
}

/**
 * Verifies a report and its certificate chain under the policy's trust anchors at
 * policy.at and returns what it states. REPORT_DATA is returned as is: interpreting it
 * (fedledger's nonce ‖ bound-keys layout) is SevSnpAttestationVerifier's job.
 */
export function verifySnpReport(report: Uint8Array, chain: SnpCertChain, policy: Pick<EvidencePolicy, 'at' | 'trustAnchors'>): SnpReportFacts {
  if (report.length !== SNP_REPORT_BYTES) throw reject(`a report is ${SNP_REPORT_BYTES} bytes, got ${report.length}`)
  if (!Number.isFinite(policy.at)) throw reject('verification time is not a number')
  const view = new DataView(report.buffer, report.byteOffset, report.byteLength)
  const version = view.getUint32(Off.version, true)
  if (version < MIN_VERSION || version > MAX_VERSION) throw reject(`unsupported report version ${version}`)
  const sigAlgo = view.getUint32(Off.sigAlgo, true)
  if (sigAlgo !== 1) throw reject(`unsupported signature algorithm ${sigAlgo} (1 = ECDSA P-384 with SHA-384)`)
  const signingKey = (view.getUint32(Off.keyInfo, true) >>> 2) & 0b111
  if (signingKey !== 0) throw reject(`report is not signed by a VCEK (KEY_INFO signing key ${signingKey})`)

  const vcek = verifyChain(chain, policy)
  let ext: Map<string, Uint8Array>
  try {
    ext = extensions(chain.vcek)
  } catch (e) {
    throw reject(`VCEK extensions are unreadable (${(e as Error).message})`)
  }
  const product = Buffer.from(derValue(ext.get(VcekExt.product), 0x16, 'product name')).toString('latin1')
  if (!/^(Milan|Genoa)(-|$)/.test(product)) throw reject(`unsupported product '${product}' (Milan and Genoa only)`)
  const chipId = report.slice(Off.chipId, Off.chipId + 64)
  const hwId = ext.get(VcekExt.hwId)
  if (hwId === undefined || !bytesEqual(hwId, chipId)) throw reject('VCEK hwID does not match the report CHIP_ID')
  const tcb = report.subarray(Off.reportedTcb, Off.reportedTcb + 8)
  const reportedTcb: SnpTcb = { bootloader: tcb[0]!, tee: tcb[1]!, snp: tcb[6]!, microcode: tcb[7]! }
  for (const part of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
    const certified = svn(ext.get(VcekExt[part]), `${part} SVN`)
    if (certified !== reportedTcb[part]) throw reject(`REPORTED_TCB ${part} SVN ${reportedTcb[part]} differs from the VCEK's ${certified}`)
  }

  const signature = Buffer.concat([littleEndianScalar(report, Off.sigR, 'r'), littleEndianScalar(report, Off.sigS, 's')])
  let signed = false
  try {
    signed = verifySignature('sha384', report.subarray(0, SNP_SIGNED_BYTES), { key: vcek.publicKey, dsaEncoding: 'ieee-p1363' }, signature)
  } catch {
    signed = false
  }
  if (!signed) throw reject('report signature does not verify against the VCEK')

  const policyBits = view.getBigUint64(Off.policy, true)
  return {
    version,
    guestSvn: view.getUint32(Off.guestSvn, true),
    policy: policyBits,
    debug: (policyBits & POLICY_DEBUG) !== 0n,
    vmpl: view.getUint32(Off.vmpl, true),
    reportData: report.slice(Off.reportData, Off.reportData + 64),
    measurement: report.slice(Off.measurement, Off.measurement + 48),
    hostData: report.slice(Off.hostData, Off.hostData + 32),
    chipId,
    reportedTcb,
    product,
    platform: snpPlatformId(chipId),
  }
}

/** Verifies amd-sev-snp-v1 evidence against the chain's policy (see the file comment). */
export class SevSnpAttestationVerifier implements AttestationVerifier {
  supports(format: string): boolean {
    return format === SEV_SNP_FORMAT
  }

  verify(format: string, evidence: Uint8Array, policy: EvidencePolicy): VerifiedEvidence {
    if (format !== SEV_SNP_FORMAT) throw reject(`cannot verify format '${format}'`)
    try {
      return this.verifyEnvelope(format, evidence, policy)
    } catch (e) {
      if (e instanceof LedgerError && e.code === 'ATTESTATION_REJECTED') throw e
      // untrusted bytes never surface as another exception (e.g. a key type node:crypto cannot load)
      throw reject(`unverifiable evidence (${(e as Error).message})`)
    }
  }

  private verifyEnvelope(format: string, evidence: Uint8Array, policy: EvidencePolicy): VerifiedEvidence {
    let raw: unknown
    try {
      raw = decode(evidence, 64 * 1024)
    } catch (e) {
      throw reject(`unreadable evidence (${(e as Error).message})`)
    }
    const parsed = Envelope.safeParse(raw)
    if (!parsed.success) throw reject(`malformed evidence: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`)
    const { report, vcek, ask, ark, keys } = parsed.data
    const facts = verifySnpReport(report, { vcek, ask, ark }, policy)
    if (!bytesEqual(facts.reportData.subarray(32), boundKeysDigest(keys))) throw reject('REPORT_DATA does not bind the evidence keys (bound-keys digest mismatch)')
    return { format, platform: facts.platform, measurement: facts.measurement, debug: facts.debug, boundKeys: keys, nonce: facts.reportData.slice(0, 32) }
  }
}
