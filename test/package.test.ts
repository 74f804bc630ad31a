/**
 * The installable package, as a user gets it: `npm pack` (which builds dist/ first), then the tarball
 * installed into a new project in the system's temporary directory — outside this repository, so
 * that nothing of it (its node_modules above all) can be resolved from there. In that project:
 * a plain Node script imports `wgrad`, trains a two-layer MLP and must exit on its own; a TypeScript
 * file is type-checked against the shipped declarations; the `wgrad` command runs from dist/.
 * Dependencies come from npm's cache (--prefer-offline), filled when this repository was installed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const test = suite('package');
const root = join(import.meta.dirname, '..');
const fixtures = join(import.meta.dirname, 'fixtures', 'package-consumer');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

let work = '';
let project = '';
let tarball = '';

function run(command: string, args: string[], cwd: string, timeoutMs: number): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1' } });
  if (result.error) throw result.error;
  return result;
}

function expectSuccess(what: string, result: SpawnSyncReturns<string>): string {
  assert.ok(result.signal === null, `${what} was killed by ${result.signal} (it did not finish in time)\n${result.stderr}`);
  assert.is(result.status, 0, `${what} exited with ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

test.before(() => {
  work = mkdtempSync(join(tmpdir(), 'wgrad-package-'));
  project = join(work, 'consumer');
});

test.after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('npm pack builds a tarball holding only dist/src/, bin/ and the README', () => {
  const out = expectSuccess('npm pack', run(npm, ['pack', '--pack-destination', work, '--json', '--loglevel=error'], root, 120_000));
  // prepack's build output precedes the JSON on stdout.
  const [info] = JSON.parse(out.slice(out.indexOf('[\n'))) as { filename: string; size: number; files: { path: string }[] }[];
  const paths = info!.files.map((f) => f.path);
  const stray = paths.filter((p) => !/^(dist\/src\/|bin\/wgrad\.js$|README\.md$|package\.json$)/.test(p));
  assert.equal(stray, [], 'files outside dist/src/, bin/ and the README');
  for (const entry of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/node.js', 'dist/src/node.d.ts', 'dist/src/cli/main.js']) assert.ok(paths.includes(entry), `${entry} is packed`);
  console.log(`  tarball ${info!.filename}: ${(info!.size / 1024).toFixed(0)} KiB, ${paths.length} files`);
  tarball = join(work, info!.filename);
});

test('the tarball installs into a fresh project, without dev-only packages', () => {
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'wgrad-consumer', private: true, type: 'module' }));
  cpSync(fixtures, project, { recursive: true });
  // The consumer's own compiler, the version this repository uses (so npm's cache has it).
  const tsVersion = (JSON.parse(readFileSync(join(root, 'node_modules', 'typescript', 'package.json'), 'utf8')) as { version: string }).version;
  const flags = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
  const started = performance.now();
  expectSuccess('npm install (wgrad)', run(npm, ['install', tarball, ...flags], project, 120_000));
  console.log(`  wgrad installed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  expectSuccess('npm install (typescript)', run(npm, ['install', '--save-dev', `typescript@${tsVersion}`, ...flags], project, 120_000));
  for (const devOnly of ['tsx', 'uvu', 'benny', '@types/node']) assert.not.ok(existsSync(join(project, 'node_modules', devOnly)), `${devOnly} was installed`);
});

test('a Node script imports wgrad, trains a two-layer MLP, uses two devices, and exits on its own', () => {
  const out = expectSuccess('node train.mjs', run(process.execPath, ['train.mjs'], project, 60_000));
  const report = JSON.parse(out.trim().split('\n').at(-1)!) as { first: number; last: number; mixed: string; otherSum: number; nodeEntry: boolean };
  assert.ok(report.first > 0.5, `the first loss ${report.first} is near ln 2`);
  assert.ok(report.last < report.first / 4, `the loss fell from ${report.first} to ${report.last}`);
  assert.is(report.mixed, 'DeviceError');
  assert.is(report.otherSum, 6);
  assert.ok(report.nodeEntry, "'wgrad/node' re-exports the engine and adds checkpoints");
});

test("the platform-neutral entry reaches no node: module and no devDependency (browser bundles rely on it)", () => {
  const installed = join(project, 'node_modules', 'wgrad');
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const seen = new Set<string>();
  const external = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    // Static imports and re-exports, and dynamic imports of literal specifiers (Dawn's is a variable on purpose).
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) walk(join(dirname(file), spec));
      else external.add(spec);
    }
  };
  walk(join(installed, 'dist', 'src', 'index.js'));
  assert.ok(seen.size > 20, `followed ${seen.size} modules`);
  const packageOf = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');
  const stray = [...external].filter((spec) => spec.startsWith('node:') || !(packageOf(spec) in manifest.dependencies));
  assert.equal(stray, [], 'imports outside the dependencies, or node: modules');
});

test('the wgrad command runs from dist/src/ (no tsx installed)', () => {
  const out = expectSuccess('wgrad --help', run(process.execPath, [join(project, 'node_modules', 'wgrad', 'bin', 'wgrad.js'), '--help'], project, 30_000));
  assert.match(out, /Usage: wgrad/);
  // The benchmarks are not in the package (TF.js and benny stay devDependencies): a clear error, no crash.
  const bench = run(process.execPath, [join(project, 'node_modules', 'wgrad', 'bin', 'wgrad.js'), 'bench', '--suite', 'kernels'], project, 30_000);
  assert.is.not(bench.status, 0);
  assert.match(bench.stderr, /wgrad bench/);
  assert.match(bench.stderr, /from a clone of the repository/);
});

test('a TypeScript file type-checks against the shipped declarations', () => {
  const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
  // check.ts holds @ts-expect-error lines: they fail the check if the declarations were `any`.
  expectSuccess('tsc (a Node project)', run(process.execPath, [tsc, '-p', 'tsconfig.json'], project, 60_000));
  // With library checking on, the only errors allowed are in @webgpu/types, which wants the DOM lib
  // that a Node project does not load; wgrad's own .d.ts files must be clean.
  const strict = run(process.execPath, [tsc, '-p', 'tsconfig.strict.json'], project, 60_000);
  const ours = strict.stdout.split('\n').filter((line) => /error TS/.test(line) && !line.startsWith('node_modules/@webgpu/types/'));
  assert.equal(ours, [], 'errors in the shipped declarations');
});

test('import time of the installed library (median of 5 fresh processes)', () => {
  const script = "const t = performance.now(); await import('wgrad'); console.log(performance.now() - t);";
  const times = Array.from({ length: 5 }, () => Number(expectSuccess('import', run(process.execPath, ['--input-type=module', '-e', script], project, 30_000)).trim()));
  assert.ok(times.every(Number.isFinite), `times ${times}`);
  console.log(`  import('wgrad'): median ${median(times).toFixed(1)} ms over ${times.map((t) => t.toFixed(0)).join(', ')}`);
});

test.run();
