/**
 * The `fedledger` command line: a table of subcommands, each in its own file.
 * Exit codes: 0 success; 1 a typed error, printed as one line `error CODE: message`
 * (any CodedError, whichever folder threw it, or a system error on a path the user
 * named, such as ENOENT, with a hint), or an unexpected one (`internal error: …`,
 * with the stack trace only when FEDLEDGER_DEBUG is set); 2 a usage error (no
 * command at all included).
 */
import { isCodedError } from '../../primitives/index.ts'
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
    // any typed error, whichever folder threw it
    if (isCodedError(e)) {
      io.err(`fedledger ${name}: error ${e.code}: ${e.message}`)
      return 1
    }
    // a file or folder the user named that the system refused (ENOENT, EACCES, …)
    const system = systemError(e)
    if (system !== undefined) {
      io.err(`fedledger ${name}: error ${system.code}: ${system.message}${SYSTEM_HINTS[system.code] ?? ''}`)
      return 1
    }
    // last resort: a bug, or a failure nobody typed; one line, the stack only on request
    io.err(`fedledger ${name}: internal error: ${describe(e)}`)
    const debug = process.env.FEDLEDGER_DEBUG
    if (debug !== undefined && debug !== '' && e instanceof Error && e.stack !== undefined) io.err(e.stack)
    return 1
  }
}

const SYSTEM_HINTS: Record<string, string> = {
  ENOENT: '; check the path',
  EACCES: '; check its permissions, or pass a path you may use',
  EPERM: '; check its permissions, or pass a path you may use',
  ENOTDIR: '; a part of the path is a file, not a folder',
  EISDIR: '; pass a file, not a folder',
  EEXIST: '; pass another path, or remove it first',
  ENOSPC: '; free some disk space',
}

/** Node's errors from the file system and other system calls carry `code` (ENOENT…) and `syscall`. */
function systemError(e: unknown): { code: string; message: string } | undefined {
  if (!(e instanceof Error)) return undefined
  const { code, syscall } = e as NodeJS.ErrnoException
  return typeof code === 'string' && typeof syscall === 'string' ? { code, message: e.message } : undefined
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message
  try {
    return String(e)
  } catch {
    return Object.prototype.toString.call(e)
  }
}
