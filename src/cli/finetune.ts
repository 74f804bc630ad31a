/**
 * `wgrad finetune`: fine-tune a checkpoint on a text file with LoRA (the default), QLoRA (`--qlora
 * nf4|q4_0`: the frozen base linear weights in 4 bits) or every weight (`--full`, for comparison),
 * through the same Trainer, progress bar, evaluation, resume and `--json` lines as `wgrad train`.
 *
 * LoRA writes PEFT adapter directories (adapter_config.json, adapter_model.safetensors) plus, for
 * resuming, tokenizer.json, optimizer.safetensors and train_state.json; `--full` writes ordinary
 * checkpoints. `--out` keeps the best by validation loss, `--out`-last the latest. The base model's
 * loss on the validation split is measured before training and the fine-tuned one's after it, over
 * the whole split, so the two are comparable.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { init } from '../index.js';
import { ValueError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import { splitTokens } from '../data/batches.js';
import type { UnknownPolicy } from '../data/unknown-text.js';
import { loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { readCheckpointDir } from '../io/checkpoint-dir.js';
import { decodeOptimizerState, encodeOptimizerState } from '../io/model-files.js';
import { ALL_LINEAR, addAdapter, baseWeightBytes, countParameters, loraLayers } from '../lora/adapters.js';
import { ADAPTER_WEIGHTS } from '../io/peft.js';
import { loadAdapter, saveAdapter } from '../io/adapter-dir.js';
import { resolveConfig, kebab, type TrainConfig } from '../train/config.js';
import { Trainer, type TrainState } from '../train/trainer.js';
import { evaluateText } from '../train/evaluate.js';
import { parseNumber, readCorpus, trainLoop } from './train.js';
import { QUANT_FORMATS, addUnknownOptions, encodeText, type QuantFormatName } from './with-adapters.js';

/** The recipe, as saved in train_state.json: --resume needs nothing else. */
interface FinetuneSpec {
  base: string;
  data: string;
  full: boolean;
  r: number;
  alpha: number;
  dropout: number;
  targets: string[] | string;
  qlora: QuantFormatName | null;
  unknown: UnknownPolicy;
  replacement: string;
}

const NUMERIC: (keyof TrainConfig)[] = ['batchSize', 'gradAccum', 'lr', 'minLr', 'warmup', 'decaySteps', 'beta1', 'beta2', 'weightDecay', 'gradClip', 'evalInterval', 'evalIters', 'valFraction', 'seed'];

/** Fine-tuning runs are short: fewer steps, a short warmup, no weight decay on the adapters. */
const DEFAULTS: Partial<TrainConfig> = { iters: 200, lr: 1e-3, minLr: 1e-4, warmup: 10, weightDecay: 0, gradClip: 1, evalInterval: 50, evalIters: 20, batchSize: 12, gradAccum: 1, beta1: 0.9, beta2: 0.99 };

const ADAPTER = 'default';

export function finetuneCommand(): Command {
  const cmd = new Command('finetune')
    .description('fine-tune a checkpoint with LoRA (PEFT adapter files), QLoRA over an int4 base, or every weight')
    .option('--base <dir>', 'checkpoint to fine-tune (written by wgrad train)')
    .option('--data <file>', 'fine-tuning text (the last --val-fraction is held out)')
    .option('--out <dir>', 'output directory (best validation loss); DIR-last holds the latest', 'out/finetune')
    .option('--iters <n>', 'optimizer steps (default 200)', parseNumber('iters'))
    .option('--lora-r <r>', 'adapter rank', parseNumber('loraR'), 8)
    .option('--lora-alpha <a>', 'adapter scale numerator: updates are scaled by alpha / r', parseNumber('loraAlpha'), 16)
    .option('--lora-dropout <p>', 'dropout on the adapters\' input while training', parseNumber('loraDropout'), 0)
    .option('--targets <list>', `comma-separated layer names (c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) or ${ALL_LINEAR}`, 'c_attn')
    .addOption(new Option('--qlora <format>', 'QLoRA: hold the frozen base linear weights in 4 bits').choices(QUANT_FORMATS))
    .option('--full', 'fine-tune every weight instead (writes full checkpoints)')
    .option('--resume <dir>', 'continue exactly from an --out or --out-last directory of this command')
    .option('--json', 'print one JSON object per line instead of a progress bar');
  addUnknownOptions(cmd);
  for (const key of NUMERIC) cmd.option(`--${kebab(key)} <x>`, `override ${key}`, parseNumber(key));
  return cmd.action(async (opts) => {
    const overrides: Partial<TrainConfig> = { iters: opts.iters };
    for (const key of NUMERIC) if (opts[key] !== undefined) (overrides as Record<string, number>)[key] = opts[key];
    const device = await init();
    try {
      await runFinetune(device, opts, overrides);
    } finally {
      device.destroy();
    }
  });
}

