/**
 * Shared benchmark machinery: check every contender against the float64 oracle, time the correct ones
 * (with benny, or by their own loop for contenders in another process or whole training steps),
 * reduce samples to medians with best and worst, and print a suite's table.
 *
 * A case is one workload ("neg ×200 on 1,024 elements") measured by several contenders (wgrad, the
 * oracle, TF.js). Each contender runs its workload `units` times per timed iteration (200 dispatches,
 * or K adds before one sync), so readback and sync costs are amortised the same way for everyone.
 */
import { add, cycle, suite } from 'benny';
import { execFileSync } from 'node:child_process';
import type { Better, Outcome, Row } from './schema.js';

/** benny's per-case options (the `Options` type benny does not export from its entry point). */
export type TimingOptions = NonNullable<Parameters<typeof add>[2]>;
type CaseResult = Parameters<NonNullable<Parameters<typeof cycle>[0]>>[0];

/** A contender benny times: wgrad, the oracle, TF.js, all in this process. */
export interface Contender {
  /** Runs the workload once and reads the result back, for the oracle check. Not timed. */
  result(): Promise<ArrayLike<number>>;
  /** One timed iteration: the workload `units` times, including whatever makes it finish (readback or sync). */
  iteration(): Promise<void>;
  units: number;
  /** benny options: keep sample counts small, the machine is shared. */
  timing: TimingOptions;
}

/**
 * A contender that times itself (the PyTorch twin in its own process, a training loop): after its
 * result has passed the oracle check, `samples()` warms up and returns seconds per iteration.
 */
export interface SelfTimedContender {
  result(): Promise<ArrayLike<number>>;
  samples(): Promise<number[]>;
  units: number;
}

export type AnyContender = Contender | SelfTimedContender;

export interface Unit {
  label: string;
  better: Better;
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
  wgrad: AnyContender;
  /** Contenders by reference name (`oracle`, `tfjs`, `torch`); a string says why that one is skipped. */
  references: Record<string, AnyContender | string>;
  scaling?: Row['scaling'];
}

export type { Outcome, Row };

let quickTiming = false;

/** --quick: fewer samples and shorter time budgets for every contender. */
export function setQuickTiming(quick: boolean): void {
  quickTiming = quick;
}

export function isQuick(): boolean {
  return quickTiming;
}

function effectiveTiming(t: TimingOptions): TimingOptions {
  if (!quickTiming) return t;
  return { ...t, minSamples: Math.min(t.minSamples ?? 5, 3), maxTime: Math.min(t.maxTime ?? 1, 0.3) };
}

/** A contender object shared by several cases (the oracle's chain, say) is timed once. */
const timedOnce = new WeakMap<AnyContender, Outcome>();

/**
 * Checks every contender against the oracle, then times the ones that agree: a wrong result is
 * reported as such and never timed. benny's contenders get one warm-up iteration first (pipelines
 * compiled, pools filled); self-timed ones warm up themselves.
 */
export async function runCase(c: BenchCase): Promise<Row> {
  const entries: [string, AnyContender | string][] = [['wgrad', c.wgrad], ...Object.entries(c.references)];
  const outcomes = new Map<string, Outcome>();
  const toTime: [string, Contender][] = [];
  const selfTimed: [string, SelfTimedContender][] = [];
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
    let wrong: string | null;
    try {
      wrong = mismatch(await contender.result(), c.expected, c.tolerance);
    } catch (err) {
      outcomes.set(name, { status: 'skipped', reason: `failed to run: ${(err as Error).message ?? String(err)}` });
      continue;
    }
    if (wrong) {
      console.log(`  ${c.name} / ${name}: WRONG, not timed: ${wrong}`);
      outcomes.set(name, { status: 'wrong', reason: wrong });
    } else if ('samples' in contender) {
      selfTimed.push([name, contender]);
    } else {
      toTime.push([name, contender]);
    }
  }

  for (const [, contender] of toTime) await contender.iteration();
  const timings = await timeWithBenny(c.name, toTime);
  for (const [name, contender] of toTime) {
    const r = timings.get(name)!;
    const outcome = timedOutcome(r.details.sampleResults, contender.units, c.unit);
    timedOnce.set(contender, outcome);
    outcomes.set(name, outcome);
  }
  for (const [name, contender] of selfTimed) {
    try {
      const outcome = timedOutcome(await contender.samples(), contender.units, c.unit);
      console.log(`  ${name.padEnd(7)} median ${(outcome.medianSeconds * 1e3).toFixed(2)} ms per iteration (${outcome.samples} samples, self-timed)`);
      timedOnce.set(contender, outcome);
      outcomes.set(name, outcome);
    } catch (err) {
      outcomes.set(name, { status: 'skipped', reason: `failed while timing: ${(err as Error).message ?? String(err)}` });
    }
  }

  const wgrad = outcomes.get('wgrad')!;
  const references: Record<string, Outcome> = {};
  const speedup: Record<string, number | null> = {};
  for (const name of Object.keys(c.references)) {
    const ref = outcomes.get(name)!;
    references[name] = ref;
    speedup[name] = wgrad.status === 'timed' && ref.status === 'timed' ? ratio(wgrad.figure, ref.figure, c.unit.better) : null;
  }
  const row: Row = { case: c.name, unit: c.unit.label, better: c.unit.better, digits: c.unit.digits, wgrad, references, speedup };
  if (c.scaling) row.scaling = c.scaling;
  return row;
}

/** The median, best and worst of per-iteration seconds, as figures in the case's unit. */
export function timedOutcome(sampleSeconds: number[], units: number, unit: Unit): Extract<Outcome, { status: 'timed' }> {
  if (sampleSeconds.length === 0) throw new Error('no timing samples');
  const sorted = [...sampleSeconds].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const [fast, slow] = [unit.fromSeconds(sorted[0]! / units), unit.fromSeconds(sorted[sorted.length - 1]! / units)];
  return {
    status: 'timed',
    figure: unit.fromSeconds(median / units),
    best: unit.better === 'higher' ? Math.max(fast, slow) : Math.min(fast, slow),
    worst: unit.better === 'higher' ? Math.min(fast, slow) : Math.max(fast, slow),
    medianSeconds: median,
    units,
    samples: sampleSeconds.length,
    sampleSeconds,
  };
}

/** Times `iteration` by hand: `warmup` untimed runs, then `samples` timed ones (seconds each). */
export async function sampleByHand(iteration: () => Promise<void>, warmup: number, samples: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await iteration();
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await iteration();
    out.push((performance.now() - started) / 1e3);
  }
  return out;
}

export function ratio(wgrad: number, reference: number, better: Better): number {
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
    ...contenders.map(([label, c]) => add(label, () => () => (armed ? c.iteration() : Promise.resolve()), effectiveTiming(c.timing))),
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
  // A row may lack a reference its suite has elsewhere (scaling: attention has no TF.js contender).
  const cell = (o: Outcome | undefined, digits: number) => (!o ? '' : o.status === 'timed' ? o.figure.toFixed(digits) : o.status === 'wrong' ? 'WRONG' : 'skipped');
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
