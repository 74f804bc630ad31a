/** `wgrad import-hf` and `wgrad export-hf`: Hugging Face GPT-2 directories to and from wgrad checkpoints. */
import { Command } from 'commander';
import { init } from '../index.js';
import { exportHF, importHF, type HFConversion } from '../io/hf-dir.js';

export function importHFCommand(): Command {
  return new Command('import-hf')
    .description('convert a Hugging Face GPT-2 directory (config.json, model.safetensors, tokenizer) into a wgrad checkpoint')
    .argument('<dir>', 'the Hugging Face model directory, e.g. one `huggingface-cli download gpt2` fetched')
    .requiredOption('--out <dir>', 'where to write the checkpoint')
    .action(async (dir: string, opts: { out: string }) => {
      const device = await init();
      try {
        console.log(`imported ${dir} → ${opts.out}: ${describe(await importHF(dir, opts.out, device))}`);
      } finally {
        device.destroy();
      }
    });
}

export function exportHFCommand(): Command {
  return new Command('export-hf')
    .description('write a wgrad checkpoint as a Hugging Face GPT-2 directory that GPT2LMHeadModel.from_pretrained loads')
    .argument('<ckpt>', 'checkpoint directory written by wgrad train, finetune or merge')
    .argument('<dir>', 'where to write the Hugging Face directory')
    .action(async (ckpt: string, dir: string) => {
      console.log(`exported ${ckpt} → ${dir}: ${describe(await exportHF(ckpt, dir))}`);
    });
}

function describe({ config: c, tokenizer, parameters }: HFConversion): string {
  return `${c.nLayer} layers, ${c.nHead} heads, ${c.nEmbd} wide, context ${c.blockSize}, vocabulary ${c.vocabSize} (${tokenizer} tokenizer), ${parameters.toLocaleString()} parameters`;
}
