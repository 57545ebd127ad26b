// Text renderings of runner results for the CLI: the endpoint list after `up`, the `status` table.
import type { StatusRow, UpResult } from './runner.ts'

/** Left-aligned columns, two spaces apart. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')
  return [line(header), ...rows.map(line)]
}

export function formatEndpoints(result: UpResult): string[] {
  return table(
    ['ID', 'PID', 'API', 'P2P'],
    result.validators.map((v) => [v.id, String(v.pid), v.api, v.p2p]),
  )
}

export function formatStatusTable(rows: StatusRow[]): string[] {
  const dash = '-'
  return table(
    ['ID', 'PID', 'ALIVE', 'HEIGHT', 'VIEW', 'EPOCH', 'LEADER', 'PEERS', 'MEMPOOL', 'API'],
    rows.map((r) => {
      const s = r.status
      return [
        r.id,
        r.pid === null ? dash : String(r.pid),
        r.alive ? 'yes' : 'no',
        s ? String(s.committed.height) : dash,
        s ? String(s.view) : dash,
        s ? String(s.epoch) : dash,
        s?.leader ? s.leader.id : dash,
        s ? String(s.peers) : dash,
        s ? String(s.mempoolSize) : dash,
        s ? r.api : `${r.api} (${r.alive ? (r.error ?? 'no answer') : 'down'})`,
      ]
    }),
  )
}
