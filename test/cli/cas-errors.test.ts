/**
 * `fedledger cas` on hostile or broken input: every failure is a typed error
 * (exit 1, one line on stderr) or a usage error (exit 2), never a stack trace.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import * as raw from 'multiformats/codecs/raw'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CliIo } from '../../cli/io.ts'
import { main } from '../../cli/main.ts'
import { carOf, sha256Cid } from '../fixtures/cas/car.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedledger-cli-cas-errors-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function cas(...args: string[]): Promise<{ code: number; out: string[]; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), write: () => {}, cwd: dir }
  const code = await main(['cas', ...args], io)
  return { code, out, err: err.join('\n') }
}

const utf8 = (s: string) => new TextEncoder().encode(s)

function expectTyped(run: { code: number; err: string }, code: string, pattern?: RegExp) {
  expect(run.code).toBe(1)
  expect(run.err).toMatch(new RegExp(`^fedledger cas: error ${code}: `))
  expect(run.err).not.toMatch(/internal error|\n\s+at /)
  if (pattern !== undefined) expect(run.err).toMatch(pattern)
}

describe('blocks that pass the hash check but do not decode', () => {
  const deep = new Uint8Array(5001).fill(0x81)
  deep[5000] = 0x01
  it.each([
    ['bytes that are not CBOR', utf8('this is not CBOR: it has trailing bytes')],
    ['5,000 nested arrays', deep],
  ])('a dag-cbor block of %s, imported from a CAR: cat and export are MALFORMED', async (_label, bytes) => {
    const cid = sha256Cid(dagCbor.code, bytes)
    await writeFile(join(dir, 'bad.car'), await carOf([{ cid, bytes }], [cid]))
    expect(await cas('import', 'bad.car')).toMatchObject({ code: 0, out: [cid.toString()] })
    expectTyped(await cas('cat', cid.toString()), 'MALFORMED')
    expectTyped(await cas('cat', `${cid}/some/path`), 'MALFORMED')
    expectTyped(await cas('export', cid.toString(), '--car', 'out.car'), 'MALFORMED')
  })
})

describe('file-system errors name the path, whatever the errno', () => {
  it('a symbolic link loop (ELOOP)', async () => {
    await symlink('loop.car', join(dir, 'loop.car'))
    expectTyped(await cas('import', 'loop.car'), 'BAD_ARGUMENT', /loop\.car: ELOOP/)
  })

  it('a name too long (ENAMETOOLONG)', async () => {
    const name = 'n'.repeat(300)
    expectTyped(await cas('add', name), 'BAD_ARGUMENT', /ENAMETOOLONG/)
    expectTyped(await cas('import', name), 'BAD_ARGUMENT', /ENAMETOOLONG/)
  })

  it.runIf(existsSync('/proc/self/mem'))('a file that cannot be read (EIO) is not reported as a malformed CAR', async () => {
    const run = await cas('import', '/proc/self/mem')
    expectTyped(run, 'BAD_ARGUMENT', /\/proc\/self\/mem: EIO/)
    expect(run.err).not.toMatch(/MALFORMED|not a valid CAR/)
  })
})

describe('CAR roots', () => {
  it('a root that is not in the CAR (nor the store) is NOT_FOUND, exit 1, unless --allow-partial', async () => {
    const bytes = utf8('present')
    const present = sha256Cid(raw.code, bytes)
    const absent = sha256Cid(raw.code, utf8('absent'))
    await writeFile(join(dir, 'partial.car'), await carOf([{ cid: present, bytes }], [absent]))
    expectTyped(await cas('import', 'partial.car'), 'NOT_FOUND', new RegExp(`${absent}.*neither in the CAR nor in the store`))
    const allowed = await cas('import', 'partial.car', '--allow-partial', '--repo', 'other')
    expect(allowed.code).toBe(0)
    expect(allowed.out).toEqual([absent.toString()])
    expect(allowed.err).toMatch(new RegExp(`warning: root ${absent} is not in the store`))
  })
})

describe('usage', () => {
  it.each([['0x400'], ['0b1'], ['1e3x'], ['']])('--chunk-size %j is a usage error', async (value) => {
    await writeFile(join(dir, 'f'), 'x')
    const run = await cas('add', 'f', '--chunk-size', value)
    expect(run.code).toBe(2)
    expect(run.err).toMatch(/--chunk-size must be a decimal number/)
  })
})
