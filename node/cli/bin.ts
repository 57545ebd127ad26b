#!/usr/bin/env node
// Entry point of the `fedledger` CLI (package.json "bin").
import { main } from './main.ts'

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  cwd: process.cwd(),
})
process.exitCode = code
