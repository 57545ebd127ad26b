/** testnet/generate: the files of a generated testnet agree with each other, and an existing one is not overwritten by accident. */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { AttestationVerifierRegistry, decodeTx, executeBlock, genesisState, GenesisSchema, StateKey } from '../../ledger/index.ts'
import { toHex } from '../../primitives/index.ts'
import { SIM_FORMAT, SimAttestationVerifier } from '../../enclave/index.ts'
import { readGenesis, readKey, readNodeConfig } from '../../node/config.ts'
import { peerIdOf, peerKeyFromSeed } from '../../node/p2p/index.ts'
import { readKeyFile } from '../../node/index.ts'
import { freePorts, generateTestnet, grantLoad, readTestnetFile, TestnetError } from '../../testnet/index.ts'
import { Sandbox } from './helpers.ts'

const sandbox = new Sandbox()
afterEach(() => sandbox.cleanup())

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (e instanceof TestnetError ? e.code : `untyped: ${String(e)}`))

describe('generateTestnet', () => {
  it('writes keys, configs and one genesis whose validators, key files and peer lists agree', async () => {
    const dir = await sandbox.dir()
    const file = await generateTestnet({ dir, validators: 4, chainId: 'net-1', app: 'noop', consensus: { baseTimeoutMs: 500 } })
    expect(file.validators.map((v) => v.id)).toEqual(['validator-0', 'validator-1', 'validator-2', 'validator-3'])
    expect(await readTestnetFile(dir)).toEqual(file)

    const shared = await readFile(join(dir, 'genesis.json'), 'utf8')
    const genesis = await readGenesis(dir)
    const state = genesisState(genesis)
    expect(state.get<{ validators: Array<{ id: string; publicKey: Uint8Array }> }>(StateKey.validators)!.validators.map((v) => v.id)).toEqual(file.validators.map((v) => v.id))
    expect(genesis.chainId).toBe('net-1')
    expect(genesis.epochLength).toBe(1000)

    const ports = new Set<number>()
    for (const v of file.validators) {
      const home = join(dir, v.home)
      expect(await readFile(join(home, 'genesis.json'), 'utf8')).toBe(shared)
      const key = await readKey(home)
      expect(key.id).toBe(v.id)
      expect(toHex(key.publicKey)).toBe(v.publicKey)
      expect(toHex(genesis.validators[v.index]!.publicKey)).toBe(v.publicKey)
      expect(peerIdOf(await peerKeyFromSeed(key.secretKey))).toBe(v.peerId)
      expect((await stat(join(home, 'keys', 'validator.json'))).mode & 0o777).toBe(0o600)

      const config = await readNodeConfig(home)
      expect(config.id).toBe(v.id)
      expect(config.app).toBe('noop')
      expect(config.consensus.baseTimeoutMs).toBe(500)
      expect(config.listen).toBe(v.listen)
      expect(v.p2p).toBe(`${v.listen}/p2p/${v.peerId}`)
      expect(v.api).toBe(`http://127.0.0.1:${config.api.port}`)
      expect(config.listen).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/)
      // every other validator, by the peer id its key implies; never itself
      expect([...config.peers].sort()).toEqual(file.validators.filter((o) => o !== v).map((o) => o.p2p).sort())
      ports.add(Number(config.listen.split('/').pop())).add(config.api.port)
    }
    expect(ports.size).toBe(8)

    // member keys sign for the members the genesis names, with their roles
    expect(file.members.length).toBe(genesis.members.length)
    for (const m of file.members) {
      const key = await readKeyFile(join(dir, m.key))
      const g = genesis.members.find((x) => x.id === m.id)!
      expect(toHex(key.publicKey)).toBe(toHex(g.publicKey))
      expect(m.roles).toEqual(g.roles)
    }
    expect(file.members.filter((m) => m.roles.includes('governor')).length).toBeGreaterThanOrEqual(genesis.governanceThreshold)
    expect(file.members.some((m) => m.roles.includes('coordinator'))).toBe(true)
    expect(genesis.budgets!.map((b) => b.member).sort()).toEqual(file.members.filter((m) => m.roles.includes('participant')).map((m) => m.id).sort())
    const root = await readKeyFile(join(dir, file.authorities.find((a) => a.id === 'testnet-root')!.key))
    expect(genesis.attestation.formats).toEqual(['sim-v1'])
    expect(toHex(genesis.attestation.trustAnchors!['sim-v1']![0]!)).toBe(toHex(root.publicKey))
    const enclave = await readKeyFile(join(dir, file.enclaves[0]!.key))
    expect(toHex(genesis.enclaves![0]!.publicKey)).toBe(toHex(enclave.publicKey))
    expect(GenesisSchema.safeParse(genesis).success).toBe(true)
  })

  it('adds load senders for benchmarks: governors that each alone re-affirm a budget with one signature', async () => {
    const dir = await sandbox.dir()
    const file = await generateTestnet({ dir, validators: 1, loadSenders: 3 })
    expect(file.members.filter((m) => m.id.startsWith('load-')).map((m) => [m.id, m.roles])).toEqual([['load-0', ['governor']], ['load-1', ['governor']], ['load-2', ['governor']]])
    const genesis = await readGenesis(dir)
    expect(genesis.governanceThreshold).toBe(1)
    const load = await grantLoad(dir, 0, 'load-2')
    const tx = load.next()
    expect(decodeTx(tx).signed.approvals).toBeUndefined()
    const state = genesisState(genesis)
    const outcome = executeBlock(state, { height: 1, timeSec: 0, txs: [tx, load.next()] }, { attestation: new AttestationVerifierRegistry().register(SIM_FORMAT, new SimAttestationVerifier()) })
    expect(outcome.receipts.map((r) => r.code)).toEqual(['OK', 'OK'])
    // the consortium's own governance, without load senders, still needs both governors
    const plain = await sandbox.dir()
    await generateTestnet({ dir: plain, validators: 1 })
    expect((await readGenesis(plain)).governanceThreshold).toBe(2)
    expect(decodeTx((await grantLoad(plain)).next()).signed.approvals?.map((a) => a.member)).toEqual(['gov-2'])
  })

  it('refuses to overwrite an existing testnet unless forced, and then makes new keys', async () => {
    const dir = await sandbox.dir()
    const first = await generateTestnet({ dir, validators: 2 })
    expect(await codeOf(generateTestnet({ dir, validators: 2 }))).toBe('EXISTS')
    expect(await readTestnetFile(dir)).toEqual(first)
    const second = await generateTestnet({ dir, validators: 3, force: true })
    expect(second.validators).toHaveLength(3)
    expect(second.validators[0]!.publicKey).not.toBe(first.validators[0]!.publicKey)
    expect(toHex((await readKey(join(dir, 'v0'))).publicKey)).toBe(second.validators[0]!.publicKey)
  })

  it('never writes into a non-empty folder that is not a testnet, even with force', async () => {
    const dir = await sandbox.dir()
    await writeFile(join(dir, 'notes.txt'), 'mine')
    expect(await codeOf(generateTestnet({ dir, validators: 1, force: true }))).toBe('NOT_EMPTY')
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine')
    expect(await codeOf(readTestnetFile(dir))).toBe('NOT_FOUND')
  })

  it('uses given ports, and refuses one that is taken', async () => {
    const dir = await sandbox.dir()
    const [base] = await freePorts(1)
    // find a base with 4 free consecutive ports (p2p base, base+1, api base+2, base+3)
    let file
    for (let attempt = 0, b = base!; !file && attempt < 20; attempt++, b += 7) {
      file = await generateTestnet({ dir, validators: 2, basePort: b }).catch((e: unknown) => {
        if (e instanceof TestnetError && e.code === 'PORT_IN_USE') return undefined
        throw e
      })
      if (file) {
        expect(file.validators.map((v) => v.listen)).toEqual([`/ip4/127.0.0.1/tcp/${b}`, `/ip4/127.0.0.1/tcp/${b + 1}`])
        expect(file.validators.map((v) => v.apiPort)).toEqual([b + 2, b + 3])
      }
    }
    expect(file).toBeDefined()
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    try {
      const port = (busy.address() as { port: number }).port
      const other = await sandbox.dir()
      expect(await codeOf(generateTestnet({ dir: other, validators: 1, basePort: port }))).toBe('PORT_IN_USE')
      expect(await codeOf(readTestnetFile(other))).toBe('NOT_FOUND')
    } finally {
      await new Promise((resolve) => busy.close(resolve))
    }
  })

  it('rejects a bad validator count or chain id as INVALID_ARGUMENT', async () => {
    const dir = await sandbox.dir()
    for (const validators of [0, -1, 1.5, 101]) expect(await codeOf(generateTestnet({ dir, validators }))).toBe('INVALID_ARGUMENT')
    expect(await codeOf(generateTestnet({ dir, validators: 1, chainId: 'bad chain' }))).toBe('INVALID_ARGUMENT')
  })
})
