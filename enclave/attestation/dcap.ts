/**
 * `intel-dcap-v1`: Intel SGX (quote v3) and TDX (quote v4/v5) DCAP quotes, verified
 * offline by @phala/dcap-qvl against the collateral the evidence carries.
 *
 * Evidence bytes are a DAG-CBOR envelope (at most DCAP_MAX_EVIDENCE_BYTES, the ledger's
 * limit on attestation evidence):
 *   { quote: bytes, keys: [public keys], collateral: { tcb_info, qe_identity (the exact
 *     JSON text Intel signed), tcb_info_signature, qe_identity_signature (64-byte r‖s),
 *     tcb_info_issuer_chain, qe_identity_issuer_chain, pck_crl_issuer_chain (PEM text),
 *     root_ca_crl, pck_crl (DER bytes) } }
 * i.e. the library's Collateral with its hex / number[] fields as byte strings
 * (encodeDcapEvidence converts). The quote must embed its PCK certificate chain
 * (certification data type 5, the usual case) and may be followed by zero padding only
 * (TDX quote buffers are padded); pck_crl_issuer_chain is carried for
 * fidelity but unused: the PCK CRL's issuer is the PCK certificate's own issuer.
 *
 * Verification (verifyDcapQuote), trust only from the policy:
 *   - the quote's PCK chain (PCK ← PCK Processor/Platform CA ← root) and both collateral
 *     signing chains (TCB Signing ← root) pass x509.ts's chain rules at policy.at, each
 *     root's DER SHA-256 ∈ policy.trustAnchors (list DCAP_INTEL_ROOT_SHA256), and the
 *     collateral signer is 'Intel SGX TCB Signing';
 *   - the Root CA CRL and the PCK CRL are signed by the root and the PCK CA and current
 *     (dcap-crl.ts: the library does not authenticate CRLs);
 *   - the library (QuoteVerifier with that pinned root, time policy.at in unix seconds)
 *     checks TCB info / QE identity signatures and validity windows, the QE report,
 *     the quote signature, FMSPC, the TCB level and refuses debug enclaves / TDs;
 *   - the resulting TCB status must be accepted: only 'UpToDate' by default, others
 *     ('SWHardeningNeeded', …) through DcapVerifierOptions.acceptedTcbStatuses, which
 *     must be configured identically on every validator; 'Revoked' never.
 * Time: a quote has no timestamp, so policy.maxAgeSeconds does not apply; collateral
 * and certificates are checked at policy.at and freshness comes from the nonce.
 *
 * Mapping to VerifiedEvidence:
 *   platform    = 'intel-sgx-' or 'intel-tdx-' + FMSPC (12 hex) + '-' + PPID (32 hex), both
 *                 from the verified PCK certificate (PPID names the physical platform)
 *   measurement = SGX: MRENCLAVE (32 bytes); TDX: MRTD (48 bytes), the initial TD image
 *                 (TDVF). RTMR0–3 and MRCONFIGID are not part of it (see DcapQuoteFacts).
 *   debug       = SGX ATTRIBUTES bit 1 / TDX TDATTRIBUTES bit 0 (the library already
 *                 refuses both, so verified evidence always has debug = false)
 *   nonce       = REPORT_DATA[0..32)
 *   boundKeys   = envelope `keys`, accepted only if REPORT_DATA[32..64) equals
 *                 SHA-256(DAG-CBOR ['fedledger/intel-dcap/bound-keys/v1', keys]); the
 *                 enclave builds REPORT_DATA with dcapReportData(nonce, keys).
 */
import type { X509Certificate } from 'node:crypto'
import { Quote, QuoteVerifier, utils as qvlUtils, type Collateral, type EnclaveReport, type TDReport10, type TcbStatus, type VerifiedReport } from '@phala/dcap-qvl'
import { z } from 'zod'
import { LedgerError, type AttestationVerifier, type EvidencePolicy, type VerifiedEvidence, isLedgerError } from '../../ledger/index.ts'
import { bytesEqual, decode, encode, fromHex, sha256, toHex } from '../../primitives/index.ts'
import { verifyDcapCrl } from './dcap-crl.ts'
import { childrenOf, readTlv } from './der.ts'
import { verifyCertificateChain } from './x509.ts'

