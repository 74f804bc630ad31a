/**
 * The engine in a real browser: Debian's Chromium (headless, WebGPU on SwiftShader) driven by
 * playwright-core. Builds web/dist/ (scripts/build-web.mjs), serves it on 127.0.0.1, then
 *  - runs the shared op and gradient test files (test/browser/shared-tests.mjs) inside a page, one
 *    test here per file, with the same cases and tolerances as in Node;
 *  - drives the demo page: trains a few steps (the loss must fall), generates text, runs the
 *    micro-benchmark, and keeps a screenshot in test/artifacts/demo.png;
 *  - loads a checkpoint written by `wgrad train` in Node and checks that the page's validation loss
 *    equals `wgrad eval`'s on the same split within 1e-4;
 *  - checks the page's messages for a model too large for the device, missing WebGPU and a failed
 *    adapter request.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { buildWeb } from '../../scripts/build-web.mjs';
import { serveWeb } from '../../scripts/serve-web.mjs';
import { SHARED_TEST_FILES } from './shared-tests.mjs';
import { launchChromium } from './chromium.js';
import type { SharedTestResult } from './page-runner.js';
import { splitTokens } from '../../src/data/batches.js';
import { tokenizerFromJSON } from '../../src/data/tokenizer.js';

const ROOT = join(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test/artifacts');
const run = promisify(execFile);
const test = suite('browser');

interface DemoState {
  busy: boolean;
  lastValLoss: number | null;
  generated: string;
  chart: { points: { train: number[]; val: [number, number][] } };
}
type DemoWindow = Window & { wgradDemo: DemoState };

/** Built once, on first use, so that a missing Chromium fails each test with the hint instead of stopping the whole run. */
let env: Promise<{ browser: Browser; url: string; close(): Promise<void> }> | null = null;
function browserEnv() {
  env ??= (async () => {
    await buildWeb();
    const server = await serveWeb(0);
    const browser = await launchChromium().catch(async (err) => {
      await server.close();
      throw err;
    });
    return { browser, url: server.url, close: async () => void (await Promise.all([browser.close(), server.close()])) };
  })();
  return env;
}

test.after(async () => {
  if (env) await (await env.catch(() => null))?.close();
});

/** A fresh page; the script `before` runs in the page before any of its own (to break WebGPU on purpose). */
async function openPage(path: string, before?: string): Promise<{ page: Page; errors: string[] }> {
  const { browser, url } = await browserEnv();
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  if (before) await page.addInitScript({ content: before });
  await page.goto(url + path);
  return { page, errors };
}

let shared: Promise<SharedTestResult> | null = null;
function sharedResults(): Promise<SharedTestResult> {
  shared ??= (async () => {
    const { page, errors } = await openPage('tests.html');
    try {
      await page.waitForFunction(() => window.sharedTestResult, null, { timeout: 15 * 60_000, polling: 500 });
      const result = await page.evaluate(() => window.sharedTestResult!);
      if (errors.length) result.crash = [result.crash, ...errors].filter(Boolean).join('\n');
      return result;
    } finally {
      await page.close();
    }
  })();
  return shared;
}

