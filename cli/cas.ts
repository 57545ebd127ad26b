/**
 * `fedledger cas`: the content-addressed store from the command line, with the
 * CIDs of Kubo's `ipfs add` (see ledger/cas). Subcommands:
 *
 *   add PATH      import a file, a symbolic link or (recursively) a directory; prints the root CID (`ipfs add -Q`)
 *   cat CID       a file's bytes to standard output (`ipfs cat`; CID/path/in/dir too)
 *   export CID    the DAG under CID as a CAR v1 file (`ipfs dag export`)
 *   import FILE   a CAR file, every block verified, every root present afterwards; prints its roots (`ipfs dag import`)
 *
 * Blocks live in a level store under the repo directory (`--repo`, default
 * $FEDLEDGER_HOME, else ./.fedledger), opened and closed by each command.
 * This file is the I/O edge: it walks directories and reads and writes files;
 * ledger/cas only ever sees bytes.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { lstat, mkdir, readdir, readlink, rename, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  addDirectory,
  addFile,
  addSymlink,
  CasBlockstore,
  catFile,
  exportCar,
  importCar,
  isCidProfileName,
  LedgerError,
  LevelKeyValueStore,
  resolveUnixFsParams,
  type DirectoryEntry,
  type UnixFsOptions,
  type UnixFsParams,
} from '../ledger/index.ts'
import { parseCid } from '../primitives/index.ts'
import { type CliIo, type Command, numberOption, parseOptions, UsageError } from './io.ts'
import { REPO_DB_DIR } from '../node/index.ts'

export { REPO_DB_DIR }
const READ_CHUNK = 1024 * 1024

const usage = `usage: fedledger cas <subcommand> [options]

  add PATH        import a file, a symbolic link, or a directory recursively;
                  prints the root CID (like 'ipfs add -Q')
      --profile unixfs-v1-2025|unixfs-v0-2015   CID profile (default unixfs-v1-2025)
      --cid-version 0|1    --raw-leaves | --no-raw-leaves
      --chunk-size N       bytes per leaf (1..1048576)
      --max-links N        links per file node
      --layout balanced|trickle
      --hidden             include files and directories whose name starts with '.'
  cat CID[/PATH]   write a file's bytes to standard output
  export CID --car OUT.car   write the DAG under CID to a CAR v1 file
  import FILE.car  verify and store every block of a CAR file; prints its roots
      --allow-partial      accept a CAR whose roots are not all present afterwards

  --repo DIR      repository (default $FEDLEDGER_HOME, else ./.fedledger)`

const repoOption = { repo: { type: 'string' } } as const

export const casCommand: Command = {
  summary: 'content-addressed store: add, cat, export and import (Kubo-compatible CIDs)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv
    switch (sub) {
      case 'add':
        return add(rest, io)
      case 'cat':
        return cat(rest, io)
      case 'export':
        return exportCommand(rest, io)
      case 'import':
        return importCommand(rest, io)
      case undefined:
        throw new UsageError('missing subcommand')
      default:
        throw new UsageError(`unknown subcommand '${sub}'`)
    }
  },
}

async function add(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(argv, {
    ...repoOption,
    profile: { type: 'string' },
    'cid-version': { type: 'string' },
    'raw-leaves': { type: 'boolean' },
    'no-raw-leaves': { type: 'boolean' },
    'chunk-size': { type: 'string' },
    'max-links': { type: 'string' },
    layout: { type: 'string' },
    hidden: { type: 'boolean' },
  })
  const path = onePositional(positionals, 'PATH')
  const options: UnixFsOptions = {}
  if (values.profile !== undefined) {
    if (!isCidProfileName(values.profile)) throw new UsageError(`--profile must be unixfs-v1-2025 or unixfs-v0-2015, got '${values.profile}'`)
    options.profile = values.profile
  }
  const cidVersion = values['cid-version']
  if (cidVersion !== undefined) {
    if (cidVersion !== '0' && cidVersion !== '1') throw new UsageError(`--cid-version must be 0 or 1, got '${cidVersion}'`)
    options.cidVersion = cidVersion === '0' ? 0 : 1
  }
  if (values['raw-leaves'] && values['no-raw-leaves']) throw new UsageError('--raw-leaves and --no-raw-leaves contradict each other')
  if (values['raw-leaves']) options.rawLeaves = true
  if (values['no-raw-leaves']) options.rawLeaves = false
  const chunkSize = numberOption('chunk-size', values['chunk-size'], { integer: true, min: 1 })
  if (chunkSize !== undefined) options.chunkSize = chunkSize
  const maxLinks = numberOption('max-links', values['max-links'], { integer: true, min: 2 })
  if (maxLinks !== undefined) options.maxLinksPerNode = maxLinks
  if (values.layout !== undefined) {
    if (values.layout !== 'balanced' && values.layout !== 'trickle') throw new UsageError(`--layout must be balanced or trickle, got '${values.layout}'`)
    options.layout = values.layout
  }
  let params: UnixFsParams
  try {
    params = resolveUnixFsParams(options) // bad values fail before the repo is touched
  } catch (e) {
    throw new UsageError((e as Error).message)
  }

  const abs = resolve(io.cwd, path)
  const info = await fsCall(path, () => lstat(abs))
  const cid = await withStore(repoDir(values.repo, io), async (store) => {
    if (info.isDirectory()) return addDirectory(store, walkDirectory(abs, values.hidden === true), { params })
    if (info.isFile()) return addFile(store, readFileStream(path, abs), { params })
    // like `ipfs add LINK`: the link itself, not its target
    if (info.isSymbolicLink()) return addSymlink(store, await fsCall(path, () => readlink(abs)), { params })
    throw new LedgerError('BAD_ARGUMENT', `${path}: not a regular file, directory or symbolic link`)
  }, 'write')
  io.out(cid.toString())
  return 0
}

async function cat(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(argv, { ...repoOption })
  const target = contentPath(onePositional(positionals, 'CID'))
  // catFile streams block by block: memory stays bounded whatever the file size
  await withStore(repoDir(values.repo, io), async (store) => {
    for await (const chunk of catFile(store, target)) await io.write(chunk)
  })
  return 0
}

async function exportCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(argv, { ...repoOption, car: { type: 'string' } })
  const root = parseCid(onePositional(positionals, 'CID'))
  if (values.car === undefined || values.car === '') throw new UsageError('--car OUT.car is required')
  const out = resolve(io.cwd, values.car)
  const partial = `${out}.partial-${process.pid}`
  let bytes = 0
  await withStore(repoDir(values.repo, io), async (store) => {
    const counted = async function* () {
      for await (const chunk of exportCar(store, root)) {
        bytes += chunk.length
        yield chunk
      }
    }
    try {
      await fsCall(values.car!, () => pipeline(Readable.from(counted()), createWriteStream(partial, { flags: 'wx' })))
      await fsCall(values.car!, () => rename(partial, out))
    } finally {
      await rm(partial, { force: true })
    }
  })
  io.out(`exported ${root.toString()} to ${values.car} (${bytes} bytes)`)
  return 0
}

async function importCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(argv, { ...repoOption, 'allow-partial': { type: 'boolean' } })
  const file = onePositional(positionals, 'FILE.car')
  const abs = resolve(io.cwd, file)
  const info = await fsCall(file, () => stat(abs))
  if (!info.isFile()) throw new LedgerError('BAD_ARGUMENT', `${file}: not a regular file`)
  const allowPartial = values['allow-partial'] === true
  const result = await withStore(repoDir(values.repo, io), (store) => importCar(store, readFileStream(file, abs), { allowPartial }), 'write')
  for (const root of result.roots) io.out(root.toString())
  for (const root of result.missingRoots) io.err(`fedledger cas: warning: root ${root.toString()} is not in the store (partial import)`)
  return 0
}

function onePositional(positionals: string[], name: string): string {
  if (positionals.length === 0) throw new UsageError(`missing ${name}`)
  if (positionals.length > 1) throw new UsageError(`expected one ${name}, got ${positionals.length} arguments`)
  return positionals[0]!
}

/** `CID`, `CID/path` or `/ipfs/CID/path`, with the CID checked. */
function contentPath(text: string): string {
  const stripped = text.startsWith('/ipfs/') ? text.slice('/ipfs/'.length) : text
  const [first = '', ...rest] = stripped.split('/')
  const cid = parseCid(first)
  return [cid.toString(), ...rest.filter((s) => s !== '')].join('/')
}

