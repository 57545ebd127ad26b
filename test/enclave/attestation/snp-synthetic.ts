/**
 * Test helper: a synthetic AMD SEV-SNP platform (own ARK → ASK → VCEK, ECDSA P-384,
 * written as DER by hand) that signs reports laid out like the real ones, so the
 * amd-sev-snp-v1 verifier's full path (REPORT_DATA layout, debug flag, KEY_INFO, TCB
 * extensions) can be exercised where the real Milan fixture's REPORT_DATA cannot.
 * Its root is nobody's trust anchor but the test's.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { sha256 } from '../../../primitives/index.ts'

const cat = (parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts))

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = cat(parts)
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return cat([Uint8Array.of(tag, ...len), body])
}
const seq = (...p: Uint8Array[]) => der(0x30, ...p)
const octets = (b: Uint8Array) => der(0x04, b)
const text = (tag: number, s: string) => der(tag, new TextEncoder().encode(s))
const small = (n: number) => der(0x02, n < 0x80 ? Uint8Array.of(n) : Uint8Array.of(0, n))

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number)
  const out = [a! * 40 + b!]
  for (const arc of rest) {
    const groups = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80)
    out.push(...groups)
  }
  return der(0x06, Uint8Array.from(out))
}

function utcTime(unix: number): Uint8Array {
  const iso = new Date(unix * 1000).toISOString() // YYYY-MM-DDTHH:MM:SS.sssZ
  return text(0x17, `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`)
}

const ext = (id: string, value: Uint8Array, critical = false) => seq(oid(id), ...(critical ? [der(0x01, Uint8Array.of(0xff))] : []), octets(value))
const name = (cn: string) => seq(der(0x31, seq(oid('2.5.4.3'), text(0x0c, cn))))
const ECDSA_SHA384 = seq(oid('1.2.840.10045.4.3.3'))
const CA_EXTENSIONS = [ext('2.5.29.19', seq(der(0x01, Uint8Array.of(0xff))), true), ext('2.5.29.15', der(0x03, Uint8Array.of(1, 0x06)), true)]

interface CertSpec { serial: number; issuer: string; subject: string; notBefore: number; notAfter: number; publicKey: KeyObject; signer: KeyObject; extensions: Uint8Array[] }

function certificate(c: CertSpec): Uint8Array {
  const spki = new Uint8Array(c.publicKey.export({ type: 'spki', format: 'der' }))
  const tbs = seq(der(0xa0, small(2)), small(c.serial), ECDSA_SHA384, name(c.issuer), seq(utcTime(c.notBefore), utcTime(c.notAfter)), name(c.subject), spki, der(0xa3, seq(...c.extensions)))
  return seq(tbs, ECDSA_SHA384, der(0x03, Uint8Array.of(0), new Uint8Array(sign('sha384', tbs, c.signer))))
}

export interface SyntheticTcb { bootloader: number; tee: number; snp: number; microcode: number }

export interface SyntheticPlatformOptions {
  chipId: Uint8Array
  tcb: SyntheticTcb
  product?: string
  notBefore: number
  notAfter: number
  /** false: the ASK has neither basic constraints nor key usage (not a CA) */
  askIsCa?: boolean
}

export interface SyntheticReportOptions {
  reportData: Uint8Array
  measurement: Uint8Array
  debug?: boolean
  /** KEY_INFO signing key field (0 = VCEK) */
  signingKey?: number
  /** overrides REPORTED_TCB (defaults to the platform's) */
  tcb?: SyntheticTcb
}

export interface SyntheticPlatform {
  ark: Uint8Array
  ask: Uint8Array
  vcek: Uint8Array
  arkSha256: Uint8Array
  chipId: Uint8Array
  report(options: SyntheticReportOptions): Uint8Array
}

function p384() {
  return generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
}

export function syntheticPlatform(o: SyntheticPlatformOptions): SyntheticPlatform {
  const [arkKey, askKey, vcekKey] = [p384(), p384(), p384()]
  const when = { notBefore: o.notBefore, notAfter: o.notAfter }
  const ark = certificate({ serial: 1, issuer: 'ARK-Test', subject: 'ARK-Test', ...when, publicKey: arkKey.publicKey, signer: arkKey.privateKey, extensions: CA_EXTENSIONS })
  const ask = certificate({ serial: 2, issuer: 'ARK-Test', subject: 'SEV-Test', ...when, publicKey: askKey.publicKey, signer: arkKey.privateKey, extensions: o.askIsCa === false ? [ext('2.5.29.14', octets(Uint8Array.of(1, 2, 3, 4)))] : CA_EXTENSIONS })
  const vcekExtensions = [
    ext('1.3.6.1.4.1.3704.1.1', small(0)),
    ext('1.3.6.1.4.1.3704.1.2', text(0x16, o.product ?? 'Milan-B0')),
    ext('1.3.6.1.4.1.3704.1.3.1', small(o.tcb.bootloader)),
    ext('1.3.6.1.4.1.3704.1.3.2', small(o.tcb.tee)),
    ext('1.3.6.1.4.1.3704.1.3.3', small(o.tcb.snp)),
    ext('1.3.6.1.4.1.3704.1.3.8', small(o.tcb.microcode)),
    ext('1.3.6.1.4.1.3704.1.4', o.chipId),
  ]
  const vcek = certificate({ serial: 3, issuer: 'SEV-Test', subject: 'SEV-VCEK', ...when, publicKey: vcekKey.publicKey, signer: askKey.privateKey, extensions: vcekExtensions })

  const report = (r: SyntheticReportOptions): Uint8Array => {
    const out = Buffer.alloc(0x4a0)
    const tcb = r.tcb ?? o.tcb
    const tcbBytes = Uint8Array.of(tcb.bootloader, tcb.tee, 0, 0, 0, 0, tcb.snp, tcb.microcode)
    out.writeUInt32LE(2, 0x00) // version
    out.writeBigUInt64LE((1n << 17n) | (1n << 16n) | (r.debug === true ? 1n << 19n : 0n), 0x08) // policy
    out.writeUInt32LE(1, 0x34) // ECDSA P-384 with SHA-384
    for (const at of [0x38, 0x180, 0x1e0, 0x1f0]) out.set(tcbBytes, at) // current, reported, committed, launch TCB
    out.writeUInt32LE(1, 0x40) // platform info: SMT enabled
    out.writeUInt32LE((r.signingKey ?? 0) << 2, 0x48)
    out.set(r.reportData, 0x50)
    out.set(r.measurement, 0x90)
    out.set(o.chipId, 0x1a0)
    const sig = sign('sha384', out.subarray(0, 0x2a0), { key: vcekKey.privateKey, dsaEncoding: 'ieee-p1363' })
    out.set(Uint8Array.from(sig.subarray(0, 48)).reverse(), 0x2a0)
    out.set(Uint8Array.from(sig.subarray(48, 96)).reverse(), 0x2e8)
    return Uint8Array.from(out)
  }
  return { ark, ask, vcek, arkSha256: sha256(ark), chipId: o.chipId, report }
}