test('the library bundle is platform-neutral and embeds the WGSL kernels', async () => {
  await browserEnv(); // builds web/dist/, failing on any Node-only import
  const bundle = await readFile(join(ROOT, 'web/dist/wgrad.js'), 'utf8');
  assert.ok(bundle.includes('@compute @workgroup_size'), 'the kernels are embedded');
  assert.not.match(bundle, /from\s*["'](node:|webgpu["'])/, 'no static import of Node modules or of Dawn');
  assert.match(bundle, /export\s*\{[^}]*\binit\b/, 'the bundle exports init');
});

for (const file of SHARED_TEST_FILES) {
  test(`${file}: the same cases pass in Chromium`, async () => {
    const result = await sharedResults();
    assert.is(result.crash, null, `the page's test run crashed: ${result.crash}`);
    const r = result.files.find((f) => f.file === file);
    assert.ok(r, `${file} did not report`);
    assert.ok(r.total > 0, `${file} ran no tests in the page`);
    assert.is(r.failures.length, 0, `${file} in Chromium:\n${r.failures.join('\n')}`);
    assert.is(r.passed + r.skipped, r.total, `${file}: ${r.passed} of ${r.total} passed`);
  });
}

/** Waits until the demo's current action has ended; fails with the page's message if it showed one. */
async function settled(page: Page, timeout = 5 * 60_000): Promise<void> {
  await page.waitForFunction(() => !(window as unknown as DemoWindow).wgradDemo.busy, null, { timeout, polling: 200 });
  const message = await page.$eval('#message', (el) => ((el as HTMLElement).hidden ? null : el.textContent));
  assert.is(message, null, `the demo showed an error: ${message}`);
}

async function openDemo(before?: string): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage('', before);
  await opened.page.waitForFunction(() => document.getElementById('device-status')?.dataset.ready, null, { timeout: 60_000 });
  return opened;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('demo: trains a tiny GPT (the loss falls), generates text, benchmarks kernels; screenshot kept', async () => {
  const { page, errors } = await openDemo();
  try {
    assert.is(await page.$eval('#device-status', (el) => (el as HTMLElement).dataset.ready), 'yes', await page.textContent('#device-status') ?? '');
    await page.fill('#iters', '25');
    await page.click('#train');
    await settled(page);
    const losses = await page.evaluate(() => (window as unknown as DemoWindow).wgradDemo.chart.points.train);
    assert.is(losses.length, 25, 'one point per step on the chart');
    const [first, last] = [mean(losses.slice(0, 5)), mean(losses.slice(-5))];
    assert.ok(last < first - 0.3, `the loss fell from ${first.toFixed(3)} (first 5 steps) to ${last.toFixed(3)} (last 5)`);

    await page.fill('#gen-tokens', '200');
    await page.click('#generate');
    await settled(page);
    const text = (await page.textContent('#generated')) ?? '';
    assert.ok(text.startsWith('ROMEO:'), `generated text starts with the prompt: ${JSON.stringify(text.slice(0, 40))}`);
    assert.is(text.length, 'ROMEO:'.length + 200, '200 characters generated (character tokenizer)');

    await page.click('#bench');
    await settled(page);
    const rows = await page.$$eval('#bench-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.is(rows.length, 6, 'one row per benchmarked kernel');
    for (const row of rows) assert.ok(/(GFLOP|GB)\/s$/.test(row[3]!), `${row[0]} ${row[1]} was timed after agreeing with the oracle: ${row.join(' | ')}`);

    await mkdir(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'demo.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok((await stat(shot)).size > 20_000, 'the screenshot was written');
    assert.equal(errors, [], 'no uncaught errors in the page');
  } finally {
    await page.close();
  }
});

test('demo: a checkpoint trained by `wgrad train` in Node gives the same validation loss in the page (±1e-4)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wgrad-web-'));
  const { page } = await openDemo();
  try {
    const corpus = (await readFile(join(ROOT, 'data/tinyshakespeare.txt'), 'utf8')).slice(0, 40_000);
    const corpusFile = join(dir, 'corpus.txt');
    const ckpt = join(dir, 'ckpt');
    await writeFile(corpusFile, corpus);
    await run(process.execPath, ['bin/wgrad.js', 'train', '--preset', 'tiny', '--data', corpusFile, '--out', ckpt, '--iters', '30', '--eval-interval', '30', '--eval-iters', '2', '--sample', '0', '--json'], { cwd: ROOT });

    // Node's number: `wgrad eval` on the validation split (the last 10%, as `wgrad train` and the page split it).
    const tokenizer = tokenizerFromJSON(JSON.parse(await readFile(join(ckpt, 'tokenizer.json'), 'utf8')));
    const blockSize = JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8')).n_positions as number;
    const valFile = join(dir, 'val.txt');
    await writeFile(valFile, tokenizer.decode(splitTokens(tokenizer.encode(corpus), 0.1, blockSize).val));
    const { stdout } = await run(process.execPath, ['bin/wgrad.js', 'eval', '--ckpt', ckpt, '--data', valFile, '--json'], { cwd: ROOT });
    const nodeLoss = JSON.parse(stdout.trim().split('\n').pop()!).loss as number;

    await page.check('input[name=corpus][value=pasted]');
    await page.fill('#corpus-text', corpus);
    await page.setInputFiles('#ckpt-files', ['model.safetensors', 'config.json', 'tokenizer.json'].map((f) => join(ckpt, f)));
    await settled(page);
    assert.match((await page.textContent('#ckpt-status')) ?? '', 'checkpoint loaded');
    await page.click('#evaluate');
    await settled(page);
    const pageLoss = await page.evaluate(() => (window as unknown as DemoWindow).wgradDemo.lastValLoss);
    assert.ok(pageLoss !== null && Math.abs(pageLoss - nodeLoss) <= 1e-4, `validation loss: page ${pageLoss}, Node ${nodeLoss}`);
    assert.ok(nodeLoss > 1 && nodeLoss < 4.2, `a partly trained model's loss (${nodeLoss}), not a degenerate one`);

    // The same checkpoint claiming a 65,536 × 16,384 embedding (4 GiB): refused before any allocation.
    const big = join(dir, 'big');
    await mkdir(big);
    const config = JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8'));
    await writeFile(join(big, 'config.json'), JSON.stringify({ ...config, vocab_size: 65_536, n_embd: 16_384 }));
    for (const f of ['model.safetensors', 'tokenizer.json']) await writeFile(join(big, f), await readFile(join(ckpt, f)));
    await page.setInputFiles('#ckpt-files', ['model.safetensors', 'config.json', 'tokenizer.json'].map((f) => join(big, f)));
    await page.waitForFunction(() => !(window as unknown as DemoWindow).wgradDemo.busy);
    const message = (await page.textContent('#message')) ?? '';
    assert.ok(message.includes('LimitError') && message.includes('4.00 GiB') && message.includes('too large for this GPU'), message);
    assert.ok(await page.isEnabled('#evaluate'), 'the previously loaded model stays usable');
  } finally {
    await page.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('demo: missing WebGPU and a failed adapter request give clear messages, and nothing can be started', async () => {
  // Scripts as text: functions compiled by tsx carry helper calls (__name) that do not exist in the page.
  const cases: [string, string, string][] = [
    ['no navigator.gpu', `Object.defineProperty(Navigator.prototype, 'gpu', { get() { return undefined; }, configurable: true });`, 'navigator.gpu is missing'],
    ['no adapter', `GPU.prototype.requestAdapter = async function () { return null; };`, 'no WebGPU adapter is available'],
    ['adapter request throws', `GPU.prototype.requestAdapter = async function () { throw new Error('the driver crashed'); };`, 'the WebGPU adapter request failed: the driver crashed'],
  ];
  for (const [label, breakWebGPU, expected] of cases) {
    const { page } = await openDemo(breakWebGPU);
    try {
      const status = await page.$eval('#device-status', (el) => ({ text: el.textContent ?? '', error: el.classList.contains('error'), ready: (el as HTMLElement).dataset.ready }));
      assert.ok(status.error && status.ready === 'no', `${label}: the status is marked as an error`);
      assert.ok(status.text.includes(expected) && status.text.includes('HINT:'), `${label}: ${status.text}`);
      assert.ok(await page.isDisabled('#train'), `${label}: Train is disabled`);
    } finally {
      await page.close();
    }
  }
});

test.run();