export interface FinetuneOptions {
  base?: string;
  data?: string;
  out: string;
  loraR: number;
  loraAlpha: number;
  loraDropout: number;
  targets: string;
  qlora?: QuantFormatName;
  full?: boolean;
  resume?: string;
  json?: boolean;
  unknown: UnknownPolicy;
  replacement: string;
}

function specFromFlags(o: FinetuneOptions): FinetuneSpec {
  if (!o.base || !o.data) throw new ValueError('finetune', `${!o.base ? '--base' : '--data'} is missing`, 'pass --base CKPT --data FILE (or --resume DIR)');
  if (o.full && o.qlora) throw new ValueError('finetune', '--full and --qlora exclude each other', 'full fine-tuning trains float32 weights; drop one of them');
  const list = o.targets.split(',').map((t) => t.trim()).filter(Boolean);
  const targets = list.length === 1 && list[0] === ALL_LINEAR ? ALL_LINEAR : list;
  return { base: o.base, data: o.data, full: !!o.full, r: o.loraR, alpha: o.loraAlpha, dropout: o.loraDropout, targets, qlora: o.qlora ?? null, unknown: o.unknown, replacement: o.replacement };
}

/** The command's work on a given device; `print` receives what would go to stdout. */
export async function runFinetune(device: Device, o: FinetuneOptions, overrides: Partial<TrainConfig>, print: (line: string) => void = console.log): Promise<void> {
  const log = o.json ? (obj: object) => print(JSON.stringify(obj)) : null;
  const resumed = o.resume ? await readCheckpointDir(o.resume) : null;
  const saved = resumed ? parseState(resumed.files['train_state.json'], o.resume!) : null;
  if (saved && (o.base || o.data)) throw new ValueError('finetune', '--resume takes the base, the data and the recipe from the checkpoint', 'drop --base and --data (only --iters may change)');
  const spec = saved ? saved.finetune : specFromFlags(o);

  // --full resumes from its own checkpoint; LoRA from the base plus its adapter.
  const { model, tokenizer } = await loadCheckpoint(saved && spec.full ? o.resume! : spec.base, device);
  let trainer: Trainer | null = null;
  try {
    const text = await readCorpus(spec.data);
    const tokens = encodeText(text, tokenizer, spec.unknown, spec.replacement);
    const c = model.config;
    const shape = { nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, blockSize: c.blockSize, dropout: c.dropout, bias: c.bias };
    const config = saved
      ? resolveConfig(undefined, { ...saved.config, iters: overrides.iters ?? saved.config.iters, decaySteps: saved.config.decaySteps })
      : resolveConfig(undefined, { ...DEFAULTS, ...shape, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) });
    const { train, val } = splitTokens(tokens, config.valFraction, config.blockSize);
    const baseLoss = saved ? null : (await evaluateText(model, val, config.batchSize)).loss;

    if (!spec.full) {
      if (saved) await loadAdapter(o.resume!, model, ADAPTER, { trainable: true });
      else addAdapter(model, ADAPTER, { r: spec.r, alpha: spec.alpha, dropout: spec.dropout, targets: spec.targets, seed: config.seed });
      if (spec.qlora) {
        const { quantizeLinearLayers } = await import('../lora/int4-linear.js');
        quantizeLinearLayers(model, spec.qlora);
      }
    }
    // What training starts from: with B = 0 that is the int4 base for QLoRA.
    const startLoss = saved || !spec.qlora ? baseLoss : (await evaluateText(model, val, config.batchSize)).loss;
    const run = new Trainer(config, device, tokenizer.vocabSize, train, val, model);
    trainer = run;
    const loraRng = loraLayers(model)[0]?.[1].dropoutRng;
    if (saved) {
      run.restore(saved as unknown as TrainState);
      if (loraRng && saved.loraRng) loraRng.state = saved.loraRng;
      if (resumed!.files['optimizer.safetensors']) run.optimizer.loadStateDict(decodeOptimizerState(resumed!.files['optimizer.safetensors']));
    }

    const { trainable, total } = countParameters(model);
    const bytes = baseWeightBytes(model);
    const mode = spec.full ? 'full' : spec.qlora ? `qlora-${spec.qlora}` : 'lora';
    log?.({ event: 'start', mode, trainable_params: trainable, total_params: total, trainable_fraction: trainable / total, base_weight_bytes: bytes.total, base_linear_weight_bytes: bytes.linear, train_tokens: train.length, val_tokens: val.length, base_val_loss: baseLoss, start_val_loss: startLoss, config });
    if (!log) {
      console.log(`wgrad finetune (${mode}): ${trainable.toLocaleString()} of ${total.toLocaleString()} parameters train (${(100 * trainable / total).toFixed(3)}%); base weights hold ${fmtBytes(bytes.total)} (linear layers ${fmtBytes(bytes.linear)}); ${train.length.toLocaleString()} training tokens`);
      if (baseLoss !== null) console.log(`base model: validation loss ${baseLoss.toFixed(4)}${startLoss !== baseLoss ? `, ${startLoss!.toFixed(4)} with ${spec.qlora} weights` : ''} (whole validation split)`);
    }

    const trainState = () => ({ ...run.state, config, finetune: spec, loraRng: loraRng?.state ?? null });
    const save = spec.full
      ? (dir: string) => saveCheckpoint(dir, { model, tokenizer, optimizer: run.optimizer, trainState: trainState() })
      : async (dir: string) => {
        await saveAdapter(dir, model, ADAPTER, { base: spec.base, extra: { base_quantization: spec.qlora, unknown: spec.unknown === 'replace' ? { policy: 'replace', replacement: spec.replacement } : { policy: 'error' } } }, {
          'tokenizer.json': JSON.stringify(tokenizer.toJSON()),
          'optimizer.safetensors': encodeOptimizerState(await run.optimizer.stateDict()),
          'train_state.json': JSON.stringify(trainState(), null, 2),
        });
      };
    await trainLoop(run, { out: o.out, log, save });

    const final = await evaluateText(model, val, config.batchSize);
    const adapterBytes = spec.full ? null : (await stat(join(o.out, ADAPTER_WEIGHTS))).size;
    log?.({ event: 'final', mode, val_loss: final.loss, base_val_loss: baseLoss, start_val_loss: startLoss, trainable_params: trainable, trainable_fraction: trainable / total, adapter_file_bytes: adapterBytes, base_weight_bytes: bytes.total, base_linear_weight_bytes: bytes.linear });
    if (!log) console.log(`fine-tuned: validation loss ${final.loss.toFixed(4)} (whole validation split)${adapterBytes !== null ? `; adapter ${fmtBytes(adapterBytes)} in ${o.out}` : ''}`);
  } finally {
    // The trainer owns the model once it exists.
    if (trainer) trainer.dispose();
    else model.dispose();
  }
}

interface SavedState extends Record<string, unknown> {
  config: TrainConfig;
  finetune: FinetuneSpec;
  loraRng: number[] | null;
}

function parseState(bytes: Uint8Array | undefined, dir: string): SavedState {
  const state = bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as SavedState) : null;
  if (!state?.finetune) throw new ValueError('finetune', `${dir} has no fine-tuning state`, 'resume from an --out or --out-last directory written by `wgrad finetune`');
  return state;
}

/** Optimizer moments as in model checkpoints: `<param>.m` / `<param>.v`, the step in the metadata. */
function fmtBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
