/** `wgrad eval`: the loss of a checkpoint on a text file, alone or with adapters over it. */
import { Command, Option } from 'commander';
import { init } from '../index.js';
import { ValueError } from '../errors.js';
import { splitTokens } from '../data/batches.js';
import { setActiveAdapter } from '../lora/adapters.js';
import { evaluateText } from '../train/evaluate.js';
import { readCorpus, parseNumber } from './train.js';
import { QUANT_FORMATS, addUnknownOptions, collect, encodeText, loadWithAdapters } from './with-adapters.js';

export function evalCommand(): Command {
  const cmd = new Command('eval')
    .description('mean next-token loss of a checkpoint on a text file')
    .requiredOption('--ckpt <dir>', 'checkpoint directory written by wgrad train')
    .requiredOption('--data <file>', 'text to evaluate on')
    .option('--batch-size <n>', 'sequences per batch', parseNumber('batchSize'), 16)
    .option('--adapter <dir>', 'a LoRA adapter over the checkpoint; repeat to compare several over one loaded base (the base alone is reported too)', collect, [])
    .addOption(new Option('--quantize <format>', 'hold the base linear weights in 4 bits (default: as the adapters were trained)').choices(QUANT_FORMATS))
    .addOption(new Option('--split <part>', 'the whole text, or the train / validation part as train and finetune split it').choices(['all', 'train', 'val']).default('all'))
    .option('--val-fraction <f>', 'the validation part for --split', parseNumber('valFraction'), 0.1)
    .option('--json', 'print {"loss": …} as one JSON line (one per adapter)');
  addUnknownOptions(cmd);
  return cmd.action(async (opts) => {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new ValueError('eval', `--batch-size ${opts.batchSize} is not a whole number ≥ 1`, 'pass e.g. --batch-size 16');
    const text = await readCorpus(opts.data);
    const device = await init();
    try {
      const { model, tokenizer, names } = await loadWithAdapters(opts.ckpt, opts.adapter, opts.quantize, device);
      let tokens = encodeText(text, tokenizer, opts.unknown, opts.replacement);
      if (opts.split !== 'all') tokens = splitTokens(tokens, opts.valFraction, model.config.blockSize)[opts.split as 'train' | 'val'];
      const runs: [string | null, string | null][] = [[null, null], ...names.map((n, i): [string, string] => [n, opts.adapter[i]])];
      for (const [name, dir] of names.length > 0 ? runs : [[null, null] as [null, null]]) {
        setActiveAdapter(model, name);
        const result = await evaluateText(model, tokens, opts.batchSize);
        if (opts.json) console.log(JSON.stringify({ adapter: dir, loss: result.loss, tokens: result.tokens }));
        else console.log(`${dir ? `${dir}: ` : names.length > 0 ? 'base: ' : ''}loss ${result.loss.toFixed(4)} over ${result.tokens.toLocaleString()} predicted tokens (perplexity ${Math.exp(result.loss).toFixed(2)})`);
      }
      model.dispose();
    } finally {
      device.destroy();
    }
  });
}
