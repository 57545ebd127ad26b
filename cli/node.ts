// `fedledger node start --home DIR`: runs a validator until SIGINT or SIGTERM.
import { resolve } from 'node:path'
import { pino } from 'pino'
import { readGenesis, readKey, readNodeConfig, ValidatorNode } from '../node/index.ts'
import { isCodedError } from '../primitives/index.ts'
import { type Command, parseOptions, UsageError } from './io.ts'

export const nodeCommand: Command = {
  summary: 'run a validator (fedledger node start --home DIR)',
  usage: [
    'usage: fedledger node start --home DIR',
    '',
    'Starts the validator whose home folder is DIR (config.json, genesis.json,',
    'keys/validator.json; see `fedledger init` and `fedledger testnet up`): libp2p,',
    'consensus, the ledger in DIR/db and the HTTP API. Logs are JSON lines (pino) on',
    'standard output. SIGINT or SIGTERM stops it gracefully: the API closes, the input',
    'in hand finishes, the network stops, the store is closed last.',
  ].join('\n'),
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, { home: { type: 'string' } }, true)
    if (positionals[0] !== 'start' || positionals.length !== 1) throw new UsageError("expected 'node start'")
    if (values.home === undefined) throw new UsageError('--home is required')
    const home = resolve(io.cwd, values.home)
    // a missing or invalid file is a ConfigError, which main prints as `error CONFIG: …`
    const [config, genesis, key] = await Promise.all([readNodeConfig(home), readGenesis(home), readKey(home)])
    const logger = pino({ level: config.log.level, base: { node: config.id } })
    let fatal: { error: unknown } | undefined
    let onFatal = (): void => {}
    const node = new ValidatorNode({ home, config, genesis, key, logger, onFatal: (error) => ((fatal = { error }), onFatal()) })
    const stopped = new Promise<void>((done) => {
      let stopping = false
      const stop = (signal: string) => {
        if (stopping) return
        stopping = true
        logger.info({ signal }, 'stopping')
        node.stop().then(done, (e: unknown) => {
          logger.error({ err: String(e) }, 'stop failed')
          done()
        })
      }
      onFatal = () => stop('fatal error')
      process.once('SIGINT', () => stop('SIGINT'))
      process.once('SIGTERM', () => stop('SIGTERM'))
    })
    await node.start()
    await stopped
    logger.info({}, 'stopped')
    // a typed fatal error (e.g. STATE_DIVERGED) is printed as one line, `fedledger node: error CODE: message`
    if (fatal !== undefined && isCodedError(fatal.error)) throw fatal.error
    return fatal === undefined ? 0 : 1
  },
}
