/** The top level of `fedledger`: help, exit codes, and the last-resort error handler. */
import { afterEach, describe, expect, it } from 'vitest'
import { numberOption, UsageError, type CliIo } from '../../cli/io.ts'
import { commands, main } from '../../cli/main.ts'

function fakeIo(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = []
  const errors: string[] = []
  return { lines, errors, cwd: '/tmp', out: (l) => lines.push(l), err: (l) => errors.push(l), write: () => {} }
}

afterEach(() => {
  delete commands.explode
  delete process.env.FEDLEDGER_DEBUG
})

describe('fedledger', () => {
  it('with no arguments prints the help to stderr and exits 2', async () => {
    const io = fakeIo()
    expect(await main([], io)).toBe(2)
    expect(io.lines).toEqual([])
    expect(io.errors.join('\n')).toMatch(/^usage: fedledger <command>/)
  })

  it('prints the help to stdout when asked, exit 0; an unknown command is exit 2', async () => {
    const io = fakeIo()
    expect(await main(['--help'], io)).toBe(0)
    expect(io.lines.join('\n')).toMatch(/^usage: fedledger <command>/)
    const unknown = fakeIo()
    expect(await main(['frobnicate'], unknown)).toBe(2)
    expect(unknown.errors.join('\n')).toMatch(/unknown command 'frobnicate'/)
    for (const inherited of ['toString', 'constructor', '__proto__']) {
      const io2 = fakeIo()
      expect(await main([inherited], io2)).toBe(2)
      expect(io2.errors.join('\n')).toMatch(/unknown command/)
    }
  })

  it('reports an unexpected error in one line, exit 1, the stack only with FEDLEDGER_DEBUG', async () => {
    commands.explode = {
      summary: 'test',
      usage: 'usage: fedledger explode',
      async run() {
        throw new RangeError('Maximum call stack size exceeded')
      },
    }
    const io = fakeIo()
    expect(await main(['explode'], io)).toBe(1)
    expect(io.errors).toEqual(['fedledger explode: internal error: Maximum call stack size exceeded'])

    process.env.FEDLEDGER_DEBUG = '1'
    const debug = fakeIo()
    expect(await main(['explode'], debug)).toBe(1)
    expect(debug.errors[0]).toBe('fedledger explode: internal error: Maximum call stack size exceeded')
    expect(debug.errors[1]).toMatch(/^RangeError: Maximum call stack size exceeded\n\s+at /)
  })

  it('reports a thrown non-Error too', async () => {
    commands.explode = { summary: 'test', usage: '', run: () => Promise.reject('just a string') }
    const io = fakeIo()
    expect(await main(['explode'], io)).toBe(1)
    expect(io.errors).toEqual(['fedledger explode: internal error: just a string'])
    commands.explode = { summary: 'test', usage: '', run: () => Promise.reject(Object.create(null)) }
    const bare = fakeIo()
    expect(await main(['explode'], bare)).toBe(1)
    expect(bare.errors).toEqual(['fedledger explode: internal error: [object Object]'])
  })
})

describe('numberOption', () => {
  it.each(['1', '-2', '+3', '1.5', '.5', '5.', '1e-5', '2E3'])('takes the decimal %s', (raw) => {
    expect(numberOption('n', raw)).toBe(Number(raw))
  })

  it.each(['0x400', '0X10', '0b101', '0o17', '', ' ', ' 5', '5 ', '1_000', 'Infinity', '1e999', 'NaN', '--1', '1e'])('refuses %j', (raw) => {
    expect(() => numberOption('chunk-size', raw)).toThrow(UsageError)
    expect(() => numberOption('chunk-size', raw)).toThrow(/--chunk-size must be a decimal number/)
  })
})
