/**
 * `wgrad train`: train a GPT on a text file, with a progress bar (or JSON lines), periodic evaluation,
 * the best checkpoint kept, and exact resume.
 */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { init } from '../index.js';
import { ValueError } from '../errors.js';
import { CharTokenizer } from '../data/char-tokenizer.js';
import { BpeTokenizer } from '../data/bpe-tokenizer.js';
import type { Tokenizer } from '../data/tokenizer.js';
import { encodeCorpus, splitTokens } from '../data/batches.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { PRESETS, kebab, resolveConfig, type TrainConfig } from '../train/config.js';
import { Trainer, type TrainState } from '../train/trainer.js';
import { generate } from '../train/generate.js';

const NUMERIC: (keyof TrainConfig)[] = ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'dropout', 'batchSize', 'gradAccum', 'lr', 'minLr', 'warmup', 'decaySteps', 'beta1', 'beta2', 'weightDecay', 'gradClip', 'evalInterval', 'evalIters', 'valFraction', 'seed', 'bpeVocab'];

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train a GPT on a text file (character-level by default) and save checkpoints')
    .addOption(new Option('--preset <name>', 'configuration preset').choices(Object.keys(PRESETS)).default('baby'))
    .option('--data <file>', 'training corpus (plain text)', 'data/tinyshakespeare.txt')
    .option('--out <dir>', 'checkpoint directory (best validation loss); DIR-last holds the latest', 'out/baby')
    .option('--iters <n>', 'optimizer steps', parseNumber('iters'))
    .option('--resume <dir>', 'continue exactly from a checkpoint written by wgrad train')
    .option('--json', 'print one JSON object per line instead of a progress bar')
    .option('--sample <n>', 'characters/tokens to sample at the end (0: none)', parseNumber('sample'), 300)
    .addOption(new Option('--tokenizer <kind>', 'tokenizer for a new model').choices(['char', 'bpe']))
    .option('--bias', 'biases in linear layers and LayerNorms (GPT-2 style)');
  for (const key of NUMERIC) cmd.option(`--${kebab(key)} <x>`, `override ${key}`, parseNumber(key));
  return cmd.action(async (opts) => {
    const overrides: Partial<TrainConfig> = { iters: opts.iters, tokenizer: opts.tokenizer, bias: opts.bias };
    for (const key of NUMERIC) if (opts[key] !== undefined) (overrides as Record<string, number>)[key] = opts[key];
    await runTraining({ preset: opts.preset, data: opts.data, out: opts.out, resume: opts.resume, json: !!opts.json, sample: opts.sample, overrides });
  });
}

export function parseNumber(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new ValueError('wgrad', `--${kebab(name)} expects a number, got '${value}'`, `pass e.g. --${kebab(name)} 100`);
    return n;
  };
}

interface RunOptions {
  preset: string;
  data: string;
  out: string;
  resume?: string;
  json: boolean;
  sample: number;
  overrides: Partial<TrainConfig>;
}

