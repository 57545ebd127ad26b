// `fedledger start`: what `npm start` runs — a local consortium training a model (testnet/federation),
// or with --load the validator-only load view (testnet/live.ts).
import { resolve } from 'node:path'
import { runFederation, runLive } from '../testnet/index.ts'
import { type Command, numberOption, parseOptions, UsageError } from './io.ts'

export const startCommand: Command = {
  summary: 'run a local consortium that trains a model on MNIST (what npm start runs)',
  usage: [
    'usage: fedledger start [--dir DIR] [--rounds N] [--banks N] [--model logreg|mlp] [--limit-train N]',
    '                       [--central-noise Z] [--seed S]',
    '       fedledger start --load [--validators N] [--rate TX_PER_S] [--duration S]',
    '',
    'Generates a fresh consortium in DIR (default testnet-data) and runs it on 127.0.0.1: 4',
    'validators, an enclave host with its enclave service process, and N banks (default 10) as',
    'participant peers training on their own non-IID share of MNIST with DP-SGD. One bank is',
    'Byzantine (sign-flipped, scaled updates), one has a small ε cap, and one bank\'s attestation',
    'is revoked after round 3. Prints a row per round (default 10 rounds) and a summary with the',
    'final model\'s CID; everything is on the ledger afterwards. Ctrl-C stops it.',
    '',
    '--load: only validators, under a steady stream of signed governance transactions, with a',
    'status line a second (height, committed tx/s, leader, views).',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      dir: { type: 'string' }, rounds: { type: 'string' }, banks: { type: 'string' }, model: { type: 'string' }, 'limit-train': { type: 'string' }, 'central-noise': { type: 'string' }, seed: { type: 'string' },
      load: { type: 'boolean' }, validators: { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' },
    }, false)
    const dir = resolve(io.cwd, values.dir ?? 'testnet-data')
    const controller = new AbortController()
    const stop = () => controller.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    try {
      if (values.load === true) {
        const validators = numberOption('validators', values.validators, { min: 1, integer: true }) ?? 4
        const rate = numberOption('rate', values.rate, { min: 1, integer: true }) ?? 25
        const durationS = numberOption('duration', values.duration, { min: 1 })
        const r = await runLive({ dir, validators, rate, durationS, signal: controller.signal, log: io.out })
        io.out(`done: height ${r.height}, ${r.committedTxs} transactions committed in ${r.seconds.toFixed(0)} s`)
        return 0
      }
      const kind = values.model ?? 'logreg'
      if (kind !== 'logreg' && kind !== 'mlp') throw new UsageError(`--model must be logreg or mlp, got '${kind}'`)
      const banks = numberOption('banks', values.banks, { min: 5, integer: true })
      const limitTrain = numberOption('limit-train', values['limit-train'], { min: 1000, integer: true })
      const central = numberOption('central-noise', values['central-noise'], { min: 0 })
      const seed = numberOption('seed', values.seed, { min: 0, integer: true })
      const report = await runFederation({
        dir,
        rounds: numberOption('rounds', values.rounds, { min: 1, integer: true }) ?? 10,
        model: { kind, hidden: 32, learningRate: kind === 'logreg' ? 1 : 0.5 },
        ...(banks === undefined ? {} : { banks }),
        ...(limitTrain === undefined ? {} : { limitTrain }),
        ...(central === undefined ? {} : { centralNoiseMultiplier: central }),
        ...(seed === undefined ? {} : { seed }),
        signal: controller.signal,
        log: io.out,
      })
      io.out(`done: final model ${report.finalModel}, test accuracy ${(100 * report.accuracy).toFixed(1)} %`)
      return 0
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  },
}
