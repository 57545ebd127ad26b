// Key files (node/config.ts readKeyFile / writeKeyFile): written 0600 in a 0700 folder, never overwritten,
// read back; a broken one is refused with a typed error that never quotes the file (its text is a secret).
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, readKey, readKeyFile, writeKeyFile } from '../../node/index.ts'

const dirs: string[] = []
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})
async function sandbox(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fedledger-keys-'))
  dirs.push(d)
  return d
}

const SECRET = 'ab'.repeat(32)
const key = { id: 'bank-a', publicKey: new Uint8Array(32).fill(1), secretKey: new Uint8Array(32).fill(0xab) }

describe('key files', () => {
  it('are written 0600 in a 0700 folder, never overwritten, and read back', async () => {
    const path = join(await sandbox(), 'members', 'bank-a.json')
    await writeKeyFile(path, key)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    expect((await stat(join(path, '..'))).mode & 0o777).toBe(0o700)
    expect(await readKeyFile(path)).toEqual(key)
    await expect(writeKeyFile(path, key)).rejects.toMatchObject({ code: 'EEXIST' })
  })

  it('a broken one is a ConfigError that names the file and never quotes it', async () => {
    const dir = await sandbox()
    const cases = {
      truncated: `{"id":"bank-a","secretKey":"${SECRET}`,
      'not hex': JSON.stringify({ id: 'bank-a', publicKey: SECRET, secretKey: `${SECRET.slice(0, 62)}zz` }),
      'not JSON': `${SECRET} is the secret key`,
    }
    for (const [what, text] of Object.entries(cases)) {
      const path = join(dir, `${what}.json`)
      await writeFile(path, text)
      const e = await readKeyFile(path).then(() => undefined, (err: unknown) => err)
      expect([what, e instanceof ConfigError]).toEqual([what, true])
      expect((e as Error).message).toContain(path)
      expect([what, (e as Error).message.includes(SECRET.slice(0, 8))]).toEqual([what, false])
    }
    // a validator home's key the same way
    const home = join(dir, 'home')
    await mkdir(join(home, 'keys'), { recursive: true })
    await writeFile(join(home, 'keys', 'validator.json'), `{"secretKey":"${SECRET}`)
    const e = await readKey(home).then(() => undefined, (err: unknown) => err)
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as Error).message.includes(SECRET.slice(0, 8))).toBe(false)
  })
})
