/**
 * `fedledger keys`: a validator's (or any member's) ed25519 key file.
 *
 *   show --home DIR | --file FILE      id, public key (hex) and libp2p peer id
 *   generate --out FILE [--id ID]      a new key file ({id, publicKey, secretKey}, mode 0600)
 *
 * A validator's key is also its libp2p identity, so its peer id follows from it.
 */
import { rm } from 'node:fs/promises'
import { basename, extname, resolve } from 'node:path'
import { generateKeyPair, toHex } from '../primitives/index.ts'
import { ConfigError, HOME_FILES, readKey, readKeyFile, writeKeyFile, type ValidatorKey } from '../node/index.ts'
import { peerIdOf, peerKeyFromSeed } from '../node/p2p/index.ts'
import { type CliIo, type Command, parseOptions, UsageError } from './io.ts'

const usage = `usage: fedledger keys <subcommand> [options]

  show --home DIR       the validator key in DIR/${HOME_FILES.key}: id, public key, peer id
  show --file FILE      the same for any key file
  generate --out FILE   write a new ed25519 key file (mode 0600); prints its public key and peer id
      --id ID           the id stored in the file (default: FILE's name without .json)
      --force           overwrite FILE`

export const keysCommand: Command = {
  summary: 'show or generate ed25519 keys (a validator key is also its libp2p identity)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv
    switch (sub) {
      case 'show':
        return show(rest, io)
      case 'generate':
        return generate(rest, io)
      case undefined:
        throw new UsageError('missing subcommand')
      default:
        throw new UsageError(`unknown subcommand '${sub}'`)
    }
  },
}

async function describeKey(key: ValidatorKey): Promise<string[]> {
  return [`id          ${key.id}`, `public key  ${toHex(key.publicKey)}`, `peer id     ${peerIdOf(await peerKeyFromSeed(key.secretKey))}`]
}

async function show(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(argv, { home: { type: 'string' }, file: { type: 'string' } }, false)
  if ((values.home === undefined) === (values.file === undefined)) throw new UsageError('give exactly one of --home DIR or --file FILE')
  const key = values.home !== undefined ? await readKey(resolve(io.cwd, values.home)) : await readKeyFile(resolve(io.cwd, values.file!))
  for (const line of await describeKey(key)) io.out(line)
  return 0
}

async function generate(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(argv, { out: { type: 'string' }, id: { type: 'string' }, force: { type: 'boolean' } }, false)
  if (values.out === undefined) throw new UsageError('--out FILE is required')
  if (values.id === '') throw new UsageError('--id must not be empty')
  const out = resolve(io.cwd, values.out)
  const id = values.id ?? (basename(out, extname(out)) || 'validator')
  if (values.force) await rm(out, { force: true })
  const pair = generateKeyPair()
  const key = { id, publicKey: pair.publicKey, secretKey: pair.secretKey }
  try {
    await writeKeyFile(out, key)
  } catch (e) {
    const { code, path } = e as NodeJS.ErrnoException
    // EEXIST from the file itself; creating its folder says EEXIST too when a part of the path is a file
    if (code === 'EEXIST' && path === out) throw new ConfigError(`${out} exists; pass --force to overwrite it`, { cause: e })
    throw new ConfigError(`cannot write ${out}: ${(e as Error).message}`, { cause: e })
  }
  io.out(`wrote ${out}`)
  for (const line of await describeKey(key)) io.out(line)
  return 0
}
