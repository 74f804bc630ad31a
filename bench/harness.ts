/**
 * Shared benchmark machinery: check every contender against the float64 oracle, time the correct ones
 * with benny (medians), print the table and write the JSON file that later runs are compared with.
 *
 * A case is one workload ("neg ×200 on 1,024 elements") measured by several contenders (wgrad, the
 * oracle, TF.js). Each contender runs its workload `units` times per timed iteration (200 dispatches,
 * or K adds before one sync), so readback and sync costs are amortised the same way for everyone.
 */
import { add, cycle, suite } from 'benny';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** benny's per-case options (the `Options` type benny does not export from its entry point). */
export type TimingOptions = NonNullable<Parameters<typeof add>[2]>;
type CaseResult = Parameters<NonNullable<Parameters<typeof cycle>[0]>>[0];

export interface Contender {
  /** Runs the workload once and reads the result back, for the oracle check. Not timed. */
  result(): Promise<ArrayLike<number>>;
  /** One timed iteration: the workload `units` times, including whatever makes it finish (readback or sync). */
  iteration(): Promise<void>;
  units: number;
  /** benny options: keep sample counts small, the machine is shared. */
  timing: TimingOptions;
}

export interface Unit {
  label: string;
  better: 'lower' | 'higher';
  /** The reported figure from seconds per unit of work. */
  fromSeconds(secondsPerUnit: number): number;
  digits: number;
}

export interface BenchCase {
  name: string;
  unit: Unit;
  /** The float64 oracle's answer every contender is checked against. */
  expected: Float64Array;
  /** |got - expected| <= atol + rtol·|expected|, elementwise. */
  tolerance: { rtol: number; atol: number };
  wgrad: Contender;
  /** Contenders by reference name (`oracle`, `tfjs`); a string says why that one is skipped. */
  references: Record<string, Contender | string>;
}

export type Outcome =
  | { status: 'timed'; figure: number; medianSeconds: number; samples: number; rmePercent: number; sampleSeconds: number[] }
  | { status: 'wrong'; reason: string }
  | { status: 'skipped'; reason: string };

export interface Row {
  case: string;
  unit: string;
  better: 'lower' | 'higher';
  /** Decimals the table shows. */
  digits: number;
  wgrad: Outcome;
  references: Record<string, Outcome>;
  /** Per reference: how many times faster wgrad is (> 1: wgrad faster). */
  speedup: Record<string, number | null>;
}

/** A contender object shared by several cases (the oracle's chain, say) is timed once. */
const timedOnce = new WeakMap<Contender, Outcome>();

export async function runCase(c: BenchCase): Promise<Row> {
  const entries: [string, Contender | string][] = [['wgrad', c.wgrad], ...Object.entries(c.references)];
  const outcomes = new Map<string, Outcome>();
  const toTime: [string, Contender][] = [];
  for (const [name, contender] of entries) {
    if (typeof contender === 'string') {
      outcomes.set(name, { status: 'skipped', reason: contender });
      continue;
    }
    const cached = timedOnce.get(contender);
    if (cached) {
      outcomes.set(name, cached);
      continue;
    }
    const wrong = mismatch(await contender.result(), c.expected, c.tolerance);
    if (wrong) {
      console.log(`  ${name}: WRONG, not timed: ${wrong}`);
      outcomes.set(name, { status: 'wrong', reason: wrong });
    } else {
      toTime.push([name, contender]);
    }
  }

  const timings = await timeWithBenny(c.name, toTime);
  for (const [name, contender] of toTime) {
    const r = timings.get(name)!;
    const outcome: Outcome = {
      status: 'timed',
      figure: c.unit.fromSeconds(r.details.median / contender.units),
      medianSeconds: r.details.median,
      samples: r.samples,
      rmePercent: r.margin,
      sampleSeconds: r.details.sampleResults,
    };
    timedOnce.set(contender, outcome);
    outcomes.set(name, outcome);
  }

  const wgrad = outcomes.get('wgrad')!;
  const references: Record<string, Outcome> = {};
  const speedup: Record<string, number | null> = {};
  for (const name of Object.keys(c.references)) {
    const ref = outcomes.get(name)!;
    references[name] = ref;
    speedup[name] = wgrad.status === 'timed' && ref.status === 'timed' ? ratio(wgrad.figure, ref.figure, c.unit.better) : null;
  }
  return { case: c.name, unit: c.unit.label, better: c.unit.better, digits: c.unit.digits, wgrad, references, speedup };
}

function ratio(wgrad: number, reference: number, better: 'lower' | 'higher'): number {
  return better === 'lower' ? reference / wgrad : wgrad / reference;
}

