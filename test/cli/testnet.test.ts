/** `fedledger init`, `keys` and `testnet`: argument errors are one line and exit 2; the commands do what they print. */
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { genesisState } from '../../ledger/index.ts'
import { toHex } from '../../primitives/index.ts'
import { readGenesis, readKey, readNodeConfig } from '../../node/config.ts'
import { type CliIo } from '../../cli/io.ts'
import { commands, main } from '../../cli/main.ts'
import { makeTestnetCommand } from '../../cli/testnet.ts'
import { peerIdOf, peerKeyFromSeed } from '../../node/p2p/index.ts'
import { generateTestnet, isOurProcess, readPid, readTestnetFile } from '../../testnet/index.ts'
import { fakeLauncher, Sandbox } from '../testnet/helpers.ts'

const sandbox = new Sandbox()
const realTestnet = commands.testnet!
afterEach(async () => {
  commands.testnet = realTestnet
  await sandbox.cleanup()
})

function fakeIo(cwd = '/tmp'): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = []
  const errors: string[] = []
  return { lines, errors, cwd, out: (l) => lines.push(l), err: (l) => errors.push(l), write: () => {} }
}

async function run(argv: string[], cwd?: string) {
  const io = fakeIo(cwd)
  const code = await main(argv, io)
  return { code, out: io.lines.join('\n'), err: io.errors.join('\n'), firstError: io.errors[0]?.split('\n')[0] }
}

describe('argument errors', () => {
  const cases: Array<[string[], RegExp]> = [
    [['testnet'], /^fedledger testnet: missing subcommand$/],
    [['testnet', 'frob'], /^fedledger testnet: unknown subcommand 'frob'$/],
    [['testnet', 'up', '--validators', '0'], /^fedledger testnet: --validators must be at least 1, got '0'$/],
    [['testnet', 'up', '--validators', 'four'], /^fedledger testnet: --validators must be a decimal number, got 'four'$/],
    [['testnet', 'up', '--validators', '101'], /^fedledger testnet: --validators must be at most 100/],
    [['testnet', 'up', '--app', 'chess'], /^fedledger testnet: --app must be ledger or noop, got 'chess'$/],
    [['testnet', 'up', '--bogus'], /^fedledger testnet: Unknown option '--bogus'/],
    [['testnet', 'kill'], /^fedledger testnet: --validator is required$/],
    [['testnet', 'kill', '--validator=-1'], /^fedledger testnet: --validator must be at least 0/],
    [['testnet', 'kill', '--validator', '0', '--signal', 'SIGNOPE'], /^fedledger testnet: --signal: unknown signal 'SIGNOPE'$/],
    [['testnet', 'restart', '--validator', '1.5'], /^fedledger testnet: --validator must be an integer/],
    [['testnet', 'run'], /^fedledger testnet: run takes exactly one MANIFEST file$/],
    [['init'], /^fedledger init: --home DIR is required$/],
    [['init', '--home', 'h', '--peers', '/ip4/127.0.0.1/tcp/1'], /^fedledger init: --peers: '\/ip4\/127\.0\.0\.1\/tcp\/1' has no \/p2p\/<peer id> at the end$/],
    [['init', '--home', 'h', '--listen', 'not-an-addr'], /^fedledger init: --listen: 'not-an-addr' is not a multiaddr$/],
    [['init', '--home', 'h', '--api-port', '70000'], /^fedledger init: --api-port must be at most 65535/],
    [['init', '--home', 'h', '--id', 'bad id'], /^fedledger init: --id 'bad id' is not a valid id/],
    [['keys'], /^fedledger keys: missing subcommand$/],
    [['keys', 'show'], /^fedledger keys: give exactly one of --home DIR or --file FILE$/],
    [['keys', 'generate'], /^fedledger keys: --out FILE is required$/],
  ]
  it.each(cases)('%j exits 2 with one clear line', async (argv, message) => {
    const dir = await sandbox.dir()
    const r = await run(argv, dir)
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.firstError).toMatch(message)
    // nothing was created
    expect(await readFile(join(dir, 'h', 'config.json')).catch(() => null)).toBeNull()
  })

  it('a system error is one line with its code, exit 1', async () => {
    const dir = await sandbox.dir()
    const r = await run(['testnet', 'status', '--dir', join(dir, 'none')])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^fedledger testnet: error NOT_FOUND: no testnet in .*none/)
    expect(r.err.split('\n')).toHaveLength(1)
  })
})

