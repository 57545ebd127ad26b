// What every benchmark prints about the machine it ran on, and the median helper.
import { cpus, totalmem } from 'node:os'

export function machine(): string {
  const cpu = cpus()
  return `${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

export function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9
}
