// `fedledger demo`: the ledger walk-through of node/demo.ts, in one process (no network,
// synthetic updates); `npm start` runs `fedledger start`, the whole federation, instead.
import { runLedgerDemo } from '../node/index.ts'
import { type Command, parseOptions } from './io.ts'

export const demoCommand: Command = {
  summary: 'walk a consortium through a training round on a local ledger',
  usage: [
    'usage: fedledger demo [--dir DIR]',
    '',
    'Runs one process through genesis, a training round (open, attested round key, commits,',
    'result, close), a revocation with re-aggregation, a checkpoint, and refused transactions,',
    'persisting everything in a level store in DIR (default: a new temporary folder).',
  ].join('\n'),
  async run(argv, io) {
    const { values } = parseOptions(argv, { dir: { type: 'string' } }, false)
    await runLedgerDemo({ dir: values.dir, log: io.out })
    return 0
  },
}
