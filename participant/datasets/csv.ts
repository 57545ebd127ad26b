/**
 * A bank's own data as CSV text: one example per line, numeric feature
 * columns and one label column holding a class index 0, 1, 2, …. Fields may
 * be wrapped in double quotes (which may not contain the delimiter); blank
 * lines are skipped; CRLF is fine. Ragged rows, empty fields, non-numbers
 * (NaN and ±Infinity included) and labels that are not non-negative integers
 * are BAD_CSV errors naming the line and column.
 */
import { checkDataset, type Dataset } from '../dataset.ts'
import { ParticipantError } from '../errors.ts'

export interface CsvOptions {
  /** the label column: a 0-based index, or a header name (implies header: true) */
  labelColumn: number | string
  /** whether the first line is a header; default: true when labelColumn is a name, else false */
  header?: boolean
  /** field separator; ',' by default */
  delimiter?: string
  /** number of classes; default max label + 1 (at least 2) */
  classes?: number
}

function bad(message: string): never {
  throw new ParticipantError('BAD_CSV', message)
}

function fields(line: string, delimiter: string): string[] {
  return line.split(delimiter).map((f) => {
    const t = f.trim()
    return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t
  })
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/** Parses CSV text into a Dataset (features as float32, labels as Int32Array). */
export function parseCsvDataset(text: string, options: CsvOptions): Dataset {
  if (typeof text !== 'string') throw new ParticipantError('BAD_ARGUMENT', 'CSV text must be a string')
  if (typeof options !== 'object' || options === null) throw new ParticipantError('BAD_ARGUMENT', 'CSV options { labelColumn } are required')
  const delimiter = options.delimiter ?? ','
  if (typeof delimiter !== 'string' || delimiter.length === 0 || delimiter === '"') throw new ParticipantError('BAD_ARGUMENT', `bad delimiter ${JSON.stringify(delimiter)}`)
  const header = options.header ?? typeof options.labelColumn === 'string'
  const lines = text.split(/\r?\n/)
  let lineNo = 0
  const next = (): string[] | undefined => {
    while (lineNo < lines.length) {
      const line = lines[lineNo++]!
      if (line.trim() !== '') return fields(line, delimiter)
    }
    return undefined
  }
  let width: number | undefined
  let names: string[] | undefined
  if (header) {
    names = next()
    if (names === undefined) bad('the CSV has no header line')
    width = names.length
  }
  let label: number
  if (typeof options.labelColumn === 'string') {
    if (names === undefined) throw new ParticipantError('BAD_ARGUMENT', 'a label column given by name needs a header line')
    label = names.indexOf(options.labelColumn)
    if (label < 0) bad(`no column named ${JSON.stringify(options.labelColumn)} in the header (${names.join(', ')})`)
  } else {
    label = options.labelColumn
    if (!Number.isSafeInteger(label) || label < 0) throw new ParticipantError('BAD_ARGUMENT', `labelColumn must be a column index ≥ 0 or a name, got ${String(label)}`)
  }
  const xs: number[] = []
  const ys: number[] = []
  let maxLabel = -1
  for (let row = next(); row !== undefined; row = next()) {
    if (width === undefined) width = row.length
    if (row.length !== width) bad(`line ${lineNo}: ${row.length} fields, expected ${width}`)
    if (label >= width) bad(`label column ${label} is outside the ${width} columns`)
    if (width < 2) bad('a CSV dataset needs at least one feature column and the label column')
    for (let c = 0; c < width; c++) {
      const f = row[c]!
      if (f === '') bad(`line ${lineNo}, column ${c + 1}: empty field`)
      if (!NUMBER.test(f)) bad(`line ${lineNo}, column ${c + 1}: ${JSON.stringify(f)} is not a number`)
      const v = Number(f)
      if (!Number.isFinite(v)) bad(`line ${lineNo}, column ${c + 1}: ${f} is out of range`)
      if (c === label) {
        if (!Number.isSafeInteger(v) || v < 0) bad(`line ${lineNo}: label ${f} is not a class index (an integer ≥ 0)`)
        ys.push(v)
        if (v > maxLabel) maxLabel = v
      } else {
        xs.push(v)
      }
    }
  }
  if (ys.length === 0 || width === undefined) bad('the CSV has no data rows')
  const classes = options.classes ?? Math.max(2, maxLabel + 1)
  if (!Number.isSafeInteger(classes) || classes < 2) throw new ParticipantError('BAD_ARGUMENT', `classes must be an integer ≥ 2, got ${String(classes)}`)
  if (maxLabel >= classes) bad(`label ${maxLabel} is outside the ${classes} classes`)
  const x = Float32Array.from(xs)
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) bad(`feature value ${xs[i]} overflows float32`)
  return checkDataset({ x, y: Int32Array.from(ys), n: ys.length, features: width - 1, classes })
}
