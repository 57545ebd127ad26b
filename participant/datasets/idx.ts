/**
 * The IDX format of the MNIST files (LeCun et al.): a 4-byte magic number
 * 0x00 0x00 <type> <dims> (type 0x08 = unsigned byte), one big-endian uint32
 * per dimension, then the values. Images are 3-dimensional (count × rows ×
 * cols, magic 0x00000803) and labels 1-dimensional (magic 0x00000801). Pixels
 * are scaled to [0, 1] as float32. Every malformed input is a BAD_IDX error.
 */
import type { Dataset } from '../dataset.ts'
import { checkDataset } from '../dataset.ts'
import { ParticipantError } from '../errors.ts'

export const IDX_IMAGES_MAGIC = 0x00000803
export const IDX_LABELS_MAGIC = 0x00000801

export interface IdxImages {
  /** images parsed (the file's count, or the limit) */
  count: number
  /** images the file holds */
  total: number
  rows: number
  cols: number
  /** count × rows·cols values in [0, 1], row-major per image */
  pixels: Float32Array
}

export interface IdxParseOptions {
  /** parse only the first `limit` items */
  limit?: number
}

function bad(message: string): never {
  throw new ParticipantError('BAD_IDX', message)
}

function header(bytes: Uint8Array, magic: number, dims: number, what: string): number[] {
  if (!(bytes instanceof Uint8Array)) throw new ParticipantError('BAD_ARGUMENT', `${what}: expected bytes (Uint8Array)`)
  const headerBytes = 4 + 4 * dims
  if (bytes.length < 4) bad(`${what}: ${bytes.length} bytes is shorter than the ${headerBytes}-byte IDX header`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const got = view.getUint32(0, false)
  if (got !== magic) bad(`${what}: magic number 0x${got.toString(16).padStart(8, '0')}, expected 0x${magic.toString(16).padStart(8, '0')} (unsigned bytes, ${dims} dimension${dims > 1 ? 's' : ''})`)
  if (bytes.length < headerBytes) bad(`${what}: ${bytes.length} bytes is shorter than the ${headerBytes}-byte IDX header`)
  const sizes: number[] = []
  for (let d = 0; d < dims; d++) sizes.push(view.getUint32(4 + 4 * d, false))
  return sizes
}

function limitOf(options: IdxParseOptions, count: number): number {
  if (options.limit === undefined) return count
  const l = options.limit
  if (!Number.isSafeInteger(l) || l < 0) throw new ParticipantError('BAD_ARGUMENT', `limit must be a non-negative integer, got ${String(l)}`)
  return Math.min(l, count)
}

/** Parses an IDX image file (magic 0x00000803); pixels / 255 as float32. */
export function parseIdxImages(bytes: Uint8Array, options: IdxParseOptions = {}): IdxImages {
  const [count, rows, cols] = header(bytes, IDX_IMAGES_MAGIC, 3, 'IDX images') as [number, number, number]
  if (rows === 0 || cols === 0) bad(`IDX images: image size ${rows} × ${cols} is empty`)
  const size = rows * cols
  const expected = 16 + count * size
  if (bytes.length !== expected) bad(`IDX images: ${count} images of ${rows} × ${cols} take ${expected} bytes, the file has ${bytes.length}`)
  const n = limitOf(options, count)
  const pixels = new Float32Array(n * size)
  for (let i = 0; i < pixels.length; i++) pixels[i] = bytes[16 + i]! / 255
  return { count: n, total: count, rows, cols, pixels }
}

/** Parses an IDX label file (magic 0x00000801). */
export function parseIdxLabels(bytes: Uint8Array, options: IdxParseOptions = {}): Uint8Array {
  const [count] = header(bytes, IDX_LABELS_MAGIC, 1, 'IDX labels') as [number]
  const expected = 8 + count
  if (bytes.length !== expected) bad(`IDX labels: ${count} labels take ${expected} bytes, the file has ${bytes.length}`)
  const n = limitOf(options, count)
  return bytes.slice(8, 8 + n)
}

/** Images and labels as one Dataset; counts must match and labels be < classes. */
export function idxDataset(images: IdxImages, labels: Uint8Array, classes = 10): Dataset {
  if (images.count !== labels.length) bad(`${images.count} images but ${labels.length} labels`)
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= classes) bad(`label ${i} is ${labels[i]}, not a class in [0, ${classes})`)
  }
  return checkDataset({ x: images.pixels, y: labels, n: labels.length, features: images.rows * images.cols, classes })
}
