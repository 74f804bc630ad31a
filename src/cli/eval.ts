/** `wgrad eval`: the loss of a checkpoint on a text file. */
import { Command } from 'commander';
import { init } from '../index.js';
import { ValueError } from '../errors.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { evaluateText } from '../train/evaluate.js';
import { readCorpus, parseNumber } from './train.js';

export function evalCommand(): Command {
  return new Command('eval')
    .description('mean next-token loss of a checkpoint on a text file')
    .requiredOption('--ckpt <dir>', 'checkpoint directory written by wgrad train')
    .requiredOption('--data <file>', 'text to evaluate on')
    .option('--batch-size <n>', 'sequences per batch', parseNumber('batchSize'), 16)
    .option('--json', 'print {"loss": …} as one JSON line')
    .action(async (opts) => {
      if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new ValueError('eval', `--batch-size ${opts.batchSize} is not a whole number ≥ 1`, 'pass e.g. --batch-size 16');
      const text = await readCorpus(opts.data);
      const device = await init();
      try {
        const { model, tokenizer } = await loadCheckpoint(opts.ckpt, device);
        const result = await evaluateText(model, tokenizer.encode(text), opts.batchSize);
        if (opts.json) console.log(JSON.stringify({ loss: result.loss, tokens: result.tokens }));
        else console.log(`loss ${result.loss.toFixed(4)} over ${result.tokens.toLocaleString()} predicted tokens (perplexity ${Math.exp(result.loss).toFixed(2)})`);
        model.dispose();
      } finally {
        device.destroy();
      }
    });
}
