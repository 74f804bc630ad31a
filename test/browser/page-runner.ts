/**
 * Runs shared uvu test files inside the page (the entry scripts/build-web.mjs generates calls
 * runSharedTests with a loader per file), the way test/run.ts does in Node: uvu's deferred mode, one
 * queue slot per file, one exec(). test/helpers.ts's testDevice() acquires navigator.gpu here, since
 * src/gpu/acquire.ts prefers it when present. The outcome is published on `window.sharedTestResult`
 * for Playwright to read. `tests.html?filter=<text>` runs only the files whose names contain the text.
 */
type Run = () => Promise<[errors: string | true, passed: number, skipped: number, total: number]>;

export interface FileResult {
  file: string;
  passed: number;
  skipped: number;
  total: number;
  seconds: number;
  /** uvu's formatted failure reports (assertion, expected/actual, stack). */
  failures: string[];
}

export interface SharedTestResult {
  files: FileResult[];
  /** An error that stopped the run itself (a file failing to load, uvu crashing). */
  crash: string | null;
  seconds: number;
}

declare global {
  interface Window {
    sharedTestResult?: SharedTestResult;
  }
}

export async function runSharedTests(all: readonly [name: string, load: () => Promise<unknown>][]): Promise<void> {
  const started = performance.now();
  // tests.html?filter=reduce runs only the files whose names contain "reduce" (as test/run.ts's pattern).
  const filter = new URLSearchParams(location.search).get('filter');
  const files = filter ? all.filter(([name]) => name.includes(filter)) : all;
  const results: FileResult[] = files.map(([file]) => ({ file, passed: 0, skipped: 0, total: 0, seconds: 0, failures: [] }));
  let crash: string | null = null;
  try {
    // Set before uvu's module runs (it is only reached through these dynamic imports): suites then
    // register into UVU_QUEUE instead of running on their own.
    const g = globalThis as unknown as { UVU_DEFER: number; UVU_INDEX: number; UVU_QUEUE: unknown[][] };
    g.UVU_DEFER = 1;
    const uvu = await import('uvu');
    for (const [index, [file, load]] of files.entries()) {
      g.UVU_INDEX = index;
      g.UVU_QUEUE.push([file]);
      await load();
    }
    // Each slot holds the file name, then one runner per suite; wrap the runners to count per file.
    g.UVU_QUEUE.forEach((slot, index) => {
      for (let i = 1; i < slot.length; i++) {
        const run = slot[i] as Run;
        slot[i] = async () => {
          const suiteStarted = performance.now();
          const outcome = await run();
          const [errors, passed, skipped, total] = outcome;
          const r = results[index]!;
          r.seconds += (performance.now() - suiteStarted) / 1000;
          r.passed += passed;
          r.skipped += skipped;
          r.total += total;
          if (errors !== true) r.failures.push(stripAnsi(errors));
          return outcome;
        };
      }
    });
    await uvu.exec();
  } catch (err) {
    crash = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
  }
  window.sharedTestResult = { files: results, crash, seconds: (performance.now() - started) / 1000 };
  showSummary(window.sharedTestResult);
}

/** A plain-text report in the page, for whoever opens tests.html by hand. */
function showSummary(r: SharedTestResult): void {
  const lines = r.files.map((f) => `${f.failures.length ? 'FAIL' : 'ok  '} ${f.file}: ${f.passed} / ${f.total}${f.skipped ? ` (${f.skipped} skipped)` : ''} in ${f.seconds.toFixed(1)} s`);
  const failures = r.files.flatMap((f) => f.failures);
  const out = document.getElementById('summary') ?? document.body.appendChild(document.createElement('pre'));
  out.textContent = [...lines, '', ...failures, r.crash ?? '', `${r.seconds.toFixed(1)} s`].join('\n');
}

function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
