/**
 * A streaming CAR reader that checks every length before it buffers the bytes
 * the length announces: the header is at most `MAX_CAR_HEADER_BYTES`, a block
 * at most `MAX_CAR_BLOCK_BYTES` (`OVERSIZED`, decided from the section length
 * and the CID alone), so a hostile CAR cannot make the reader hold more than
 * one bounded section. Reads CAR v1 (https://ipld.io/specs/transport/car/carv1/)
 * and CAR v2 by its inner v1 payload (the index is ignored).
 *
 * Bytes that are not a CAR are `MALFORMED`. Errors of the byte source itself
 * (a file that cannot be read) pass through unchanged: they are not the CAR's fault.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { LedgerError } from '../errors.ts'

/** Larger blocks are refused on import: nothing we (or Kubo) write comes close. */
export const MAX_CAR_BLOCK_BYTES = 4 * 1024 * 1024
/** Larger headers are refused: a header is a list of root CIDs. */
export const MAX_CAR_HEADER_BYTES = 1024 * 1024
/** A section's CID must fit in this many bytes (identity CIDs included). */
export const MAX_CAR_CID_BYTES = 1024

const V2_FIXED_HEADER_BYTES = 40

export interface CarBlock {
  cid: CID
  bytes: Uint8Array
}

export interface CarReader {
  roots: CID[]
  blocks(): AsyncGenerator<CarBlock>
}

/** Reads the header (roots) now; `blocks()` then streams the sections. */
export async function openCar(car: Uint8Array | AsyncIterable<Uint8Array>): Promise<CarReader> {
  const reader = new ByteReader(car instanceof Uint8Array ? [car] : car)
  let header = await readHeader(reader)
  let limit: number | undefined
  if (header.version === 2) {
    const fixed = await reader.take(V2_FIXED_HEADER_BYTES)
    const view = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength)
    const dataOffset = safe(view.getBigUint64(16, true), 'CAR v2 data offset')
    const dataSize = safe(view.getBigUint64(24, true), 'CAR v2 data size')
    if (dataOffset < reader.pos) throw malformed(`CAR v2 data offset ${dataOffset} points into its header`)
    await reader.skip(dataOffset - reader.pos)
    limit = safe(BigInt(dataOffset) + BigInt(dataSize), 'CAR v2 data end')
    header = await readHeader(reader)
    if (header.version !== 1) throw malformed('the payload of a CAR v2 is not a CAR v1')
  }
  const roots = header.roots
  return {
    roots,
    async *blocks() {
      while (limit === undefined ? !(await reader.atEnd()) : reader.pos < limit) yield await readSection(reader, limit)
    },
  }
}

async function readHeader(reader: ByteReader): Promise<{ version: 1; roots: CID[] } | { version: 2 }> {
  const length = await readVarint(reader, 'CAR header length')
  if (length === 0) throw malformed('empty CAR header')
  if (length > MAX_CAR_HEADER_BYTES) throw new LedgerError('OVERSIZED', `CAR header of ${length} bytes, limit ${MAX_CAR_HEADER_BYTES}`)
  const bytes = await reader.take(length)
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (e) {
    throw malformed(`the CAR header is not DAG-CBOR: ${(e as Error).message}`, e)
  }
  const header = (value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {}) as { version?: unknown; roots?: unknown }
  if (header.version === 2 && header.roots === undefined) return { version: 2 }
  if (header.version !== 1) throw malformed(`unsupported CAR version ${String(header.version)}`)
  if (!Array.isArray(header.roots)) throw malformed('the CAR header has no roots list')
  const roots = header.roots.map((r) => CID.asCID(r))
  if (roots.some((r) => r === null)) throw malformed('a CAR root is not a CID')
  return { version: 1, roots: roots as CID[] }
}