/** The worst element outside tolerance, described, or null when every element is within it. */
export function mismatch(got: ArrayLike<number>, expected: Float64Array, { rtol, atol }: { rtol: number; atol: number }): string | null {
  if (got.length !== expected.length) return `${got.length} values, expected ${expected.length}`;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const g = got[i]!;
    const excess = Number.isNaN(e) ? (Number.isNaN(g) ? 0 : Infinity) : Math.abs(g - e) - (atol + rtol * Math.abs(e));
    if (excess > worstExcess || Number.isNaN(excess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  return worst < 0 ? null : `element ${worst}: got ${got[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`;
}

/**
 * Times the contenders with benny; returns its result per contender (seconds per iteration).
 *
 * benny calls each test once, without awaiting it, while it works out whether the test is async;
 * that stray call would overlap the first samples. It happens synchronously inside suite(), so
 * iterations only do work once suite() has returned.
 */
async function timeWithBenny(name: string, contenders: [string, Contender][]): Promise<Map<string, CaseResult>> {
  const results = new Map<string, CaseResult>();
  if (contenders.length === 0) return results;
  let armed = false;
  const pending = suite(
    name,
    ...contenders.map(([label, c]) => add(label, () => () => (armed ? c.iteration() : Promise.resolve()), c.timing)),
    cycle((r) => {
      results.set(r.name, r);
      console.log(`  ${r.name.padEnd(7)} median ${(r.details.median * 1e3).toFixed(2)} ms per iteration (${r.samples} samples, ±${r.margin}%)`);
    }),
  );
  armed = true;
  await pending;
  return results;
}

/** Prints the table: case, unit, wgrad's median, then each reference's median and speedup. */
export function printTable(title: string, rows: Row[], referenceLabels: Record<string, string>): void {
  const refs = Object.keys(referenceLabels);
  const header = ['case', 'unit', 'wgrad', ...refs.flatMap((r) => [referenceLabels[r]!, `× vs ${referenceLabels[r]!}`])];
  const cell = (o: Outcome, digits: number) => (o.status === 'timed' ? o.figure.toFixed(digits) : o.status === 'wrong' ? 'WRONG' : 'skipped');
  const lines = rows.map((row) => [
    row.case,
    `${row.unit} (${row.better} is better)`,
    cell(row.wgrad, row.digits),
    ...refs.flatMap((r) => [cell(row.references[r]!, row.digits), row.speedup[r] == null ? '–' : `${row.speedup[r]!.toFixed(2)}×`]),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((s, i) => (i < 2 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  console.log('medians; "× vs X" is how many times faster wgrad is than X (> 1: wgrad faster).');
  for (const row of rows) {
    for (const [name, o] of [['wgrad', row.wgrad] as const, ...Object.entries(row.references)]) {
      if (o.status !== 'timed') console.log(`  ${row.case} / ${name}: ${o.status}: ${o.reason}`);
    }
  }
}

export interface ResultsFile {
  suite: string;
  date: string;
  commit: string | null;
  environment: Record<string, unknown>;
  rows: Row[];
}

/** Writes the results as JSON, after printing how wgrad moved since the previous file (if any). */
export function writeResults(path: string, results: ResultsFile): void {
  if (existsSync(path)) {
    try {
      compareWithPrevious(JSON.parse(readFileSync(path, 'utf8')) as ResultsFile, results);
    } catch (err) {
      console.log(`(could not read the previous ${path}: ${(err as Error).message})`);
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results written to ${path}`);
}

function compareWithPrevious(previous: ResultsFile, current: ResultsFile): void {
  const before = new Map(previous.rows.map((r) => [r.case, r]));
  const lines: string[] = [];
  for (const row of current.rows) {
    const old = before.get(row.case)?.wgrad;
    if (row.wgrad.status !== 'timed' || old?.status !== 'timed') continue;
    const change = ratio(row.wgrad.figure, old.figure, row.better);
    lines.push(`  ${row.case}: ${old.figure.toPrecision(4)} → ${row.wgrad.figure.toPrecision(4)} ${row.unit} (${change >= 1 ? 'faster' : 'slower'} ×${(change >= 1 ? change : 1 / change).toFixed(2)})`);
  }
  if (lines.length > 0) console.log(`\nwgrad against the previous run (${previous.date}, commit ${previous.commit ?? 'unknown'}):\n${lines.join('\n')}`);
}

export function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+uncommitted` : head;
  } catch {
    return null;
  }
}

/** Seconds per unit → µs per dispatch. */
export const MICROSECONDS_PER_DISPATCH: Unit = { label: 'µs/dispatch', better: 'lower', fromSeconds: (s) => s * 1e6, digits: 1 };

/** Seconds per op moving `bytes` bytes → GB/s. */
export function gigabytesPerSecond(bytes: number): Unit {
  return { label: 'GB/s', better: 'higher', fromSeconds: (s) => bytes / s / 1e9, digits: 2 };
}
