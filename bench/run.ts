/**
 * Runs the benchmark suites and exits: `npm run bench` runs them all, `npm run bench -- dispatch` the
 * ones whose names contain the argument. Each suite prints its table and writes bench/results/<suite>.json.
 * The exit code is 1 when a suite fails or one of wgrad's results disagrees with the oracle.
 */
import { runAttentionSuite } from './attention.js';
import { runDispatchSuite } from './dispatch.js';
import { runMatmulSuite } from './matmul.js';
import { runNormSuite } from './norm.js';

const SUITES: Record<string, () => Promise<boolean>> = {
  attention: runAttentionSuite,
  dispatch: runDispatchSuite,
  matmul: runMatmulSuite,
  norm: runNormSuite,
};

const filter = process.argv[2];
const chosen = Object.entries(SUITES).filter(([name]) => !filter || name.includes(filter));
if (chosen.length === 0) {
  console.error(`no suite matches "${filter}"; suites: ${Object.keys(SUITES).join(', ')}`);
  process.exit(2);
}

let ok = true;
for (const [name, run] of chosen) {
  const started = performance.now();
  console.log(`== ${name} ==`);
  try {
    ok = (await run()) && ok;
  } catch (err) {
    ok = false;
    console.error(`suite ${name} failed:`, err);
  }
  console.log(`== ${name}: ${((performance.now() - started) / 1e3).toFixed(1)} s ==\n`);
}
// Suites destroy their devices; exiting explicitly also covers anything a failed suite left open.
process.exit(ok ? 0 : 1);
