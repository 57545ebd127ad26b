#!/usr/bin/env node
// Entry of the enclave process (`node cli/enclave-main.ts serve --testnet DIR --enclave ID`):
// the same command as `fedledger enclave serve`, without the rest of the CLI. Standard
// output is the response channel, so everything human-readable goes to standard error.
import { isCodedError } from '../primitives/index.ts'
import { enclaveCommand } from './enclave.ts'
import { UsageError } from './io.ts'

const toStderr = (line: string) => void process.stderr.write(line + '\n')
try {
  process.exitCode = await enclaveCommand.run(process.argv.slice(2), {
    out: toStderr,
    err: toStderr,
    write: (bytes) => void process.stderr.write(bytes),
    cwd: process.cwd(),
  })
} catch (e) {
  if (e instanceof UsageError) {
    toStderr(`fedledger enclave: ${e.message}\n\n${enclaveCommand.usage}`)
    process.exitCode = 2
  } else {
    toStderr(`fedledger enclave: ${isCodedError(e) ? `error ${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}`)
    process.exitCode = 1
  }
}