describe('fedledger init and keys', () => {
  it('init makes a home the node can read; keys show agrees; a second init keeps the key', async () => {
    const dir = await sandbox.dir()
    const r = await run(['init', '--home', 'home', '--id', 'val-a', '--chain-id', 'solo', '--api-port', '7001', '--listen', '/ip4/127.0.0.1/tcp/7000'], dir)
    expect(r.code).toBe(0)
    const home = join(dir, 'home')
    const key = await readKey(home)
    const peerId = peerIdOf(await peerKeyFromSeed(key.secretKey))
    expect(r.out).toContain(`p2p         /ip4/127.0.0.1/tcp/7000/p2p/${peerId}`)
    const config = await readNodeConfig(home)
    expect(config).toMatchObject({ id: 'val-a', listen: '/ip4/127.0.0.1/tcp/7000', peers: [], api: { host: '127.0.0.1', port: 7001 }, app: 'ledger' })
    const genesis = await readGenesis(home)
    expect(genesis.chainId).toBe('solo')
    expect(genesis.validators.map((v) => [v.id, toHex(v.publicKey)])).toEqual([['val-a', toHex(key.publicKey)]])
    expect(() => genesisState(genesis)).not.toThrow()
    expect((await stat(join(home, 'keys', 'operator.json'))).mode & 0o777).toBe(0o600)

    const shown = await run(['keys', 'show', '--home', 'home'], dir)
    expect(shown.out.split('\n')).toEqual(['id          val-a', `public key  ${toHex(key.publicKey)}`, `peer id     ${peerId}`])

    const again = await run(['init', '--home', 'home'], dir)
    expect(again.code).toBe(1)
    expect(again.err).toMatch(/^fedledger init: error CONFIG: .*config\.json exists; pass --force/)
    const forced = await run(['init', '--home', 'home', '--force', '--peers', `/ip4/127.0.0.1/tcp/7100/p2p/${peerId}`], dir)
    expect(forced.code).toBe(0)
    expect(toHex((await readKey(home)).publicKey)).toBe(toHex(key.publicKey))
    expect((await readNodeConfig(home)).peers).toEqual([`/ip4/127.0.0.1/tcp/7100/p2p/${peerId}`])
  })

  it('init --genesis copies a genesis and takes the id it gives the home key', async () => {
    const dir = await sandbox.dir()
    const net = join(dir, 'net')
    await generateTestnet({ dir: net, validators: 2 })
    const home = join(dir, 'home')
    await mkdir(join(home, 'keys'), { recursive: true })
    await copyFile(join(net, 'v1', 'keys', 'validator.json'), join(home, 'keys', 'validator.json'))
    const r = await run(['init', '--home', home, '--genesis', join(net, 'genesis.json')])
    expect(r.code).toBe(0)
    expect(r.err).toBe('')
    expect((await readNodeConfig(home)).id).toBe('validator-1')
    expect(await readFile(join(home, 'genesis.json'), 'utf8')).toBe(await readFile(join(net, 'genesis.json'), 'utf8'))

    const wrong = await run(['init', '--home', home, '--force', '--id', 'validator-0', '--genesis', join(net, 'genesis.json')])
    expect(wrong.code).toBe(1)
    expect(wrong.err).toMatch(/error CONFIG: the genesis names this key 'validator-1', not 'validator-0'/)
    const outsider = await run(['init', '--home', join(dir, 'other'), '--genesis', join(net, 'genesis.json')])
    expect(outsider.code).toBe(0)
    expect(outsider.err).toMatch(/is not among the genesis validators/)
    const bad = await run(['init', '--home', join(dir, 'third'), '--genesis', join(net, 'testnet.json')])
    expect(bad.code).toBe(1)
    expect(bad.err).toMatch(/error CONFIG: .*testnet\.json is not a genesis/)
  })

  it('keys generate writes a 0600 key file once; keys show --file reads it', async () => {
    const dir = await sandbox.dir()
    const r = await run(['keys', 'generate', '--out', 'keys/bank-z.json'], dir)
    expect(r.code).toBe(0)
    const path = join(dir, 'keys', 'bank-z.json')
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const file = JSON.parse(await readFile(path, 'utf8')) as { id: string; publicKey: string }
    expect(file.id).toBe('bank-z')
    expect(r.out).toContain(`public key  ${file.publicKey}`)
    const shown = await run(['keys', 'show', '--file', path])
    expect(shown.out).toContain(`public key  ${file.publicKey}`)
    expect(shown.out).toBe(r.out.split('\n').slice(1).join('\n'))
    const twice = await run(['keys', 'generate', '--out', path])
    expect(twice.code).toBe(1)
    expect(twice.err).toMatch(/exists; pass --force/)
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(file)
    expect((await run(['keys', 'generate', '--out', path, '--force', '--id', 'other'])).code).toBe(0)
    expect(JSON.parse(await readFile(path, 'utf8')).id).toBe('other')
  })
})

