/**
 * `wgrad bench`: the benchmark suites against the float64 oracle, TF.js and PyTorch, with a report
 * (bench/main.ts does the work; it is loaded only when this command runs, so TF.js and benny stay
 * out of every other command's start-up). `--compare A.json B.json` prints what got faster or slower.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { ValueError } from '../errors.js';

export function benchCommand(): Command {
  return new Command('bench')
    .description('benchmark wgrad against the float64 oracle, TF.js (WebGPU, WASM, CPU) and PyTorch; write results and a report')
    .addOption(new Option('--suite <name>', 'which suites').choices(['kernels', 'int4', 'train', 'generate', 'all']).default('all'))
    .option('--quick', 'fewer cases, sizes and samples (a few minutes)')
    .option('--json <file>', 'write results.json here (default: bench/results/latest.json unless --report is given)')
    .option('--report <dir>', 'write report.md, results.json, ratios.svg and scaling.svg into this directory')
    .option('--compare <files...>', 'compare two results files (A B): what got faster or slower from A to B; runs nothing')
    .action(async (opts: { suite: 'kernels' | 'int4' | 'train' | 'generate' | 'all'; quick?: boolean; json?: string; report?: string; compare?: string[] }) => {
      if (opts.compare) {
        if (opts.compare.length !== 2) throw new ValueError('wgrad bench', `--compare takes two results files, got ${opts.compare.length}`, 'pass --compare A.json B.json');
        const { formatComparison } = await import('../../bench/compare.js');
        const { schemaProblems } = await import('../../bench/schema.js');
        const [a, b] = opts.compare.map((file) => {
          const parsed = readResults(file);
          const problems = schemaProblems(parsed);
          if (problems.length > 0) throw new ValueError('wgrad bench', `${file} is not a wgrad bench results file: ${problems.slice(0, 3).join('; ')}`, 'pass results.json files written by wgrad bench');
          return parsed as Parameters<typeof formatComparison>[0];
        });
        console.log(formatComparison(a!, b!));
        return;
      }
      const { runBench, saveResults } = await loadBench();
      const command = `wgrad bench ${process.argv.slice(3).join(' ')}`.trim();
      const { results, ok } = await runBench({ suite: opts.suite, quick: !!opts.quick, json: opts.json, report: opts.report, command });
      for (const file of saveResults(results, opts)) console.log(`written: ${file}`);
      // Dawn keeps Node alive while its instance exists; the suites have destroyed their devices.
      process.exit(ok ? 0 : 1);
    });
}

function readResults(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ValueError('wgrad bench', `cannot read ${file}: ${(err as Error).message}`, 'pass results.json files written by wgrad bench');
  }
}

/** bench/ ships with the repository, not with the installed package (it needs the devDependencies). */
async function loadBench(): Promise<typeof import('../../bench/main.js')> {
  try {
    return await import('../../bench/main.js');
  } catch (err) {
    throw new ValueError('wgrad bench', `the benchmark suites could not be loaded (${(err as Error).message.split('\n')[0]})`, 'run wgrad bench from a clone of the repository after npm install (the suites need its devDependencies: benny, TF.js)');
  }
}
