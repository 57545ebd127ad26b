/**
 * `fedledger testnet`: a local validator network on 127.0.0.1 (testnet/).
 *
 *   up        generate DIR if it holds no testnet, start every validator, wait for a committed block
 *   status    one row per validator: process and what its API reports
 *   down      stop every validator; safe to repeat
 *   kill      send a signal to one validator (default SIGKILL)
 *   restart   stop and start one validator
 *   run       execute a scenario manifest (timed kills, restarts, partitions)
 */
import { constants } from 'node:os'
import { resolve } from 'node:path'
import {
  down, formatEndpoints, formatStatusTable, kill, readScenarioManifest, restart, runScenario, status, TestnetError, up, DEFAULT_VALIDATORS, MAX_VALIDATORS,
  type Launcher,
} from '../testnet/index.ts'
import { type Command, numberOption, parseOptions, UsageError } from './io.ts'

export const DEFAULT_TESTNET_DIR = 'testnet-data'

const usage = `usage: fedledger testnet <subcommand> [--dir DIR] [options]

  up                     generate a testnet in DIR unless it holds one, start every
                         validator, wait until each has committed a block
      --validators N     validators to generate (default ${DEFAULT_VALIDATORS}, at most ${MAX_VALIDATORS})
      --app ledger|noop  execute ledger transactions, or order opaque commands only
      --chain-id ID      chain id of a generated testnet (default fedledger-testnet)
      --base-port P      p2p ports P, P+1, ...; API ports P+N, ... (default: free ports)
      --force            replace the testnet in DIR (its validators must be stopped)
      --timeout S        seconds to wait for the first committed block (default 60)
      --no-wait          return once the processes are started
  status                 id, pid, alive, height, view, epoch, leader, peers, mempool
  down                   SIGTERM every validator, SIGKILL after 10 s; safe to repeat
  kill --validator I     send a signal to validator I
      --signal SIG       default SIGKILL (SIGSTOP / SIGCONT freeze and resume it)
  restart --validator I  stop validator I if it runs and start it again
  run MANIFEST           run a scenario manifest (see testnet/README.md)
      --force            replace the testnet in DIR
      --keep-running     leave the validators running afterwards

  --dir DIR              the testnet folder (default ./${DEFAULT_TESTNET_DIR})`

export interface TestnetCommandOptions {
  /** how validators are started (default: `fedledger node start --home <home>`) */
  launcher?: Launcher
}

const dirOption = { dir: { type: 'string' } } as const

export function makeTestnetCommand(options: TestnetCommandOptions = {}): Command {
  const { launcher } = options
  return {
    summary: 'run a local validator network: up, status, down, kill, restart, run',
    usage,
    async run(argv, io) {
      const [sub, ...rest] = argv
      const dirOf = (dir: string | undefined) => resolve(io.cwd, dir ?? DEFAULT_TESTNET_DIR)
      switch (sub) {
        case 'up': {
          const { values } = parseOptions(
            rest,
            {
              ...dirOption, validators: { type: 'string' }, app: { type: 'string' }, 'chain-id': { type: 'string' }, 'base-port': { type: 'string' },
              force: { type: 'boolean' }, timeout: { type: 'string' }, 'no-wait': { type: 'boolean' },
            },
            false,
          )
          const validators = numberOption('validators', values.validators, { integer: true, min: 1 })
          if (validators !== undefined && validators > MAX_VALIDATORS) throw new UsageError(`--validators must be at most ${MAX_VALIDATORS}, got '${validators}'`)
          const app = values.app
          if (app !== undefined && app !== 'ledger' && app !== 'noop') throw new UsageError(`--app must be ledger or noop, got '${app}'`)
          const basePort = numberOption('base-port', values['base-port'], { integer: true, min: 1 })
          const timeout = numberOption('timeout', values.timeout, { min: 0 })
          const dir = dirOf(values.dir)
          io.out(`starting the testnet in ${dir} ...`)
          try {
            const result = await up(dir, { launcher, validators, app, chainId: values['chain-id'], basePort, force: values.force, wait: !values['no-wait'], timeoutMs: timeout === undefined ? undefined : timeout * 1000 })
            io.out(`${result.generated ? 'generated and started' : 'started'} ${result.validators.length} validators of chain ${result.chainId}${values['no-wait'] ? '' : '; each has committed a block'}`)
            for (const line of formatEndpoints(result)) io.out(line)
            io.out(`logs: ${dir}/v<i>/node.log   stop: fedledger testnet down --dir ${dir}`)
            return 0
          } catch (e) {
            if (!(e instanceof TestnetError && e.code === 'NOT_READY')) throw e
            io.err(`fedledger testnet: error ${e.code}: ${e.message}`)
            for (const n of e.notReady) {
              io.err(`--- ${n.id}: ${n.reason}; last lines of its node.log:`)
              io.err(n.logTail === '' ? '(empty)' : n.logTail)
            }
            return 1
          }
        }
        case 'status': {
          const { values } = parseOptions(rest, dirOption, false)
          for (const line of formatStatusTable(await status(dirOf(values.dir)))) io.out(line)
          return 0
        }
        case 'down': {
          const { values } = parseOptions(rest, dirOption, false)
          for (const r of await down(dirOf(values.dir))) {
            io.out(`${r.id.padEnd(14)} ${r.outcome === 'not-running' ? 'not running' : `${r.outcome} (pid ${r.pid})`}`)
          }
          return 0
        }
        case 'kill': {
          const { values } = parseOptions(rest, { ...dirOption, validator: { type: 'string' }, signal: { type: 'string' } }, false)
          const index = numberOption('validator', values.validator, { required: true, integer: true, min: 0 })!
          const sig = (values.signal ?? 'SIGKILL').toUpperCase()
          const name = (sig.startsWith('SIG') ? sig : `SIG${sig}`) as NodeJS.Signals
          if (!Object.hasOwn(constants.signals, name)) throw new UsageError(`--signal: unknown signal '${values.signal}'`)
          const r = await kill(dirOf(values.dir), index, name)
          io.out(`${r.id} (pid ${r.pid}): sent ${name}${r.exited ? '; it exited' : ''}`)
          return 0
        }
        case 'restart': {
          const { values } = parseOptions(rest, { ...dirOption, validator: { type: 'string' } }, false)
          const index = numberOption('validator', values.validator, { required: true, integer: true, min: 0 })!
          const r = await restart(dirOf(values.dir), index, { launcher })
          io.out(`${r.id} restarted (pid ${r.pid}; before: ${r.stopped}); api ${r.api}`)
          return 0
        }
        case 'run': {
          const { values, positionals } = parseOptions(rest, { ...dirOption, force: { type: 'boolean' }, 'keep-running': { type: 'boolean' } })
          if (positionals.length !== 1) throw new UsageError('run takes exactly one MANIFEST file')
          const manifest = await readScenarioManifest(resolve(io.cwd, positionals[0]!))
          const report = await runScenario(manifest, { dir: dirOf(values.dir), force: values.force, keepRunning: values['keep-running'], launcher, log: io.out })
          io.out(`${report.name}: ${report.steps.length} steps done; final state:`)
          for (const line of formatStatusTable(report.final)) io.out(line)
          return 0
        }
        case undefined:
          throw new UsageError('missing subcommand')
        default:
          throw new UsageError(`unknown subcommand '${sub}'`)
      }
    },
  }
}

export const testnetCommand: Command = makeTestnetCommand()
