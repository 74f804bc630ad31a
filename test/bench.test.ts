/**
 * The benchmark machinery without timing anything real: the oracle gate (a wrong result is refused
 * before timing), medians and speedups, the results schema, the report writer, the SVG charts and
 * --compare, on synthetic results. No GPU, no benny, no timing assertions.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { printTable, runCase, timedOutcome, type SelfTimedContender, type Unit } from '../bench/harness.js';
import { compareResults, formatComparison } from '../bench/compare.js';
import { reportMarkdown, writeReport } from '../bench/report.js';
import { SCHEMA_ID, schemaProblems, type BenchResults, type Outcome, type Row } from '../bench/schema.js';
import { ratiosChart, scalingChart } from '../bench/svg.js';

const test = suite('bench');

const GFLOPS: Unit = { label: 'GFLOP/s', better: 'higher', fromSeconds: (s) => 2e9 / s / 1e9, digits: 2 };
const MS: Unit = { label: 'ms/call', better: 'lower', fromSeconds: (s) => s * 1e3, digits: 2 };

/** A contender that returns `values` and reports `seconds` as its samples, counting how often it was timed. */
function fake(values: number[], seconds: number[]): SelfTimedContender & { timedCalls: number } {
  const c = {
    timedCalls: 0,
    result: async () => values,
    samples: async () => {
      c.timedCalls++;
      return seconds;
    },
    units: 1,
  };
  return c;
}

test('a contender whose result disagrees with the oracle is reported wrong and never timed', async () => {
  const expected = Float64Array.of(1, 2, 3);
  const wrongKernel = fake([1, 2, 3.5], [0.1]);
  const reference = fake([1, 2, 3 + 1e-9], [0.2, 0.4, 0.3]);
  const row = await runCase({ name: 'tiny', unit: GFLOPS, expected, tolerance: { rtol: 1e-6, atol: 1e-6 }, wgrad: wrongKernel, references: { ref: reference, gone: 'not installed here' } });
  assert.is(wrongKernel.timedCalls, 0, 'the wrong kernel was timed');
  assert.is(row.wgrad.status, 'wrong');
  assert.match((row.wgrad as { reason: string }).reason, /element 2: got 3\.5, expected 3/);
  assert.is(reference.timedCalls, 1);
  assert.is(row.references.ref!.status, 'timed');
  assert.equal(row.references.gone, { status: 'skipped', reason: 'not installed here' });
  assert.is(row.speedup.ref, null, 'no speedup against a wrong wgrad');
});

test('a result of the wrong length or with NaN where a number is expected is refused', async () => {
  const expected = Float64Array.of(1, 2);
  const short = await runCase({ name: 'short', unit: GFLOPS, expected, tolerance: { rtol: 0, atol: 1 }, wgrad: fake([1], [0.1]), references: {} });
  assert.is(short.wgrad.status, 'wrong');
  const nan = await runCase({ name: 'nan', unit: GFLOPS, expected, tolerance: { rtol: 0, atol: 1 }, wgrad: fake([1, NaN], [0.1]), references: {} });
  assert.is(nan.wgrad.status, 'wrong');
});

test('medians, best and worst follow the unit; speedup is wgrad over the reference either way round', async () => {
  const o = timedOutcome([0.4, 0.1, 0.2], 2, MS);
  assert.is(o.medianSeconds, 0.2);
  assert.is(o.figure, 100); // 0.2 s per iteration, 2 units: 100 ms each
  assert.is(o.best, 50);
  assert.is(o.worst, 200);
  const expected = Float64Array.of(5);
  const faster = await runCase({ name: 'ms', unit: MS, expected, tolerance: { rtol: 0, atol: 0 }, wgrad: fake([5], [0.1, 0.1, 0.1]), references: { slow: fake([5], [0.3, 0.3, 0.3]) } });
  assert.ok(Math.abs(faster.speedup.slow! - 3) < 1e-12, `lower-is-better speedup ${faster.speedup.slow}`);
  const rate = await runCase({ name: 'rate', unit: GFLOPS, expected, tolerance: { rtol: 0, atol: 0 }, wgrad: fake([5], [0.5]), references: { quick: fake([5], [0.25]) } });
  assert.ok(Math.abs(rate.speedup.quick! - 0.5) < 1e-12, `higher-is-better speedup ${rate.speedup.quick}`);
});