export const DCAP_FORMAT = 'intel-dcap-v1'
/** SHA-256 of the DER of the Intel SGX Root CA (ECDSA P-256, 2018–2049), the DCAP trust anchor for chain policies. */
export const DCAP_INTEL_ROOT_SHA256: Uint8Array = fromHex('44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3')
/** Largest evidence accepted: the ledger's limit on attestation evidence (real quote + collateral ≈ 20 KiB). */
export const DCAP_MAX_EVIDENCE_BYTES = 64 * 1024
export const DCAP_MAX_QUOTE_BYTES = 16 * 1024
/** The TCB statuses a verifier may be configured to accept ('Revoked' and unknown statuses never verify). */
export const DCAP_ACCEPTABLE_TCB_STATUSES = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded'] as const
export type DcapAcceptableTcbStatus = (typeof DCAP_ACCEPTABLE_TCB_STATUSES)[number]

const BOUND_KEYS_DOMAIN = 'fedledger/intel-dcap/bound-keys/v1'
const MAX_KEYS = 8
const TCB_SIGNING_CN = 'CN=Intel SGX TCB Signing'
// 1.2.840.113741.1.13.1.{1,4}: the PCK certificate's PPID and FMSPC
const OID_PPID = '2a864886f84d010d0101'
const OID_FMSPC = '2a864886f84d010d0104'

/** Collateral as the envelope carries it: the library's Collateral with binary fields as bytes. */
export interface DcapCollateral {
  pck_crl_issuer_chain: string
  root_ca_crl: Uint8Array
  pck_crl: Uint8Array
  tcb_info_issuer_chain: string
  tcb_info: string
  tcb_info_signature: Uint8Array
  qe_identity_issuer_chain: string
  qe_identity: string
  qe_identity_signature: Uint8Array
}

export interface DcapEvidenceInput {
  quote: Uint8Array
  /** as @phala/dcap-qvl returns or takes it (hex strings or number arrays), or already as bytes */
  collateral: Collateral | DcapCollateral
  /** the public keys the quote's REPORT_DATA binds (see dcapReportData); none by default */
  keys?: readonly Uint8Array[]
}

export interface DcapVerifierOptions {
  /** default ['UpToDate']; part of what decides verification, so every validator must use the same list */
  acceptedTcbStatuses?: readonly DcapAcceptableTcbStatus[]
}

/** What a verified quote states. */
export interface DcapQuoteFacts {
  tee: 'sgx' | 'tdx'
  quoteVersion: number
  tcbStatus: TcbStatus
  advisoryIds: string[]
  fmspc: Uint8Array
  ppid: Uint8Array
  platform: string
  /** SGX MRENCLAVE or TDX MRTD */
  measurement: Uint8Array
  debug: boolean
  reportData: Uint8Array
  /** SGX only: MRSIGNER */
  mrSigner?: Uint8Array
  /** TDX only: RTMR0–3, runtime measurements MRTD does not cover */
  rtmrs: Uint8Array[]
  /** unix seconds: the earliest nextUpdate of the collateral (TCB info, QE identity, CRLs) */
  collateralNextUpdate: number
}

const reject = (why: string) => new LedgerError('ATTESTATION_REJECTED', `${DCAP_FORMAT}: ${why}`)
const bad = (why: string) => new LedgerError('BAD_ARGUMENT', `${DCAP_FORMAT}: ${why}`)
const sized = (min: number, max: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length >= min && v.length <= max, `expected ${min}..${max} bytes`)
const text = (max: number) => z.string().min(1).max(max)
const CollateralSchema = z.strictObject({
  pck_crl_issuer_chain: text(8 * 1024),
  root_ca_crl: sized(1, 8 * 1024),
  pck_crl: sized(1, 32 * 1024),
  tcb_info_issuer_chain: text(8 * 1024),
  tcb_info: text(32 * 1024),
  tcb_info_signature: sized(64, 64),
  qe_identity_issuer_chain: text(8 * 1024),
  qe_identity: text(16 * 1024),
  qe_identity_signature: sized(64, 64),
})
const Envelope = z.strictObject({ quote: sized(1, DCAP_MAX_QUOTE_BYTES), collateral: CollateralSchema, keys: z.array(sized(1, 256)).max(MAX_KEYS) })
const BINARY_FIELDS = ['root_ca_crl', 'pck_crl', 'tcb_info_signature', 'qe_identity_signature'] as const

function keysDigest(keys: readonly Uint8Array[]): Uint8Array {
  return sha256(encode([BOUND_KEYS_DOMAIN, [...keys]]))
}