async function readSection(reader: ByteReader, limit: number | undefined): Promise<CarBlock> {
  const length = await readVarint(reader, 'CAR section length')
  if (length === 0) throw malformed('zero-length CAR section')
  if (limit !== undefined && reader.pos + length > limit) throw malformed('a CAR section runs past the end of the CAR v2 payload')
  const head = await reader.peek(Math.min(length, MAX_CAR_CID_BYTES))
  let cid: CID
  let cidLength: number
  try {
    const [decoded, rest] = CID.decodeFirst(head)
    cid = decoded
    cidLength = head.length - rest.length
  } catch (e) {
    throw malformed(`bad CID in a CAR section: ${(e as Error).message}`, e)
  }
  const blockLength = length - cidLength
  if (blockLength > MAX_CAR_BLOCK_BYTES) {
    throw new LedgerError('OVERSIZED', `CAR block ${cid.toString()} is ${blockLength} bytes, limit ${MAX_CAR_BLOCK_BYTES}`)
  }
  await reader.skip(cidLength)
  return { cid, bytes: await reader.take(blockLength) }
}

/** An unsigned LEB128 varint (at most 9 bytes, at most 2^53 - 1). */
async function readVarint(reader: ByteReader, what: string): Promise<number> {
  const bytes = await reader.peek(9)
  let value = 0
  let scale = 1
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!
    value += (b & 0x7f) * scale
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) throw malformed(`${what} is too large`)
      await reader.skip(i + 1)
      return value
    }
    scale *= 128
  }
  throw malformed(bytes.length < 9 ? `unexpected end of data in ${what}` : `${what} is not a valid varint`)
}

function safe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} ${n} is too large`)
  return Number(n)
}

function malformed(why: string, cause?: unknown): LedgerError {
  return new LedgerError('MALFORMED', `not a valid CAR: ${why}`, cause === undefined ? undefined : { cause })
}

/** Pulls chunks from a byte stream only as far as asked; counts the bytes consumed. */
class ByteReader {
  private readonly source: AsyncIterator<Uint8Array> | Iterator<Uint8Array>
  private buffer: Uint8Array = new Uint8Array(0)
  private offset = 0
  private ended = false
  /** bytes consumed so far */
  pos = 0

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.source = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
  }

  private get available(): number {
    return this.buffer.length - this.offset
  }

  /** The next chunk of the source, or undefined at its end (source errors pass through). */
  private async pull(): Promise<Uint8Array | undefined> {
    if (this.ended) return undefined
    const next = await this.source.next()
    if (next.done === true) {
      this.ended = true
      return undefined
    }
    if (!(next.value instanceof Uint8Array)) throw new TypeError('a CAR byte stream must yield Uint8Arrays')
    return next.value
  }

  /** Buffers at least `n` bytes, unless the source ends first. */
  private async fill(n: number): Promise<void> {
    if (this.available >= n) return
    const parts = this.available > 0 ? [this.buffer.subarray(this.offset)] : []
    let have = this.available
    while (have < n) {
      const chunk = await this.pull()
      if (chunk === undefined) break
      parts.push(chunk)
      have += chunk.length
    }
    if (parts.length === 1) {
      this.buffer = parts[0]!
    } else {
      this.buffer = new Uint8Array(have)
      let at = 0
      for (const part of parts) {
        this.buffer.set(part, at)
        at += part.length
      }
    }
    this.offset = 0
  }

  /** Up to `n` bytes without consuming them (fewer only at the end of the data). */
  async peek(n: number): Promise<Uint8Array> {
    await this.fill(n)
    return this.buffer.subarray(this.offset, this.offset + Math.min(n, this.available))
  }

  /** Exactly `n` bytes, consumed. */
  async take(n: number): Promise<Uint8Array> {
    await this.fill(n)
    if (this.available < n) throw malformed('unexpected end of data')
    const out = this.buffer.subarray(this.offset, this.offset + n)
    this.offset += n
    this.pos += n
    return out
  }

  /** Consumes `n` bytes without buffering them. */
  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.available === 0) {
        const chunk = await this.pull()
        if (chunk === undefined) throw malformed('unexpected end of data')
        this.buffer = chunk
        this.offset = 0
      }
      const k = Math.min(n, this.available)
      this.offset += k
      this.pos += k
      n -= k
    }
  }

  async atEnd(): Promise<boolean> {
    await this.fill(1)
    return this.available === 0
  }
}
