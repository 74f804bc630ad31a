/** The `wgrad` command line. Each sub-command lives in its own file and registers itself here. */
import { Command } from 'commander';
import { WgradError } from '../errors.js';
import { infoCommand } from './info.js';
import { smokeCommand } from './smoke.js';
import { trainCommand } from './train.js';
import { sampleCommand } from './sample.js';
import { evalCommand } from './eval.js';
import { finetuneCommand } from './finetune.js';
import { mergeCommand } from './merge.js';
import { benchCommand } from './bench.js';
import { exportHFCommand, importHFCommand } from './hf.js';

const program = new Command()
  .name('wgrad')
  .description('A tensor engine for WebGPU: kernels, autograd and a small GPT')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(trainCommand())
  .addCommand(sampleCommand())
  .addCommand(evalCommand())
  .addCommand(finetuneCommand())
  .addCommand(mergeCommand())
  .addCommand(importHFCommand())
  .addCommand(exportHFCommand())
  .addCommand(infoCommand())
  .addCommand(benchCommand())
  .addCommand(smokeCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof WgradError) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
