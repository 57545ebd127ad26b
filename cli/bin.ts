#!/usr/bin/env node
// Entry point of the `fedledger` CLI (package.json "bin").
import { main } from './main.ts'

// A reader that stops early (`fedledger cas cat CID | head`) closes the pipe:
// end quietly, as Unix tools do, instead of crashing on EPIPE.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0)
  throw e
})

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  write: (bytes) => (process.stdout.write(bytes) ? undefined : new Promise<void>((resolve) => process.stdout.once('drain', resolve))),
  cwd: process.cwd(),
})
process.exitCode = code
