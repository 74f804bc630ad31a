/**
 * `wgrad bench` (and `npm run bench`): runs the chosen suites on one wgrad device and one TF.js on the
 * same Dawn adapter, with PyTorch through bench/torch_twin.py when python3 imports torch, then prints
 * each suite's table and writes results.json (and, with --report, report.md and the SVG charts).
 *
 * Suites: kernels (matmul, attention, layerNorm + cross-entropy, AdamW, dispatch, scaling), int4
 * (int4 against float32 products), train, generate; `all` runs them in that order.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
// The engine's entry point installs the Tensor methods (loss.backward(), …) the Trainer relies on.
import '../src/index.js';
import { init } from '../src/gpu/acquire.js';
import { adamwSuite } from './adamw.js';
import { attentionSuite } from './attention.js';
import { formatComparison } from './compare.js';
import type { BenchContext, Suite, SuitePart } from './context.js';
import { dispatchSuite } from './dispatch.js';
import { generateSuite } from './generate.js';
import { int4Suite } from './int4.js';
import { gitCommit, printTable, setQuickTiming } from './harness.js';
import { adapterOf, describeMachine, describeVersions, loadAverage } from './machine.js';
import { matmulSuite } from './matmul.js';
import { normSuite } from './norm.js';
import { writeReport } from './report.js';
import { scalingSuite } from './scaling.js';
import { SCHEMA_ID, schemaProblems, type BenchResults, type SuiteResult } from './schema.js';
import { loadTfjs, loadTfjsBackend } from './tfjs.js';
import { findTorch } from './torch.js';
import { trainSuite } from './train.js';
import { benchGPU } from './webgpu.js';

export const SUITE_GROUPS = ['kernels', 'int4', 'train', 'generate'] as const;
export type SuiteGroup = (typeof SUITE_GROUPS)[number];

/** The default results file when neither --json nor --report is given. */
export const LATEST = new URL('./results/latest.json', import.meta.url).pathname;

export interface BenchOptions {
  suite: SuiteGroup | 'all';
  quick: boolean;
  json?: string;
  report?: string;
  command: string;
}

const KERNELS: [string, Suite][] = [
  ['kernels/matmul', matmulSuite],
  ['kernels/attention', attentionSuite],
  ['kernels/norm', normSuite],
  ['kernels/adamw', adamwSuite],
  ['kernels/dispatch', dispatchSuite],
  ['kernels/scaling', scalingSuite],
];

async function suitesFor(group: SuiteGroup | 'all'): Promise<[string, Suite][]> {
  const groups: Record<SuiteGroup, () => Promise<[string, Suite][]>> = {
    kernels: async () => KERNELS,
    int4: async () => [['int4', int4Suite]],
    train: async () => [['train', trainSuite]],
    generate: async () => [['generate', generateSuite]],
  };
  const chosen = group === 'all' ? SUITE_GROUPS : [group];
  return (await Promise.all(chosen.map((g) => groups[g]()))).flat();
}

/** Runs the suites; returns the results and whether every wgrad figure was checked and timed. */
export async function runBench(o: BenchOptions): Promise<{ results: BenchResults; ok: boolean }> {
  setQuickTiming(o.quick);
  const gpu = benchGPU();
  const device = await init({ gpu });
  const tfjs = await loadTfjs();
  const ctx: BenchContext = {
    quick: o.quick,
    gpu,
    device,
    tfjs,
    tfjsWasm: await loadTfjsBackend(tfjs, 'wasm'),
    tfjsCpu: await loadTfjsBackend(tfjs, 'cpu'),
    torch: findTorch(),
  };
  const results: BenchResults = {
    schema: SCHEMA_ID,
    date: new Date().toISOString(),
    commit: gitCommit(),
    quick: o.quick,
    command: o.command,
    machine: describeMachine(),
    adapter: adapterOf(device),
    versions: describeVersions(tfjs, ctx.tfjsWasm, ctx.tfjsCpu, ctx.torch),
    suites: [],
  };
  console.log(`adapter: ${[results.adapter.vendor, results.adapter.architecture, results.adapter.description].filter(Boolean).join(' / ')}`);
  for (const [name, version] of Object.entries(results.versions)) console.log(`${name}: ${version}`);

  let ok = true;
  try {
    for (const [name, suite] of await suitesFor(o.suite)) {
      console.log(`\n== ${name} ==`);
      const started = performance.now();
      let part: SuitePart;
      try {
        part = await suite(ctx);
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        console.error(`suite ${name} did not run: ${message}`);
        ok = false;
        part = { title: name, references: {}, notes: [], rows: [], environment: {}, error: message };
      }
      if (typeof ctx.torch !== 'string') part.notes.push(...ctx.torch.takeNotes().filter((n) => !part.notes.includes(n)));
      const result: SuiteResult = { name, ...part, seconds: (performance.now() - started) / 1e3 };
      results.suites.push(result);
      if (!result.error) printTable(`${name}: ${result.title}`, result.rows, result.references);
      ok &&= result.rows.every((r) => r.wgrad.status === 'timed');
    }
  } finally {
    device.destroy();
    if (typeof tfjs !== 'string') tfjs.destroy();
  }
  results.machine.loadAverage.end = loadAverage();
  const problems = schemaProblems(results);
  if (problems.length > 0) throw new Error(`the results do not fit their own schema: ${problems.slice(0, 5).join('; ')}`);
  return { results, ok };
}

/** Writes results.json (after printing how it compares with the file it replaces) and the report. */
export function saveResults(results: BenchResults, o: Pick<BenchOptions, 'json' | 'report'>): string[] {
  const written: string[] = [];
  const jsonPath = o.json ?? (o.report ? undefined : LATEST);
  const previousPath = jsonPath ?? join(o.report!, 'results.json');
  if (existsSync(previousPath)) {
    try {
      const previous = JSON.parse(readFileSync(previousPath, 'utf8')) as BenchResults;
      if (schemaProblems(previous).length === 0) console.log(`\nagainst the previous ${previousPath}:\n${formatComparison(previous, results)}`);
    } catch {
      // An unreadable previous file is simply replaced.
    }
  }
  if (jsonPath) {
    mkdirSync(dirname(jsonPath), { recursive: true });
    writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    written.push(jsonPath);
  }
  if (o.report) written.push(...writeReport(o.report, results));
  return written;
}
