import type { Figure } from './figures';
import { num, range } from './stats';

/** The figures as a Markdown table (pastes into docs/benchmarks.md as is). */
export function printTable(figures: Figure[]): void {
  const rows = figures.map((f) => [
    f.scenario.split('-')[0]!,
    f.name,
    `${range(f.value)} ${f.unit}`,
    f.baseline ? `${num(f.baseline.value.median)} (${f.baseline.name})` : '—',
    f.ratio ? range(f.ratio) : '—',
    f.target ? f.target.text : '—',
    f.target ? (f.target.met ? 'met' : 'NOT met') : '—',
    f.detail ?? '',
  ]);
  const header = ['#', 'figure', 'median (min–max)', 'baseline (median)', 'ratio', 'target', 'status', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}
