/**
 * `fedledger cas` in-process, over real directories and a real level store in
 * temporary directories. Directory CIDs are Kubo's (sources as in
 * test/ledger/cas-kubo-vectors.test.ts: kubo test/sharness t0040-add-and-cat.sh,
 * t0044-add-symlink.sh; go-ipfs README), here reached through the disk walk.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { LevelKeyValueStore } from '../../ledger/store/level.ts'
import { REPO_DB_DIR } from '../../cli/cas.ts'
import type { CliIo } from '../../cli/io.ts'
import { main } from '../../cli/main.ts'
import { deterministicBytes } from '../fixtures/cas/deterministic.ts'

interface Run {
  code: number
  out: string[]
  err: string
  bytes: Buffer
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fedledger-cli-cas-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function cas(...args: string[]): Promise<Run> {
  const out: string[] = []
  const err: string[] = []
  const chunks: Uint8Array[] = []
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), write: (b) => void chunks.push(b.slice()), cwd: dir }
  const code = await main(['cas', ...args], io)
  return { code, out, err: err.join('\n'), bytes: Buffer.concat(chunks) }
}

async function tree(root: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const base = join(dir, root)
  await mkdir(base, { recursive: true })
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(base, path, '..'), { recursive: true })
    await writeFile(join(base, path), content)
  }
  return base
}

describe('fedledger cas add', () => {
  it('prints the CID of a file, default profile unixfs-v1-2025 and legacy v0', async () => {
    await writeFile(join(dir, 'hello'), 'hello world\n')
    expect(await cas('add', 'hello', '--profile', 'unixfs-v0-2015')).toMatchObject({ code: 0, out: ['QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'] })
    await writeFile(join(dir, 'hw'), 'hello world')
    expect((await cas('add', 'hw')).out).toEqual(['bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e'])
  })

  it.each([
    [[], 'QmWSgS32xQEcXMeqd3YPJLrNBLSdsfYCep2U7CFkyrjXwY'],
    [['--raw-leaves'], 'QmfWfQfKCY5Ukv9peBbxM5vqWM9BzmqUSXvdCgjT2wsiBT'],
    [['--cid-version', '1', '--raw-leaves'], 'bafybeih7e5dmkyk25up5vxug4q3hrg2fxbzf23dfrac2fns5h7z4aa7ioi'],
    [['--cid-version', '1', '--no-raw-leaves'], 'bafybeif5tuep5ap2d7zyhbktucey75aoacxufgt6i3v4gebmixyipnyp7y'],
  ])('adds a directory recursively: planets %j', async (flags, expected) => {
    await tree('planets', { 'mars.txt': 'Hello Mars!\n', 'venus.txt': 'Hello Venus!\n' })
    const run = await cas('add', 'planets', '--profile', 'unixfs-v0-2015', ...flags)
    expect(run).toMatchObject({ code: 0, out: [expected] })
  })

  it('adds nested directories, skips hidden names unless --hidden', async () => {
    await tree('moons', { 'jupiter/europa.txt': 'Hello Europa!\n', 'saturn/titan.txt': 'Hello Titan!\n', 'mercury.txt': 'hey youre no moon!\n', '.hidden': 'secret', '.git/config': 'x' })
    const v0 = ['--profile', 'unixfs-v0-2015']
    expect((await cas('add', 'moons', ...v0)).out).toEqual(['QmVKvomp91nMih5j6hYBA8KjbiaYvEetU2Q7KvtZkLe9nQ'])
    const withHidden = await cas('add', 'moons', ...v0, '--hidden')
    expect(withHidden.code).toBe(0)
    expect(withHidden.out[0]).not.toBe('QmVKvomp91nMih5j6hYBA8KjbiaYvEetU2Q7KvtZkLe9nQ')
  })

  it('keeps symbolic links as links, inside a directory and as the argument (t0044)', async () => {
    const base = await tree('files', { 'foo/baz': 'some text\n' })
    await mkdir(join(base, 'bar'))
    await symlink('files/foo/baz', join(base, 'bar/baz'))
    await symlink('files/does/not/exist', join(base, 'bad'))
    const v0 = ['--profile', 'unixfs-v0-2015']
    expect((await cas('add', 'files', ...v0)).out).toEqual(['QmWdiHKoeSW8G1u7ATCgpx4yMoUhYaJBQGkyPLkS9goYZ8'])
    expect((await cas('add', 'files/bar/baz', ...v0)).out).toEqual(['QmdocmZeF7qwPT9Z8SiVhMSyKA2KKoA2J7jToW6z6WBmxR'])
    expect((await cas('add', 'files/bad', ...v0)).out).toEqual(['QmWYN8SEXCgNT2PSjB6BnxAx6NJQtazWoBkTRH9GRfPFFQ'])
  })

  it('adds an empty directory', async () => {
    await mkdir(join(dir, 'empty'))
    expect((await cas('add', 'empty', '--profile', 'unixfs-v0-2015')).out).toEqual(['QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn'])
    expect((await cas('add', 'empty')).out).toEqual(['bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354'])
  })

  it('honours --chunk-size, --layout and --max-links (Kubo t0040 hello.txt)', async () => {
    await writeFile(join(dir, 'hello.txt'), 'Hello Worlds!\n')
    const v0 = ['--profile', 'unixfs-v0-2015']
    expect((await cas('add', 'hello.txt', ...v0, '--layout', 'trickle')).out).toEqual(['QmUkUQgxXeggyaD5Ckv8ZqfW8wHBX6cYyeiyqvVZYzq5Bi'])
    expect((await cas('add', 'hello.txt', ...v0, '--chunk-size', '64', '--max-links', '3')).out).toEqual(['QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH'])
  })
})

describe('fedledger cas cat, export, import', () => {
  it('cat writes the exact bytes (binary) to standard output, also by path', async () => {
    const weights = deterministicBytes(2_500_000, 'weights')
    await tree('ckpt', { 'model/weights.f32': weights, 'state.cbor': 'state' })
    const root = (await cas('add', 'ckpt')).out[0]!
    const whole = await cas('cat', `${root}/model/weights.f32`)
    expect(whole.code).toBe(0)
    expect(whole.bytes.equals(Buffer.from(weights))).toBe(true)
    expect((await cas('cat', `/ipfs/${root}/state.cbor`)).bytes.toString()).toBe('state')
  })

  it('exports a CAR and imports it into another repo, which can then serve the files', async () => {
    await tree('ckpt', { 'a.txt': 'alpha', 'b/c.txt': 'gamma' })
    const root = (await cas('add', 'ckpt')).out[0]!
    const exported = await cas('export', root, '--car', 'out.car')
    expect(exported.code).toBe(0)
    expect((await readFile(join(dir, 'out.car'))).length).toBeGreaterThan(0)
    const imported = await cas('import', 'out.car', '--repo', 'other')
    expect(imported).toMatchObject({ code: 0, out: [root] })
    expect((await cas('cat', `${root}/b/c.txt`, '--repo', 'other')).bytes.toString()).toBe('gamma')
  })

  it('uses $FEDLEDGER_HOME, else ./.fedledger', async () => {
    await writeFile(join(dir, 'f'), 'x')
    const previous = process.env.FEDLEDGER_HOME
    try {
      process.env.FEDLEDGER_HOME = join(dir, 'home')
      const cid = (await cas('add', 'f')).out[0]!
      expect((await cas('cat', cid)).bytes.toString()).toBe('x')
      expect((await cas('cat', cid, '--repo', '.fedledger')).code).toBe(1)
      delete process.env.FEDLEDGER_HOME
      expect((await cas('cat', cid)).code).toBe(1) // ./.fedledger is a different, empty repo
      await cas('add', 'f')
      expect((await cas('cat', cid)).bytes.toString()).toBe('x')
    } finally {
      if (previous === undefined) delete process.env.FEDLEDGER_HOME
      else process.env.FEDLEDGER_HOME = previous
    }
  })
})

describe('fedledger cas: bad input', () => {
  it.each([
    [['cat', 'not-a-cid'], 1, /not a CID/],
    [['cat', 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e'], 1, /NOT_FOUND: no store in/],
    [['export', 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e', '--car', 'x.car'], 1, /NOT_FOUND/],
    [['add', 'missing.txt'], 1, /missing\.txt: no such file or directory/],
    [['import', 'missing.car'], 1, /missing\.car: no such file or directory/],
    [['add'], 2, /missing PATH/],
    [['export', 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e'], 2, /--car/],
    [['add', 'x', '--cid-version', '2'], 2, /--cid-version must be 0 or 1/],
    [['add', 'x', '--layout', 'flat'], 2, /--layout/],
    [['add', 'x', '--chunk-size', '2097152'], 2, /chunk size/],
    [['add', 'x', '--raw-leaves', '--no-raw-leaves'], 2, /contradict/],
    [['add', 'x', '--profile', 'kubo'], 2, /--profile/],
    [['frobnicate'], 2, /unknown subcommand/],
  ])('%j exits %i', async (args, code, message) => {
    const run = await cas(...args)
    expect(run.code).toBe(code)
    expect(run.err).toMatch(message)
  })

  it('reports an unknown CID in an existing store', async () => {
    await writeFile(join(dir, 'f'), 'x')
    await cas('add', 'f')
    const run = await cas('cat', 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
    expect(run.code).toBe(1)
    expect(run.err).toMatch(/NOT_FOUND: block bafkrei\w+ is not in the store/)
  })

  it('rejects a malformed CAR and a CAR whose block does not match its CID', async () => {
    await writeFile(join(dir, 'junk.car'), 'definitely not a car')
    const junk = await cas('import', 'junk.car')
    expect(junk.code).toBe(1)
    expect(junk.err).toMatch(/MALFORMED/)

    await tree('d', { 'f.txt': 'original bytes' })
    const root = (await cas('add', 'd')).out[0]!
    await cas('export', root, '--car', 'good.car')
    const car = await readFile(join(dir, 'good.car'))
    const at = car.indexOf(Buffer.from('original bytes'))
    car.set(Buffer.from('tampered'), at)
    await writeFile(join(dir, 'bad.car'), car)
    const bad = await cas('import', 'bad.car', '--repo', 'other')
    expect(bad.code).toBe(1)
    expect(bad.err).toMatch(/CID_MISMATCH/)
  })

  it('reports a repo whose store is held open elsewhere', async () => {
    await writeFile(join(dir, 'f'), 'x')
    const holder = new LevelKeyValueStore(join(dir, 'busy', REPO_DB_DIR))
    await holder.open()
    try {
      const run = await cas('add', 'f', '--repo', 'busy')
      expect(run.code).toBe(1)
      expect(run.err).toMatch(/locked by another process/)
    } finally {
      await holder.close()
    }
  })

  it('leaves no partial CAR behind when the export fails', async () => {
    await writeFile(join(dir, 'f'), 'x')
    await cas('add', 'f')
    const run = await cas('export', 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e', '--car', 'none.car')
    expect(run.code).toBe(1)
    expect(run.err).toMatch(/NOT_FOUND/)
    expect((await readdir(dir)).filter((n) => n.includes('none.car'))).toEqual([])
  })
})
