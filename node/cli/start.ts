// `fedledger start`: what `npm start` runs — a local testnet with a live view (testnet/live.ts).
import { resolve } from 'node:path'
import { runLive } from '../../testnet/live.ts'
import { type Command, numberOption, parseOptions } from './io.ts'

export const startCommand: Command = {
  summary: 'bring up a local testnet and watch it commit (what npm start runs)',
  usage: [
    'usage: fedledger start [--validators N] [--dir DIR] [--rate TX_PER_S] [--duration S]',
    '',
    'Generates a fresh testnet in DIR (default testnet-data), starts N validator processes',
    '(default 4) on 127.0.0.1, sends signed governance transactions to them at RATE per',
    'second (default 25), and prints once a second the committed height, the committed',
    'transactions per second, the leader and every validator view. Ctrl-C, or the end of',
    '--duration, stops the load and the validators.',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseOptions(argv, { validators: { type: 'string' }, dir: { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' } }, false)
    const validators = numberOption('validators', values.validators, { min: 1, integer: true }) ?? 4
    const rate = numberOption('rate', values.rate, { min: 1, integer: true }) ?? 25
    const durationS = numberOption('duration', values.duration, { min: 1 })
    const controller = new AbortController()
    const stop = () => controller.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      const r = await runLive({ dir: resolve(io.cwd, values.dir ?? 'testnet-data'), validators, rate, durationS, signal: controller.signal, log: io.out })
      io.out(`done: height ${r.height}, ${r.committedTxs} transactions committed in ${r.seconds.toFixed(0)} s`)
      return 0
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  },
}