/** The REPORT_DATA an enclave requests its quote with: nonce (32 bytes) ‖ digest of the bound keys (32 bytes). */
export function dcapReportData(nonce: Uint8Array, keys: readonly Uint8Array[]): Uint8Array {
  if (nonce.length !== 32) throw bad('a DCAP evidence nonce is 32 bytes')
  if (keys.length > MAX_KEYS || keys.some((k) => k.length < 1 || k.length > 256)) throw bad(`bind at most ${MAX_KEYS} keys of 1 to 256 bytes`)
  const out = new Uint8Array(64)
  out.set(nonce, 0)
  out.set(keysDigest(keys), 32)
  return out
}

/** Reads fedledger's layout out of a verified REPORT_DATA; rejects keys it does not bind. */
export function checkDcapReportData(reportData: Uint8Array, keys: readonly Uint8Array[]): { nonce: Uint8Array; boundKeys: Uint8Array[] } {
  if (reportData.length !== 64) throw reject(`REPORT_DATA is 64 bytes, got ${reportData.length}`)
  if (!bytesEqual(reportData.subarray(32), keysDigest(keys))) throw reject('REPORT_DATA does not bind the evidence keys (bound-keys digest mismatch)')
  return { nonce: reportData.slice(0, 32), boundKeys: keys.map((k) => Uint8Array.from(k)) }
}