export async function runTraining(o: RunOptions): Promise<void> {
  const text = await readCorpus(o.data);
  const device = await init();
  try {
    const resumed = o.resume ? await loadCheckpoint(o.resume, device) : null;
    let config: TrainConfig;
    let tokenizer: Tokenizer;
    if (resumed) {
      if (!resumed.trainState) throw new ValueError('train', `${o.resume} has no training state`, 'resume from a checkpoint written by `wgrad train` (a -last or best checkpoint directory)');
      const saved = resumed.trainState.config as TrainConfig;
      config = resolveConfig(undefined, { ...saved, iters: o.overrides.iters ?? saved.iters, decaySteps: saved.decaySteps });
      const clash = Object.entries(o.overrides).filter(([k, v]) => v !== undefined && k !== 'iters' && (saved as unknown as Record<string, unknown>)[k] !== v);
      if (clash.length > 0) {
        throw new ValueError('train', `--resume: ${clash.map(([k, v]) => `${k} = ${v} (checkpoint: ${(saved as unknown as Record<string, unknown>)[k]})`).join(', ')}`, 'a resumed run keeps its configuration; drop those flags or start a new run');
      }
      tokenizer = resumed.tokenizer;
    } else {
      config = resolveConfig(o.preset, o.overrides);
      tokenizer = config.tokenizer === 'bpe' ? BpeTokenizer.train(text, config.bpeVocab) : CharTokenizer.fromCorpus(text);
    }
    const { train, val } = splitTokens(encodeCorpus(text, tokenizer), config.valFraction, config.blockSize);
    const trainer = new Trainer(config, device, tokenizer.vocabSize, train, val, resumed?.model);
    if (resumed) {
      trainer.restore(resumed.trainState as unknown as TrainState);
      if (resumed.optimizerState) trainer.optimizer.loadStateDict(resumed.optimizerState);
    }
    const log = o.json ? (obj: object) => console.log(JSON.stringify(obj)) : null;
    log?.({ event: 'start', params: trainer.model.numParameters(), vocab: tokenizer.vocabSize, train_tokens: train.length, val_tokens: val.length, config });
    if (!log) console.log(`wgrad train: ${trainer.model.numParameters().toLocaleString()} parameters, vocabulary ${tokenizer.vocabSize}, ${train.length.toLocaleString()} training tokens; checkpoints in ${o.out}`);
    const save = async (dir: string) => saveCheckpoint(dir, { model: trainer.model, tokenizer, optimizer: trainer.optimizer, trainState: { ...trainer.state, config } });
    await trainLoop(trainer, { out: o.out, log, save });
    if (o.sample > 0) {
      const prompt = tokenizer.encode('\n');
      const ids = await generate(trainer.model, Array.from(prompt), o.sample, { temperature: 0.8, topK: 200, seed: config.seed });
      const textOut = tokenizer.decode(ids);
      if (log) log({ event: 'sample', text: textOut });
      else console.log(`\n--- sample ---\n${textOut}\n`);
    }
    trainer.dispose();
  } finally {
    device.destroy();
  }
}

/**
 * The loop `train` and `finetune` share: steps until config.iters with a progress bar (or JSON lines
 * through `log`), evaluation every evalInterval steps and at the end, the best checkpoint (by
 * validation loss) saved to `out` and the latest to `out`-last.
 */
export async function trainLoop(trainer: Trainer, o: { out: string; log: ((obj: object) => void) | null; save: (dir: string) => Promise<void> }): Promise<void> {
  const { config } = trainer;
  const log = o.log;
  const bar = log ? null : new SingleBar({ format: 'step {value}/{total} |{bar}| loss {loss} | val {val} | {tps} tok/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 }, Presets.shades_classic);
  bar?.start(config.iters, trainer.step, { loss: '-', val: '-', tps: '-' });
  let lastVal = '-';
  while (trainer.step < config.iters) {
    const info = await trainer.trainStep();
    log?.({ step: info.step, loss: info.loss, lr: info.lr, tokens_per_s: Math.round(info.tokensPerSecond) });
    bar?.update(info.step, { loss: info.loss.toFixed(4), val: lastVal, tps: Math.round(info.tokensPerSecond) });
    if (info.step % config.evalInterval === 0 || info.step === config.iters) {
      const losses = await trainer.evaluate();
      lastVal = losses.val.toFixed(4);
      log?.({ step: info.step, train_loss: losses.train, val_loss: losses.val });
      bar?.update(info.step, { val: lastVal });
      if (trainer.bestValLoss === null || losses.val < trainer.bestValLoss) {
        trainer.bestValLoss = losses.val;
        await o.save(o.out);
      }
      await o.save(`${o.out}-last`);
    }
  }
  bar?.stop();
  if (!log) console.log(`best validation loss ${trainer.bestValLoss?.toFixed(4) ?? '-'}; checkpoint ${o.out}`);
}

export async function readCorpus(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ValueError('train', `cannot read the corpus ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'pass --data with a path to a text file');
  }
  if (text.length === 0) throw new ValueError('train', `the corpus ${path} is empty`, 'pass --data with a non-empty text file');
  return text;
}