describe('fedledger testnet (fake validators)', () => {
  it('up prints endpoints; status, kill, restart and down report what happened', async () => {
    commands.testnet = makeTestnetCommand({ launcher: fakeLauncher })
    const cwd = await sandbox.dir()
    const up = await run(['testnet', 'up', '--validators', '3', '--timeout', '20'], cwd)
    expect(up.err).toBe('')
    expect(up.code).toBe(0)
    const dir = join(cwd, 'testnet-data')
    const file = await readTestnetFile(dir)
    for (const v of file.validators) expect(up.out).toContain(`${v.api}  ${v.p2p}`)
    expect(up.out).toMatch(/generated and started 3 validators of chain fedledger-testnet; each has committed a block/)

    const st = await run(['testnet', 'status'], cwd)
    const rows = st.out.split('\n')
    expect(rows[0]).toMatch(/^ID\s+PID\s+ALIVE\s+HEIGHT\s+VIEW\s+EPOCH\s+LEADER\s+PEERS\s+MEMPOOL\s+API$/)
    expect(rows.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual(await Promise.all(file.validators.map(async (v) => [v.id, String(await readPid(join(dir, v.home))), 'yes'])))

    const killed = await run(['testnet', 'kill', '--validator', '2', '--signal', 'term'], cwd)
    expect(killed.out).toMatch(/^validator-2 \(pid \d+\): sent SIGTERM; it exited$/)
    expect((await run(['testnet', 'status'], cwd)).out.split('\n')[3]).toMatch(/^validator-2\s+-\s+no\s+-/)
    const missing = await run(['testnet', 'kill', '--validator', '2'], cwd)
    expect(missing.code).toBe(1)
    expect(missing.err).toBe('fedledger testnet: error NOT_RUNNING: validator-2 is not running')
    const restarted = await run(['testnet', 'restart', '--validator', '2'], cwd)
    expect(restarted.out).toMatch(/^validator-2 restarted \(pid \d+; before: not-running\)/)
    const pid = await readPid(join(dir, 'v2'))
    expect(await isOurProcess(pid!, join(dir, 'v2'))).toBe(true)

    const down = await run(['testnet', 'down'], cwd)
    expect(down.out.split('\n').map((l) => l.replace(/\d+/g, 'N'))).toEqual(['validator-N    stopped (pid N)', 'validator-N    stopped (pid N)', 'validator-N    stopped (pid N)'])
    expect(await isOurProcess(pid!, join(dir, 'v2'))).toBe(false)
    expect((await run(['testnet', 'down'], cwd)).out).toMatch(/^validator-0\s+not running\nvalidator-1\s+not running\nvalidator-2\s+not running$/)
  })

  it('up that fails prints the log tail of the validator that did not come up, exit 1', async () => {
    commands.testnet = makeTestnetCommand({ launcher: fakeLauncher })
    const cwd = await sandbox.dir()
    await generateTestnet({ dir: join(cwd, 'net'), validators: 2 })
    await import('node:fs/promises').then((fs) => fs.writeFile(join(cwd, 'net', 'v1', 'fake-mode'), 'crash'))
    const r = await run(['testnet', 'up', '--dir', 'net', '--timeout', '20'], cwd)
    expect(r.code).toBe(1)
    expect(r.firstError).toMatch(/^fedledger testnet: error NOT_READY: 1 of 2 validators did not come up: validator-1 \(exited\); stopped them all$/)
    expect(r.err).toMatch(/--- validator-1: exited; last lines of its node\.log:\n(.*\n)*.*fatal: simulated crash/)
    expect(await readPid(join(cwd, 'net', 'v0'))).toBeNull()
  })
})
