/**
 * `fedledger enclave`: the aggregation enclave as a process.
 *
 *   serve --testnet DIR --enclave ID [--genesis FILE] [--genesis-hash HEX] [--threads N] [--log-level L]
 *
 * builds the enclave service of testnet DIR's enclave ID (its registered key, a
 * sim-v1 attester; testnet/enclave-identity.ts), pinned to the genesis of the chain
 * it serves (it takes ledger facts only as proofs under roots certified from that
 * genesis), and answers length-prefixed
 * requests on standard input with responses on standard output until stdin
 * closes or SIGTERM/SIGINT arrives. Standard output carries frames only; logs
 * are JSON lines (pino) on standard error.
 */
import { resolve } from 'node:path'
import { pino } from 'pino'
import { DistanceWorkers } from '../enclave/index.ts'
import { EnclaveService } from '../enclave/service/index.ts'
import { serveEnclave } from '../node/enclave/index.ts'
import { fromHex, toHex } from '../primitives/index.ts'
import { loadTestnetEnclave } from '../testnet/index.ts'
import { runEnclaveHost } from './actors.ts'
import { type CliIo, type Command, numberOption, parseOptions, UsageError } from './io.ts'

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

const usage = `usage: fedledger enclave <subcommand> [options]

  serve --testnet DIR --enclave ID   run enclave ID of the testnet in DIR as a service:
                                     4-byte big-endian length-prefixed DAG-CBOR requests
                                     on stdin, responses on stdout, logs on stderr
      --genesis FILE                 the genesis of the chain it serves (default DIR/genesis.json)
      --genesis-hash HEX             the genesis hash to pin, as the consortium published it
                                     (default: the genesis file's own hash, for a local testnet)
      --threads N                    worker threads for Multi-Krum distances (default 0: inline)
      --log-level L                  ${LOG_LEVELS.join('|')} (default info)

  host --testnet DIR                 run the untrusted host of the federation's enclave (federation.json):
                                     starts the enclave service as a child process, follows the ledger,
                                     publishes round keys, takes participants' encrypted updates over
                                     libp2p, submits results and re-aggregations, serves models by CID
      --threads N                    the enclave's worker threads (default 0)
      --home DIR                     the folder a process runner keeps its PID and log in`

export const enclaveCommand: Command = {
  summary: 'run the aggregation enclave (serve: the service on stdio; host: its host on a federation)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv
    switch (sub) {
      case 'serve':
        return serve(rest, io)
      case 'host':
        return host(rest, io)
      case undefined:
        throw new UsageError('missing subcommand')
      default:
        throw new UsageError(`unknown subcommand '${sub}'`)
    }
  },
}

async function host(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(argv, { testnet: { type: 'string' }, threads: { type: 'string' }, home: { type: 'string' } }, false)
  if (values.testnet === undefined) throw new UsageError('--testnet DIR is required')
  const threads = numberOption('threads', values.threads, { integer: true, min: 0 }) ?? 0
  return runEnclaveHost({ testnet: values.testnet, threads }, io)
}

async function serve(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(argv, { testnet: { type: 'string' }, enclave: { type: 'string' }, threads: { type: 'string' }, 'log-level': { type: 'string' }, genesis: { type: 'string' }, 'genesis-hash': { type: 'string' } }, false)
  if (values.testnet === undefined) throw new UsageError('--testnet DIR is required')
  if (values.enclave === undefined) throw new UsageError('--enclave ID is required')
  const threads = numberOption('threads', values.threads, { integer: true, min: 0 }) ?? 0
  const level = values['log-level'] ?? 'info'
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
  const log = pino({ level, base: { enclave: values.enclave } }, pino.destination(2))

  const hash = values['genesis-hash']
  if (hash !== undefined && !/^[0-9a-f]{64}$/i.test(hash)) throw new UsageError('--genesis-hash must be 64 hex digits (the state root at height 0)')
  const loaded = await loadTestnetEnclave({
    dir: resolve(io.cwd, values.testnet),
    enclave: values.enclave,
    now: Math.floor(Date.now() / 1000),
    ...(values.genesis === undefined ? {} : { genesis: resolve(io.cwd, values.genesis) }),
    ...(hash === undefined ? {} : { genesisHash: fromHex(hash) }),
  })
  const pool = threads > 0 ? new DistanceWorkers({ threads }) : undefined
  await pool?.start()
  const service = new EnclaveService({ ...loaded, ...(pool === undefined ? {} : { pool }) })
  const stop = new AbortController()
  const onSignal = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'stopping')
    stop.abort()
  }
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  log.info({ threads, pid: process.pid, chain: loaded.ledger.genesis.chainId, genesis: toHex(loaded.ledger.genesisHash) }, 'enclave serving on stdin/stdout')
  try {
    await serveEnclave({ service, input: process.stdin, output: process.stdout }, { log, signal: stop.signal })
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    await pool?.stop()
  }
  log.info({}, 'stopped')
  return 0
}