function repoDir(flag: string | undefined, io: CliIo): string {
  const env = process.env.FEDLEDGER_HOME
  return resolve(io.cwd, flag ?? (env !== undefined && env !== '' ? env : '.fedledger'))
}

/** Opens the repo's level store (creating it only for writes), runs `fn`, always closes it. */
async function withStore<T>(repo: string, fn: (store: CasBlockstore) => Promise<T>, mode: 'read' | 'write' = 'read'): Promise<T> {
  const db = join(repo, REPO_DB_DIR)
  if (mode === 'write') await fsCall(repo, () => mkdir(repo, { recursive: true }))
  else if (!(await exists(db))) throw new LedgerError('NOT_FOUND', `no store in ${repo} (nothing was added or imported there)`)
  const kv = new LevelKeyValueStore(db)
  await kv.open() // STORE_UNAVAILABLE, saying why, when it cannot be opened (locked by another process, …)
  try {
    return await fn(new CasBlockstore({ kv }))
  } finally {
    await kv.close()
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

/**
 * Node file-system errors (any errno: ENOENT, EACCES, ELOOP, ENAMETOOLONG, EIO, ...)
 * as typed errors naming the user's path; anything else passes through.
 */
async function fsCall<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw fsError(path, e)
  }
}

function fsError(path: string, e: unknown): unknown {
  const { code, syscall, errno } = (e ?? {}) as NodeJS.ErrnoException
  if (!(e instanceof Error) || typeof code !== 'string' || (typeof syscall !== 'string' && typeof errno !== 'number')) return e
  if (code === 'ENOENT') return new LedgerError('NOT_FOUND', `${path}: no such file or directory`, { cause: e })
  if (code === 'EACCES' || code === 'EPERM') return new LedgerError('BAD_ARGUMENT', `${path}: permission denied`, { cause: e })
  if (code === 'EEXIST') return new LedgerError('ALREADY_EXISTS', `${path}: already exists`, { cause: e })
  return new LedgerError('BAD_ARGUMENT', `${path}: ${e.message}`, { cause: e })
}

