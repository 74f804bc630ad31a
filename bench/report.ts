/**
 * Writes a run's report directory: results.json (bench/schema.ts), report.md (the machine, the
 * adapter and versions, the headline figures, then one table per suite), ratios.svg and scaling.svg.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchResults, Outcome, Row, SuiteResult } from './schema.js';
import { ratiosChart, scalingChart } from './svg.js';

export function writeReport(dir: string, results: BenchResults): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['results.json', `${JSON.stringify(results, null, 2)}\n`],
    ['report.md', reportMarkdown(results)],
    ['ratios.svg', ratiosChart(results)],
    ['scaling.svg', scalingChart(results)],
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}

function figure(o: Outcome | undefined, digits: number, withRange: boolean): string {
  if (!o) return '';
  if (o.status === 'wrong') return '**WRONG**';
  if (o.status === 'skipped') return 'skipped';
  const range = withRange && o.samples > 1 ? ` <sub>${o.best.toFixed(digits)}–${o.worst.toFixed(digits)}</sub>` : '';
  return `${o.figure.toFixed(digits)}${range}`;
}

function speedup(v: number | null | undefined): string {
  return v == null ? '–' : `${v.toFixed(2)}×`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The references a suite actually timed somewhere: columns that are all "skipped" are left out. */
function usedReferences(suite: SuiteResult): string[] {
  return Object.keys(suite.references).filter((id) => suite.rows.some((r) => r.references[id]?.status !== 'skipped' && r.references[id] !== undefined));
}

function suiteTable(suite: SuiteResult): string[] {
  const refs = usedReferences(suite);
  const header = ['case', 'unit', 'wgrad', ...refs.flatMap((id) => [suite.references[id]!, `wgrad ÷ ${suite.references[id]!}`])];
  const lines = [`| ${header.map(cell).join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const row of suite.rows) {
    const cells = [
      row.case,
      `${row.unit} (${row.better} is better)`,
      figure(row.wgrad, row.digits, true),
      ...refs.flatMap((id) => [figure(row.references[id], row.digits, true), speedup(row.speedup[id])]),
    ];
    lines.push(`| ${cells.map(cell).join(' | ')} |`);
  }
  return lines;
}

/** Why each contender that was not timed was not (skips that apply to a whole column are said once). */
function untimed(suite: SuiteResult): string[] {
  const said = new Set<string>();
  const out: string[] = [];
  for (const row of suite.rows) {
    for (const [id, o] of [['wgrad', row.wgrad] as const, ...Object.entries(row.references)]) {
      if (o.status === 'timed') continue;
      const label = id === 'wgrad' ? 'wgrad' : suite.references[id] ?? id;
      const key = `${label}: ${o.status}: ${o.reason}`;
      if (o.status === 'skipped' && said.has(key)) continue;
      said.add(key);
      out.push(o.status === 'wrong' ? `- **${row.case} / ${label}: wrong result, not timed**: ${o.reason}` : `- ${label} skipped (${row.case}${suite.rows.length > 1 ? ' and others with the same reason' : ''}): ${o.reason}`);
    }
  }
  return out;
}

/** The figures the targets are about, when these results have them. */
export function headlines(results: BenchResults): string[] {
  const find = (suite: string, test: (r: Row) => boolean) => results.suites.find((s) => s.name === suite)?.rows.find(test);
  const out: string[] = [];
  const mm = find('kernels/matmul', (r) => r.case.startsWith('1024×1024·1024×1024'));
  if (mm?.wgrad.status === 'timed') {
    const t = mm.references.tfjs;
    out.push(`matmul 1024³: wgrad ${mm.wgrad.figure.toFixed(1)} GFLOP/s` + (t?.status === 'timed' ? `, TF.js WebGPU ${t.figure.toFixed(1)} GFLOP/s: **${mm.speedup.tfjs!.toFixed(2)}×** (target ≥ 3×)` : `; TF.js WebGPU ${t?.status ?? 'absent'}`));
  }
  for (const suite of ['train', 'generate']) {
    for (const row of results.suites.find((s) => s.name === suite)?.rows ?? []) {
      if (row.wgrad.status !== 'timed') continue;
      const t = row.references.torch;
      const target = row.case === 'train baby' ? ' (target ≥ 1.0×)' : '';
      out.push(`${row.case}: wgrad ${row.wgrad.figure.toFixed(0)} tokens/s` + (t?.status === 'timed' ? `, PyTorch ${t.figure.toFixed(0)} tokens/s: **${row.speedup.torch!.toFixed(2)}×**${target}` : `; PyTorch ${t?.status ?? 'absent'}`));
    }
  }
  return out;
}

/** A shared machine skews every figure; say so when more was running than there are cores. */
function loadWarning(r: BenchResults): string {
  const worst = Math.max(...r.machine.loadAverage.start, ...r.machine.loadAverage.end);
  return worst > r.machine.cores ? ` (**more runnable work than cores: other processes competed with this run, so absolute figures are low and noisy**)` : '';
}

export function reportMarkdown(r: BenchResults): string {
  const lines: string[] = [
    '# wgrad benchmark report',
    '',
    `${r.date} · commit ${r.commit ?? 'unknown'} · \`${r.command}\`${r.quick ? ' · quick run (fewer cases and samples)' : ''}`,
    '',
    '## Machine',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${cell(r.machine.cpu)}, ${r.machine.cores} cores |`,
    `| memory | ${r.machine.memoryGiB.toFixed(1)} GiB |`,
    `| OS | ${cell(r.machine.os)} |`,
    `| load average (1, 5, 15 min) | ${r.machine.loadAverage.start.join(', ')} at the start; ${r.machine.loadAverage.end.join(', ')} at the end${loadWarning(r)} |`,
    `| WebGPU adapter | ${cell([r.adapter.vendor, r.adapter.architecture, r.adapter.description].filter(Boolean).join(' / '))} |`,
    ...(r.machine.note ? [`| note | ${cell(r.machine.note)} |`] : []),
    ...Object.entries(r.versions).map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`),
    '',
  ];
  const heads = headlines(r);
  if (heads.length > 0) lines.push('## Headlines', '', ...heads.map((h) => `- ${h}`), '');
  lines.push(
    '## How to read the tables',
    '',
    'Each figure is the median over timed samples, with the best and worst sample in small print. Every contender\'s result was checked against the float64 oracle (`src/reference/`) before it was timed; a wrong result is marked **WRONG** and never timed. "wgrad ÷ X" is wgrad\'s performance over X\'s, measured in this same run (> 1: wgrad faster). Charts: [ratios.svg](ratios.svg) (every speedup), [scaling.svg](scaling.svg) (time against size). Raw figures and every sample: [results.json](results.json) (schema: bench/README.md).',
    '',
    '![wgrad speedup over each reference](ratios.svg)',
    '',
  );
  for (const suite of r.suites) {
    lines.push(`## ${suite.name}: ${suite.title}`, '');
    if (suite.error) {
      lines.push(`Not run: ${suite.error}`, '');
      continue;
    }
    lines.push(...suiteTable(suite), '');
    if (suite.rows.some((row) => row.scaling)) lines.push('![time against size](scaling.svg)', '');
    lines.push(...suite.notes.map((n) => `- ${n}`), ...untimed(suite), `- ${suite.seconds.toFixed(0)} s for this suite.`, '');
  }
  return `${lines.join('\n')}\n`;
}
