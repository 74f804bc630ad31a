/** The `wgrad` command line. Each sub-command lives in its own file and registers itself here. */
import { Command } from 'commander';
import { WgradError } from '../errors.js';
import { infoCommand } from './info.js';
import { smokeCommand } from './smoke.js';
import { trainCommand } from './train.js';
import { sampleCommand } from './sample.js';
import { evalCommand } from './eval.js';

const program = new Command()
  .name('wgrad')
  .description('A tensor engine for WebGPU: kernels, autograd and a small GPT')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(trainCommand())
  .addCommand(sampleCommand())
  .addCommand(evalCommand())
  .addCommand(infoCommand())
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
