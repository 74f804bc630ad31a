/** The `wgrad` command line. Each sub-command lives in its own file and registers itself here. */
import { Command } from 'commander';
import { WgradError } from '../errors.js';
import { infoCommand } from './info.js';
import { smokeCommand } from './smoke.js';

const program = new Command()
  .name('wgrad')
  .description('A tensor engine for WebGPU: kernels, autograd and a small GPT')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(smokeCommand())
  .addCommand(infoCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof WgradError) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
