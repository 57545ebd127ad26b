/**
 * The main job's live table: a progress line every few seconds while a round
 * runs, one row per finished round (height, commits, Multi-Krum and other
 * exclusions, members left out, test accuracy, checkpoint) followed by every
 * bank's ε spent against its cap, and a closing summary.
 */
import type { RoundDetail } from '../../node/api/index.ts'

export interface RoundRow {
  round: string
  height: number
  committed: number
  eligible: number
  leftOut: Array<{ member: string; reason: string }>
  excluded: Array<{ member: string; reason: string }>
  accuracy: number
  model: string | null
  checkpoint?: string
  note?: string
}

const PROGRESS_EVERY_MS = 3_000
const short = (cid: string): string => `${cid.slice(0, 10)}…${cid.slice(-6)}`

export class RoundTable {
  readonly rows: RoundRow[] = []
  private lastProgress = 0
  private readonly log: (line: string) => void
  private readonly banks: readonly string[]
  private headerShown = false

  constructor(log: (line: string) => void, banks: readonly string[]) {
    this.log = log
    this.banks = banks
  }

  progress(round: string, d: RoundDetail): void {
    const now = Date.now()
    if (now - this.lastProgress < PROGRESS_EVERY_MS) return
    this.lastProgress = now
    const bar = '█'.repeat(d.commits.length) + '·'.repeat(Math.max(0, d.eligible.length - d.commits.length))
    this.log(`  … ${round} ${d.round.status.padEnd(8)} height ${d.height}/${d.round.deadline}  commits ${bar} ${d.commits.length}/${d.eligible.length}`)
  }

  row(r: RoundRow, budgets?: ReadonlyMap<string, { spent: number; cap: number; revoked: boolean }>): void {
    if (!this.headerShown) {
      this.log('round  height  commits  Multi-Krum excluded    other exclusions / left out        accuracy  model / checkpoint')
      this.headerShown = true
    }
    this.rows.push(r)
    const krum = r.excluded.filter((e) => e.reason === 'MULTI_KRUM').map((e) => e.member)
    const other = [...r.excluded.filter((e) => e.reason !== 'MULTI_KRUM').map((e) => `${e.member} ${e.reason}`), ...r.leftOut.map((l) => `${l.member} left out: ${l.reason}`)]
    this.log(
      `${r.round.padEnd(6)} ${String(r.height).padStart(6)}  ${`${r.committed}/${r.eligible}`.padStart(7)}  ${(krum.join(', ') || '–').padEnd(21)} ${(other.join('; ') || '–').padEnd(34)} ${`${(100 * r.accuracy).toFixed(1)} %`.padStart(8)}  ${r.model === null ? '–' : short(r.model)}${r.checkpoint === undefined ? '' : `  checkpoint ${short(r.checkpoint)}`}`,
    )
    if (r.note !== undefined) this.log(`       ${r.note}`)
    if (budgets !== undefined) {
      const cells = this.banks.map((b) => {
        const v = budgets.get(b)
        return v === undefined ? `${b} –` : `${b.replace('bank-', 'b')} ${v.spent.toFixed(2)}/${v.cap}${v.revoked ? ' (revoked)' : ''}`
      })
      this.log(`       ε spent: ${cells.join('  ')}`)
    }
  }

  summary(report: { rounds: RoundRow[]; finalModel: string; accuracy: number; checkpoints: Array<{ seq: number; round: string; root: string }>; revoked: string | null; byzantine: string; lowBudget: string }): void {
    const krumHits = report.rounds.filter((r) => r.excluded.some((e) => e.member === report.byzantine && e.reason === 'MULTI_KRUM')).length
    const committedRounds = report.rounds.filter((r) => r.model !== null).length
    this.log('')
    this.log(`summary: ${report.rounds.length} rounds, ${committedRounds} with a result; final test accuracy ${(100 * report.accuracy).toFixed(1)} %`)
    this.log(`  Byzantine ${report.byzantine}: excluded by Multi-Krum in ${krumHits} of ${report.rounds.filter((r) => r.committed > 0).length} rounds`)
    if (report.revoked !== null) this.log(`  ${report.revoked}: attestation revoked mid-run; refused from later rounds, earlier rounds since the checkpoint re-aggregated without it`)
    const left = report.rounds.filter((r) => r.leftOut.some((l) => l.member === report.lowBudget)).map((r) => r.round)
    this.log(`  ${report.lowBudget}: small ε cap; left out of ${left.length > 0 ? left.join(', ') : 'no round'}`)
    for (const c of report.checkpoints) this.log(`  checkpoint #${c.seq} (round ${c.round}): ${c.root}`)
    this.log(`  final model: ${report.finalModel}`)
  }
}
