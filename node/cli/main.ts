/**
 * The `fedledger` command line: a table of subcommands, each in its own file.
 * Exit codes: 0 success, 1 a typed error from the system (bad input, unknown
 * CID, ...), 2 a usage error.
 */
import { isLedgerError } from '../../ledger/index.ts'
import { type CliIo, type Command, UsageError } from './io.ts'
import { casCommand } from './cas.ts'
import { demoCommand } from './demo.ts'
import { privacyCommand } from './privacy.ts'

// One line per subcommand; each lives in its own file in this folder.
export const commands: Record<string, Command> = {
  cas: casCommand,
  privacy: privacyCommand,
  demo: demoCommand,
}

function topHelp(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  return ['usage: fedledger <command> [options]', '', 'commands:', ...rows, '', "Run 'fedledger <command> --help' for a command's options."].join('\n')
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp())
    return name === undefined ? 2 : 0
  }
  const command = commands[name]
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
    if (isLedgerError(e)) {
      io.err(`fedledger ${name}: error ${e.code}: ${e.message}`)
      return 1
    }
    throw e
  }
}