/** A file's bytes, opened only when first read (a large directory must not hold every file open). */
async function* readFileStream(path: string, abs = path): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(abs, { highWaterMark: READ_CHUNK })
  try {
    for await (const chunk of stream) yield chunk as Buffer
  } catch (e) {
    throw fsError(path, e)
  }
}

/**
 * A directory on disk as import entries, like `ipfs add -r`: subdirectories
 * (empty ones too), files, and symbolic links stored as links (not followed);
 * names starting with '.' are skipped unless `hidden`. Other file types are refused.
 */
export async function* walkDirectory(root: string, hidden: boolean, prefix = ''): AsyncGenerator<DirectoryEntry> {
  const dir = prefix === '' ? root : join(root, prefix)
  const names = (await fsCall(dir, () => readdir(dir))).sort()
  for (const name of names) {
    if (!hidden && name.startsWith('.')) continue
    const rel = prefix === '' ? name : `${prefix}/${name}`
    const abs = join(root, rel)
    const info = await fsCall(abs, () => lstat(abs))
    if (info.isDirectory()) {
      yield { path: rel }
      yield* walkDirectory(root, hidden, rel)
    } else if (info.isFile()) {
      yield { path: rel, content: readFileStream(abs) }
    } else if (info.isSymbolicLink()) {
      yield { path: rel, symlink: await fsCall(abs, () => readlink(abs)) }
    } else {
      throw new LedgerError('BAD_ARGUMENT', `${abs}: unsupported file type (not a file, directory or symbolic link)`)
    }
  }
}