function timed(figure: number, seconds: number): Outcome {
  return { status: 'timed', figure, best: figure * 1.1, worst: figure * 0.9, medianSeconds: seconds, units: 1, samples: 3, sampleSeconds: [seconds, seconds, seconds] };
}

function row(name: string, wgrad: number, ref: number, scaling?: Row['scaling']): Row {
  const r: Row = {
    case: name, unit: 'GFLOP/s', better: 'higher', digits: 2,
    wgrad: timed(wgrad, 1 / wgrad), references: { tfjs: timed(ref, 1 / ref), torch: { status: 'skipped', reason: 'torch <is> not "importable" & so on' } },
    speedup: { tfjs: wgrad / ref, torch: null },
  };
  if (scaling) r.scaling = scaling;
  return r;
}

function synthetic(scale: number): BenchResults {
  return {
    schema: SCHEMA_ID,
    date: '2026-11-28T10:00:00.000Z',
    commit: 'abc1234',
    quick: true,
    command: 'wgrad bench --quick',
    machine: { cpu: 'Test CPU @ 2.0GHz', cores: 2, memoryGiB: 24, os: 'Debian GNU/Linux 12 (bookworm)', note: 'synthetic', loadAverage: { start: [0.5, 0.4, 0.3], end: [1, 0.5, 0.3] } },
    adapter: { vendor: 'mesa', architecture: 'software', description: 'llvmpipe' },
    versions: { wgrad: '0.1.0', node: 'v20', PyTorch: 'skipped: not installed' },
    suites: [
      {
        name: 'kernels/matmul', title: 'matmul', references: { tfjs: 'TF.js webgpu', torch: 'PyTorch CPU' }, notes: ['a note'],
        rows: [row('1024×1024·1024×1024', 10 * scale, 3), row('M=1 1×1024·1024×1024', 2, 4 / scale)], environment: {}, seconds: 12,
      },
      {
        name: 'kernels/scaling', title: 'scaling', references: { tfjs: 'TF.js webgpu', torch: 'PyTorch CPU' }, notes: [],
        rows: [128, 256, 512].map((n) => row(`matmul N ${n}`, n / 10, n / 40, { series: 'matmul', parameter: 'N', size: n })), environment: {}, seconds: 3,
      },
      { name: 'int4', title: 'int4', references: {}, notes: [], rows: [], environment: {}, seconds: 0, error: 'bench/int4.ts is not there yet' },
    ],
  };
}

/** A small well-formedness check: balanced tags, quoted attributes, only known entities in text. */
function assertWellFormedXml(svg: string, label: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const text = svg.slice(i, lt < 0 ? svg.length : lt);
    assert.not.match(text, /&(?!(amp|lt|gt|quot|apos);)/, `${label}: bare & in text`);
    assert.not.match(text, />/, `${label}: bare > in text`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    assert.ok(m, `${label}: malformed tag at ${lt}: ${svg.slice(lt, lt + 60)}`);
    const [, closing, name, , selfClosing] = m!;
    if (closing) assert.is(stack.pop(), name, `${label}: </${name}> closes the wrong element`);
    else if (!selfClosing) stack.push(name!);
    i = tag.lastIndex;
  }
  assert.equal(stack, [], `${label}: unclosed elements`);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
}

test('synthetic results fit the schema, and broken ones are caught with their path', () => {
  assert.equal(schemaProblems(synthetic(1)), []);
  const broken = JSON.parse(JSON.stringify(synthetic(1))) as Record<string, unknown> & { suites: { rows: Record<string, unknown>[] }[] };
  delete broken.machine;
  broken.suites[0]!.rows[0]!.wgrad = { status: 'timed', figure: 'fast' };
  const problems = schemaProblems(broken);
  assert.ok(problems.some((p) => p.includes('missing "machine"')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('$.suites[0].rows[0].wgrad')), problems.join('\n'));
});

