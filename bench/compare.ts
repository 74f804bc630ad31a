/**
 * `wgrad bench --compare A.json B.json`: what got faster or slower from run A to run B, case by case
 * and contender by contender, for every figure timed in both. Changes within ±NOISE are "same": on a
 * shared 2-core machine medians move by a few percent from run to run.
 */
import type { BenchResults, Outcome } from './schema.js';

export const NOISE = 0.05;

export interface Change {
  suite: string;
  case: string;
  contender: string;
  unit: string;
  before: number;
  after: number;
  /** > 1: B is better than A by this factor (whichever direction the unit counts as better). */
  factor: number;
  verdict: 'faster' | 'slower' | 'same';
}

export function compareResults(a: BenchResults, b: BenchResults): Change[] {
  const changes: Change[] = [];
  for (const suite of b.suites) {
    const old = a.suites.find((s) => s.name === suite.name);
    if (!old) continue;
    for (const row of suite.rows) {
      const oldRow = old.rows.find((r) => r.case === row.case && r.unit === row.unit);
      if (!oldRow) continue;
      const pairs: [string, Outcome | undefined, Outcome | undefined][] = [
        ['wgrad', oldRow.wgrad, row.wgrad],
        ...Object.keys(row.references).map((id): [string, Outcome | undefined, Outcome | undefined] => [suite.references[id] ?? id, oldRow.references[id], row.references[id]]),
      ];
      for (const [contender, before, after] of pairs) {
        if (before?.status !== 'timed' || after?.status !== 'timed') continue;
        const factor = row.better === 'higher' ? after.figure / before.figure : before.figure / after.figure;
        const verdict = factor > 1 + NOISE ? 'faster' : factor < 1 / (1 + NOISE) ? 'slower' : 'same';
        changes.push({ suite: suite.name, case: row.case, contender, unit: row.unit, before: before.figure, after: after.figure, factor, verdict });
      }
    }
  }
  return changes;
}

/** The comparison as text: a header naming both runs, then faster, slower and unchanged figures. */
export function formatComparison(a: BenchResults, b: BenchResults, changes = compareResults(a, b)): string {
  const describe = (r: BenchResults) => `${r.date} (commit ${r.commit ?? 'unknown'}${r.quick ? ', quick' : ''}, ${r.machine.cpu}, ${r.adapter.description})`;
  const lines = [`A: ${describe(a)}`, `B: ${describe(b)}`];
  const line = (c: Change) => `  ${c.suite} / ${c.case} / ${c.contender}: ${c.before.toPrecision(4)} → ${c.after.toPrecision(4)} ${c.unit} (${c.factor >= 1 ? '×' : '÷'}${(c.factor >= 1 ? c.factor : 1 / c.factor).toFixed(2)})`;
  for (const verdict of ['faster', 'slower', 'same'] as const) {
    const group = changes.filter((c) => c.verdict === verdict).sort((x, y) => (verdict === 'slower' ? x.factor - y.factor : y.factor - x.factor));
    const title = verdict === 'same' ? `within ±${NOISE * 100}% (noise)` : `${verdict} in B`;
    lines.push(`\n${title}: ${group.length}`);
    lines.push(...group.map(line));
  }
  if (changes.length === 0) lines.push('\nno figure was timed in both runs');
  return lines.join('\n');
}
