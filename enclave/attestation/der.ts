/**
 * A minimal DER reader for the certificate fields node:crypto does not expose
 * (basicConstraints' path length, AMD's VCEK extensions): one TLV at a time and a
 * constructed value's children. Definite lengths of up to 4 bytes, low tag
 * numbers only; anything else is an Error the caller turns into its own refusal.
 */

export interface Tlv {
  tag: number
  /** where the value starts */
  start: number
  /** where the value ends (exclusive) */
  end: number
}

export function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  const tag = der[pos]
  const first = der[pos + 1]
  if (tag === undefined || first === undefined || pos + 2 > limit) throw new Error('truncated DER')
  if ((tag & 0x1f) === 0x1f) throw new Error('unsupported DER tag')
  let start = pos + 2
  let len = first
  if (first & 0x80) {
    const n = first & 0x7f
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad DER length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!
    start += n
  }
  if (start + len > limit) throw new Error('truncated DER')
  return { tag, start, end: start + len }
}

/** The TLVs inside a constructed value, in order. */
export function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let pos = parent.start; pos < parent.end; ) {
    const t = readTlv(der, pos, parent.end)
    out.push(t)
    pos = t.end
  }
  return out
}
