/**
 * The `fedledger` command line: a table of subcommands, each in its own file.
 * Exit codes: 0 success, 1 a typed error from the system (bad input, unknown
 * CID, ...) or an unexpected one (`internal error: …`, with the stack trace only
 * when FEDLEDGER_DEBUG is set), 2 a usage error (no command at all included).
 */
import { isLedgerError } from '../../ledger/index.ts'
import { isTestnetError } from '../../testnet/index.ts'
import { ConfigError } from '../config.ts'
import { isFederationError } from '../federation/index.ts'
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
    if (isLedgerError(e) || isTestnetError(e) || isFederationError(e) || e instanceof ConfigError) {
      io.err(`fedledger ${name}: error ${e.code}: ${e.message}`)
      return 1
    }
    // last resort: a bug, or a failure nobody typed; one line, the stack only on request
    io.err(`fedledger ${name}: internal error: ${describe(e)}`)
    const debug = process.env.FEDLEDGER_DEBUG
    if (debug !== undefined && debug !== '' && e instanceof Error && e.stack !== undefined) io.err(e.stack)
    return 1
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message
  try {
    return String(e)
  } catch {
    return Object.prototype.toString.call(e)
  }
}