test('the report directory holds results.json, report.md and two well-formed SVG charts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgrad-report-'));
  try {
    const results = synthetic(1);
    const files = writeReport(dir, results);
    assert.equal(files.map((f) => f.slice(dir.length + 1)).sort(), ['ratios.svg', 'report.md', 'results.json', 'scaling.svg']);
    const reread = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults;
    assert.equal(schemaProblems(reread), []);
    assert.equal(reread, results);
    const md = readFileSync(join(dir, 'report.md'), 'utf8');
    assert.match(md, /Test CPU @ 2\.0GHz, 2 cores/);
    assert.match(md, /\| 1024×1024·1024×1024 \| GFLOP\/s \(higher is better\) \| 10\.00/);
    assert.match(md, /matmul 1024³: wgrad 10\.0 GFLOP\/s, TF\.js WebGPU 3\.0 GFLOP\/s: \*\*3\.33×\*\*/);
    assert.match(md, /Not run: bench\/int4\.ts is not there yet/);
    assert.not.match(md, /\| PyTorch CPU \|/, 'a reference skipped everywhere gets no column');
    for (const name of ['ratios.svg', 'scaling.svg']) assertWellFormedXml(readFileSync(join(dir, name), 'utf8'), name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('charts draw one bar per measured speedup and one line per scaling contender', () => {
  const results = synthetic(1);
  const bars = ratiosChart(results);
  assert.is((bars.match(/<rect x="[\d.]+" y="\d+" width="[\d.]+" height="16"/g) ?? []).length, 2, 'one bar per (case, reference) timed outside scaling rows');
  assert.match(bars, /3\.33×/);
  const scaling = scalingChart(results);
  assert.is((scaling.match(/<polyline/g) ?? []).length, 2, 'wgrad and TF.js lines');
  assert.is((scaling.match(/<circle/g) ?? []).length, 6);
  assertWellFormedXml(scalingChart({ ...results, suites: [] }), 'empty scaling chart');
});

test('--compare says what got faster and slower, both directions of "better", noise as same', () => {
  const a = synthetic(1);
  const b = synthetic(2); // wgrad's 1024³ twice as fast; TF.js's M=1 figure halved
  b.suites[1]!.rows[0]!.wgrad = timed(12.8 * 1.01, 1); // within noise of 12.8
  const changes = compareResults(a, b);
  const find = (c: string, who: string) => changes.find((x) => x.case === c && x.contender === who)!;
  assert.is(find('1024×1024·1024×1024', 'wgrad').verdict, 'faster');
  assert.ok(Math.abs(find('1024×1024·1024×1024', 'wgrad').factor - 2) < 1e-12);
  assert.is(find('M=1 1×1024·1024×1024', 'TF.js webgpu').verdict, 'slower');
  assert.is(find('matmul N 128', 'wgrad').verdict, 'same');
  assert.is(changes.filter((c) => c.contender === 'PyTorch CPU').length, 0, 'skipped figures are not compared');
  const text = formatComparison(a, b, changes);
  assert.match(text, /faster in B: 1\n {2}kernels\/matmul \/ 1024×1024·1024×1024 \/ wgrad: 10\.00 → 20\.00 GFLOP\/s \(×2\.00\)/);
  assert.match(text, /slower in B: 1/);
});

test('the console table copes with a row that lacks one of its suite\'s references', () => {
  const rows = synthetic(1).suites[0]!.rows;
  delete (rows[1]!.references as Record<string, Outcome>).tfjs;
  const log = console.log;
  const printed: string[] = [];
  console.log = (...args: unknown[]) => void printed.push(args.join(' '));
  try {
    printTable('t', rows, { tfjs: 'TF.js webgpu', torch: 'PyTorch CPU' });
  } finally {
    console.log = log;
  }
  assert.ok(printed.some((l) => l.startsWith('1024×1024·1024×1024')), printed.join('\n'));
});

test('report.md escapes table cells', () => {
  const results = synthetic(1);
  results.suites[0]!.rows[0]!.case = 'a | b';
  assert.match(reportMarkdown(results), /\| a \\\| b \|/);
});

test.run();