function binary(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return Uint8Array.from(value)
  if (typeof value === 'string' && value.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(value)) return Uint8Array.from(Buffer.from(value, 'hex'))
  if (Array.isArray(value) && value.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return Uint8Array.from(value as number[])
  throw bad(`collateral.${name} must be bytes, hex or an array of bytes`)
}

/** The evidence bytes of format intel-dcap-v1 (see the file comment); throws BAD_ARGUMENT on what the verifier would refuse to read. */
export function encodeDcapEvidence(input: DcapEvidenceInput): Uint8Array {
  const c = input.collateral as unknown as Record<string, unknown>
  const collateral = { ...Object.fromEntries(Object.keys(CollateralSchema.shape).map((k) => [k, c[k]])) } as Record<string, unknown>
  for (const name of BINARY_FIELDS) collateral[name] = binary(c[name], name)
  const parsed = Envelope.safeParse({ quote: input.quote, collateral, keys: [...(input.keys ?? [])] })
  if (!parsed.success) throw bad(`cannot encode evidence: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`)
  const out = encode(parsed.data)
  if (out.length > DCAP_MAX_EVIDENCE_BYTES) throw bad(`evidence would be ${out.length} bytes, limit ${DCAP_MAX_EVIDENCE_BYTES}`)
  return out
}

/** Verifies a chain given leaf first (PEM text or quote certification data) and returns it leaf first. */
function checkChain(ders: Uint8Array[], what: string, policy: Pick<EvidencePolicy, 'at' | 'trustAnchors'>): X509Certificate[] {
  try {
    return verifyCertificateChain([...ders].reverse(), { trustAnchors: policy.trustAnchors, atMs: policy.at * 1000 }).reverse()
  } catch (e) {
    if (isLedgerError(e)) throw reject(`${what}: ${e.message}`)
    throw e
  }
}

function pemCerts(pem: string | Uint8Array): Uint8Array[] {
  return qvlUtils.extractCerts(Buffer.from(pem)).map((b) => new Uint8Array(b))
}

/** The PPID and FMSPC of a PCK certificate's SGX extension (a SEQUENCE of { OID, value }). */
function pckIdentity(pckDer: Uint8Array): { ppid: Uint8Array; fmspc: Uint8Array } {
  const ext = new Uint8Array(qvlUtils.getIntelExtension(Buffer.from(pckDer)) as Buffer)
  const found = new Map<string, Uint8Array>()
  for (const item of childrenOf(ext, readTlv(ext, 0, ext.length))) {
    const [oid, value] = childrenOf(ext, item)
    if (oid?.tag === 0x06 && value?.tag === 0x04) found.set(toHex(ext.subarray(oid.start, oid.end)), ext.slice(value.start, value.end))
  }
  const ppid = found.get(OID_PPID)
  const fmspc = found.get(OID_FMSPC)
  if (ppid?.length !== 16 || fmspc?.length !== 6) throw reject('PCK certificate lacks a 16-byte PPID or a 6-byte FMSPC')
  return { ppid, fmspc }
}

function nextUpdateOf(json: string): number {
  const t = Date.parse((JSON.parse(json) as { nextUpdate?: string }).nextUpdate ?? '')
  return Number.isFinite(t) ? t / 1000 : 0
}

/**
 * Verifies a DCAP quote and its collateral under the policy's trust anchors at policy.at
 * (see the file comment) and returns what it states. REPORT_DATA is returned as is.
 */
export function verifyDcapQuote(quote: Uint8Array, collateral: DcapCollateral, policy: Pick<EvidencePolicy, 'at' | 'trustAnchors'>, options: DcapVerifierOptions = {}): DcapQuoteFacts {
  try {
    return verifyQuote(quote, collateral, policy, options)
  } catch (e) {
    if (e instanceof LedgerError && e.code === 'ATTESTATION_REJECTED') throw e.message.startsWith(`${DCAP_FORMAT}: `) ? e : new LedgerError('ATTESTATION_REJECTED', `${DCAP_FORMAT}: ${e.message}`, { cause: e })
    // untrusted bytes never surface as another exception (the library's parsers, node:crypto, ...)
    throw reject(`unverifiable evidence (${(e as Error)?.message ?? String(e)})`)
  }
}

function verifyQuote(quote: Uint8Array, collateral: DcapCollateral, policy: Pick<EvidencePolicy, 'at' | 'trustAnchors'>, options: DcapVerifierOptions): DcapQuoteFacts {
  if (!Number.isFinite(policy.at)) throw reject('verification time is not a number')
  const accepted: readonly string[] = options.acceptedTcbStatuses ?? ['UpToDate']
  let parsed: Quote
  try {
    parsed = Quote.parse(quote)
  } catch (e) {
    throw reject(`quote is unreadable (${(e as Error).message})`)
  }
  const signedLength = parsed.signedLength()
  const end = signedLength + 4 + Buffer.from(quote).readUInt32LE(signedLength)
  // TDX quote buffers come zero-padded (the TDX fixture has 70 bytes of padding); anything else after the quote is refused
  if (quote.subarray(end).some((b) => b !== 0)) throw reject(`quote is followed by ${quote.length - end} bytes that are not zero padding`)
  let pckChainBytes: Uint8Array
  try {
    pckChainBytes = parsed.rawCertChain()
  } catch {
    throw reject('quote does not embed its PCK certificate chain (certification data type 5)')
  }
  const pckDers = pemCerts(pckChainBytes)
  if (pckDers.length !== 3) throw reject(`the quote's PCK chain must be PCK ← PCK CA ← root, got ${pckDers.length} certificates`)
  const pckChain = checkChain(pckDers, 'PCK certificate chain', policy)
  for (const [name, pem] of [['TCB info', collateral.tcb_info_issuer_chain], ['QE identity', collateral.qe_identity_issuer_chain]] as const) {
    const signer = checkChain(pemCerts(pem), `${name} signing chain`, policy)[0]!
    if (!signer.subject.split('\n').includes(TCB_SIGNING_CN)) throw reject(`${name} signing certificate is not '${TCB_SIGNING_CN.slice(3)}'`)
  }
  const [, pckCaDer, rootDer] = pckDers as [Uint8Array, Uint8Array, Uint8Array]
  const crls = [
    verifyDcapCrl(collateral.root_ca_crl, pckChain[2]!, rootDer, policy.at, 'Root CA CRL'),
    verifyDcapCrl(collateral.pck_crl, pckChain[1]!, pckCaDer, policy.at, 'PCK CRL'),
  ]

  const libraryCollateral: Collateral = { ...collateral, root_ca_crl: toHex(collateral.root_ca_crl), pck_crl: toHex(collateral.pck_crl), tcb_info_signature: toHex(collateral.tcb_info_signature), qe_identity_signature: toHex(collateral.qe_identity_signature) }
  let verified: VerifiedReport
  try {
    verified = QuoteVerifier.newWithRootCa(Buffer.from(rootDer)).verify(Buffer.from(quote), libraryCollateral, policy.at)
  } catch (e) {
    const cause = (e as Error).cause instanceof Error ? `: ${((e as Error).cause as Error).message}` : ''
    throw reject(`quote does not verify (${(e as Error).message}${cause})`)
  }
  if (!accepted.includes(verified.status)) {
    const advisories = verified.advisory_ids.length > 0 ? ` (${verified.advisory_ids.join(', ')})` : ''
    throw reject(`TCB status ${verified.status}${advisories} is not accepted (accepted: ${accepted.join(', ')})`)
  }

  const { ppid, fmspc } = pckIdentity(pckDers[0]!)
  const tee: DcapQuoteFacts['tee'] = verified.report.type === 'sgx' ? 'sgx' : 'tdx'
  const facts = { tee, quoteVersion: parsed.header.version, tcbStatus: verified.status, advisoryIds: [...verified.advisory_ids], fmspc, ppid, platform: `intel-${tee}-${toHex(fmspc)}-${toHex(ppid)}` } satisfies Partial<DcapQuoteFacts>
  const collateralNextUpdate = Math.min(nextUpdateOf(collateral.tcb_info), nextUpdateOf(collateral.qe_identity), ...crls.map((c) => c.nextUpdate))
  if (verified.report.type === 'sgx') {
    const r = verified.report.data as EnclaveReport
    return { ...facts, measurement: Uint8Array.from(r.mrEnclave), debug: (r.attributes[0]! & 0x02) !== 0, reportData: Uint8Array.from(r.reportData), mrSigner: Uint8Array.from(r.mrSigner), rtmrs: [], collateralNextUpdate }
  }
  const td: TDReport10 | undefined = (verified.report.type === 'td15' ? verified.report.asTd15()?.base : verified.report.asTd10()) ?? undefined
  if (td === undefined) throw reject(`unsupported report body '${verified.report.type}'`)
  return { ...facts, measurement: Uint8Array.from(td.mrTd), debug: (td.tdAttributes[0]! & 0x01) !== 0, reportData: Uint8Array.from(td.reportData), rtmrs: [td.rtMr0, td.rtMr1, td.rtMr2, td.rtMr3].map((m) => Uint8Array.from(m)), collateralNextUpdate }
}

/** The ledger's view of a verified quote whose envelope carried `keys` (rejects keys REPORT_DATA does not bind). */
export function dcapVerifiedEvidence(facts: DcapQuoteFacts, keys: readonly Uint8Array[]): VerifiedEvidence {
  const { nonce, boundKeys } = checkDcapReportData(facts.reportData, keys)
  return { format: DCAP_FORMAT, platform: facts.platform, measurement: facts.measurement, debug: facts.debug, boundKeys, nonce }
}

/** Verifies intel-dcap-v1 evidence against the chain's policy (see the file comment). */
export class DcapAttestationVerifier implements AttestationVerifier {
  private readonly acceptedTcbStatuses: readonly DcapAcceptableTcbStatus[]

  constructor(options: DcapVerifierOptions = {}) {
    const accepted = options.acceptedTcbStatuses ?? ['UpToDate']
    if (accepted.length === 0) throw bad('acceptedTcbStatuses is empty: nothing could verify')
    for (const s of accepted) if (!(DCAP_ACCEPTABLE_TCB_STATUSES as readonly string[]).includes(s)) throw bad(`'${String(s)}' is not an acceptable TCB status`)
    this.acceptedTcbStatuses = [...accepted]
  }

  supports(format: string): boolean {
    return format === DCAP_FORMAT
  }

  verify(format: string, evidence: Uint8Array, policy: EvidencePolicy): VerifiedEvidence {
    if (format !== DCAP_FORMAT) throw reject(`cannot verify format '${format}'`)
    if (!(evidence instanceof Uint8Array) || evidence.length === 0) throw reject('evidence is empty')
    if (evidence.length > DCAP_MAX_EVIDENCE_BYTES) throw reject(`evidence is ${evidence.length} bytes, limit ${DCAP_MAX_EVIDENCE_BYTES}`)
    let raw: unknown
    try {
      raw = decode(evidence, DCAP_MAX_EVIDENCE_BYTES)
    } catch (e) {
      throw reject(`unreadable evidence (${(e as Error).message})`)
    }
    const parsed = Envelope.safeParse(raw)
    if (!parsed.success) throw reject(`malformed evidence: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`)
    const { quote, collateral, keys } = parsed.data
    const facts = verifyDcapQuote(quote, collateral, policy, { acceptedTcbStatuses: this.acceptedTcbStatuses })
    return dcapVerifiedEvidence(facts, keys)
  }
}
