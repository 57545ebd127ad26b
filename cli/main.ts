/**
 * The `fedledger` command line: a table of subcommands, each in its own file.
 * Exit codes: 0 success; 1 a typed error, printed as one line `error CODE: message`
 * (any CodedError, whichever folder threw it, or a file-system error on a path, such
 * as ENOENT, with a hint), or an unexpected one (`internal error: …`); the stack
 * trace follows either only when FEDLEDGER_DEBUG is set; 2 a usage error (no command
 * at all included).
 */
import { isCodedError } from '../primitives/index.ts'
import { type CliIo, type Command, UsageError } from './io.ts'
import { casCommand } from './cas.ts'
import { demoCommand } from './demo.ts'
import { initCommand } from './init.ts'
import { keysCommand } from './keys.ts'
import { nodeCommand } from './node.ts'
import { startCommand } from './start.ts'
import { privacyCommand } from './privacy.ts'
import { participantCommand } from './participant.ts'
import { enclaveCommand } from './enclave.ts'
import { testnetCommand } from './testnet.ts'

// One line per subcommand; each lives in its own file in this folder.
export const commands: Record<string, Command> = {
  cas: casCommand,
  privacy: privacyCommand,
  demo: demoCommand,
  node: nodeCommand,
  start: startCommand,
  init: initCommand,
  keys: keysCommand,
  testnet: testnetCommand,
  participant: participantCommand,
  enclave: enclaveCommand,
}

function topHelp(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  return ['usage: fedledger <command> [options]', '', 'commands:', ...rows, '', "Run 'fedledger <command> --help' for a command's options."].join('\n')
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.err(topHelp())
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp())
    return 0
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (command === undefined) {
    io.err(`fedledger: unknown command '${name}'\n\n${topHelp()}`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage)
    return 0
  }
  try {
    return await command.run(rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`fedledger ${name}: ${e.message}\n\n${command.usage}`)
      return 2
    }
    io.err(`fedledger ${name}: ${oneLine(e)}`)
    // the stack of any error, typed or not, on request
    const debug = process.env.FEDLEDGER_DEBUG
    if (debug !== undefined && debug !== '' && e instanceof Error && e.stack !== undefined) io.err(e.stack)
    return 1
  }
}

/** What a failed command prints: a typed error's code and message, else `internal error: …` (a bug, or a failure nobody typed). */
function oneLine(e: unknown): string {
  // any typed error, whichever folder threw it
  if (isCodedError(e)) return `error ${e.code}: ${e.message}`
  // a file or folder that the file system refused (ENOENT, EACCES, …)
  const system = fileSystemError(e)
  if (system !== undefined) return `error ${system.code}: ${system.message}${FS_HINTS[system.code] ?? ''}`
  return `internal error: ${describe(e)}`
}

const FS_HINTS: Record<string, string> = {
  ENOENT: '; check the path',
  EACCES: '; check its permissions, or pass a path you may use',
  EPERM: '; check its permissions, or pass a path you may use',
  ENOTDIR: '; a part of the path is a file, not a folder',
  EISDIR: '; pass a file, not a folder',
  EEXIST: '; pass another path, or remove it first',
  ENOSPC: '; free some disk space',
}

/** File-system calls whose errors concern a path (as opposed to, say, spawning a process or a socket). */
const FS_CALLS = new Set(['open', 'mkdir', 'mkdtemp', 'stat', 'lstat', 'scandir', 'opendir', 'readdir', 'rename', 'unlink', 'rmdir', 'rm', 'access', 'readlink', 'copyfile', 'symlink', 'chmod', 'read', 'write'])

/** Node's file-system errors carry `code` (ENOENT…), `syscall` and `path`. */
function fileSystemError(e: unknown): { code: string; message: string } | undefined {
  if (!(e instanceof Error)) return undefined
  const { code, syscall, path } = e as NodeJS.ErrnoException
  return typeof code === 'string' && typeof syscall === 'string' && FS_CALLS.has(syscall) && typeof path === 'string' ? { code, message: e.message } : undefined
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message
  try {
    return String(e)
  } catch {
    return Object.prototype.toString.call(e)
  }
}
