// CSV datasets: parsing, the typed errors, and loading from disk through node/data.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadCsvDataset } from '../../node/data/index.ts'
import { isParticipantError, parseCsvDataset } from '../../participant/index.ts'
import { asyncCodeOf, codeOf } from './helpers.ts'

function messageOf(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    return isParticipantError(e) ? e.message : String(e)
  }
  return 'no throw'
}

describe('parseCsvDataset', () => {
  it('parses features and labels by column index', () => {
    const ds = parseCsvDataset('0.5,1,2\n-1e-3,3,0\n\n4,.25,1\n', { labelColumn: 2 })
    expect(ds).toMatchObject({ n: 3, features: 2, classes: 3 })
    expect(Array.from(ds.x)).toEqual([0.5, 1, -1e-3, 3, 4, 0.25].map(Math.fround))
    expect(Array.from(ds.y)).toEqual([2, 0, 1])
  })

  it('finds the label by header name, with quotes, CRLF and another delimiter', () => {
    const ds = parseCsvDataset('"income";"default";"age"\r\n"1200";"1";"33"\r\n800;0;51\r\n', { labelColumn: 'default', delimiter: ';', classes: 2 })
    expect(ds).toMatchObject({ n: 2, features: 2, classes: 2 })
    expect(Array.from(ds.x)).toEqual([1200, 33, 800, 51])
    expect(Array.from(ds.y)).toEqual([1, 0])
  })

  it('keeps the declared class count above the largest label', () => {
    expect(parseCsvDataset('1,0\n2,1\n', { labelColumn: 1, classes: 5 }).classes).toBe(5)
  })

  it.each([
    ['a ragged row', '1,2,0\n3,1\n', { labelColumn: 2 }, /line 2: 2 fields, expected 3/],
    ['a non-number', '1,2,0\n3,abc,1\n', { labelColumn: 2 }, /line 2, column 2: "abc" is not a number/],
    ['NaN', '1,NaN,0\n', { labelColumn: 2 }, /not a number/],
    ['Infinity', 'Infinity,1,0\n', { labelColumn: 2 }, /not a number/],
    ['an empty field', '1,,0\n', { labelColumn: 2 }, /empty field/],
    ['a fractional label', '1,2,0.5\n', { labelColumn: 2 }, /label 0.5 is not a class index/],
    ['a negative label', '1,2,-1\n', { labelColumn: 2 }, /label -1 is not a class index/],
    ['a label above the classes', '1,2,3\n', { labelColumn: 2, classes: 3 }, /label 3 is outside the 3 classes/],
    ['no rows', '\n\n', { labelColumn: 0 }, /no data rows/],
    ['only a header', 'a,b\n', { labelColumn: 'b' }, /no data rows/],
    ['an unknown column name', 'a,b\n1,0\n', { labelColumn: 'c' }, /no column named "c"/],
    ['a label column past the end', '1,0\n', { labelColumn: 4 }, /outside the 2 columns/],
    ['a float32 overflow', '1e39,0\n', { labelColumn: 1 }, /overflows float32/],
  ])('refuses %s (BAD_CSV)', (_what, text, opts, message) => {
    expect(codeOf(() => parseCsvDataset(text, opts))).toBe('BAD_CSV')
    expect(messageOf(() => parseCsvDataset(text, opts))).toMatch(message)
  })

  it('refuses bad options (BAD_ARGUMENT)', () => {
    expect(codeOf(() => parseCsvDataset('1,0\n', { labelColumn: -1 }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => parseCsvDataset('1,0\n', { labelColumn: 'x', header: false }))).toBe('BAD_ARGUMENT')
    expect(codeOf(() => parseCsvDataset('1,0\n', { labelColumn: 1, delimiter: '' }))).toBe('BAD_ARGUMENT')
  })
})

describe('loadCsvDataset', () => {
  const dirs: string[] = []
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })

  it('reads a file and reports a missing one by path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedledger-csv-'))
    dirs.push(dir)
    const path = join(dir, 'bank.csv')
    await writeFile(path, 'x1,x2,y\n0.1,0.2,1\n0.3,0.4,0\n')
    const ds = await loadCsvDataset(path, { labelColumn: 'y' })
    expect(ds).toMatchObject({ n: 2, features: 2, classes: 2 })
    const missing = join(dir, 'nope.csv')
    expect(await asyncCodeOf(loadCsvDataset(missing, { labelColumn: 0 }))).toBe('MISSING_FILE')
    await expect(loadCsvDataset(missing, { labelColumn: 0 })).rejects.toThrow(missing)
  })
})
