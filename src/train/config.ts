/**
 * Training configuration: the model's shape plus the optimisation recipe, with named presets.
 * `baby` is nanoGPT's small CPU configuration for Tiny Shakespeare (its author reports a validation
 * loss of 1.88 after 2,000 iterations).
 */
import { ValueError } from '../errors.js';
import type { GPTConfig } from '../nn/gpt.js';

/** Every setting of a training run (each is a `wgrad train` flag). */
export interface TrainConfig {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  blockSize: number;
  dropout: number;
  bias: boolean;
  batchSize: number;
  /** Micro-batches per optimizer step (gradient accumulation). */
  gradAccum: number;
  iters: number;
  lr: number;
  minLr: number;
  warmup: number;
  /** Steps over which the cosine decays (nanoGPT's lr_decay_iters); default: iters. */
  decaySteps: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  gradClip: number;
  evalInterval: number;
  evalIters: number;
  /** Fraction of the corpus, at its end, held out for validation. */
  valFraction: number;
  seed: number;
  tokenizer: 'char' | 'bpe';
  /** Vocabulary size of a trained BPE tokenizer (ignored for char). */
  bpeVocab: number;
}

/** Named configurations (`--preset`): tiny, baby (nanoGPT's CPU run), … */
export const PRESETS: Record<string, Partial<TrainConfig>> = {
  /** nanoGPT's CPU configuration (config/train_shakespeare_char.py with its CPU overrides). */
  baby: {
    nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 64, dropout: 0, bias: false,
    batchSize: 12, gradAccum: 1, iters: 2000, lr: 1e-3, minLr: 1e-4, warmup: 100, decaySteps: 2000,
    beta1: 0.9, beta2: 0.99, weightDecay: 0.1, gradClip: 1, evalInterval: 250, evalIters: 20,
  },
  /** A few steps of a tiny model: for smoke tests and the README's first run on slow machines. */
  tiny: {
    nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32, dropout: 0, bias: false,
    batchSize: 8, gradAccum: 1, iters: 200, lr: 3e-3, minLr: 3e-4, warmup: 20, decaySteps: 200,
    beta1: 0.9, beta2: 0.99, weightDecay: 0.1, gradClip: 1, evalInterval: 50, evalIters: 5,
  },
};

const DEFAULTS: TrainConfig = {
  ...(PRESETS.baby as TrainConfig),
  valFraction: 0.1,
  seed: 1337,
  tokenizer: 'char',
  bpeVocab: 512,
};

/** A preset with overrides applied, validated. */
export function resolveConfig(preset: string | undefined, overrides: Partial<TrainConfig>): TrainConfig {
  if (preset !== undefined && !PRESETS[preset]) {
    throw new ValueError('config', `unknown preset '${preset}'`, `use one of: ${Object.keys(PRESETS).join(', ')}`);
  }
  const base = { ...DEFAULTS, ...(preset ? PRESETS[preset] : {}) };
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const c = { ...base, ...defined } as TrainConfig;
  if (overrides.iters !== undefined && overrides.decaySteps === undefined) c.decaySteps = c.iters;
  checkConfig(c);
  return c;
}

export function checkConfig(c: TrainConfig): void {
  const ints = ['nLayer', 'nHead', 'nEmbd', 'blockSize', 'batchSize', 'gradAccum', 'iters', 'evalInterval', 'evalIters', 'decaySteps', 'bpeVocab'] as const;
  for (const k of ints) {
    if (!Number.isInteger(c[k]) || c[k] < (k === 'iters' ? 0 : 1)) throw new ValueError('config', `${k} = ${c[k]} must be a whole number ≥ ${k === 'iters' ? 0 : 1}`, `pass --${kebab(k)} with a valid value`);
  }
  if (!Number.isInteger(c.warmup) || c.warmup < 0) throw new ValueError('config', `warmup = ${c.warmup} must be a whole number ≥ 0`, 'pass --warmup 0 or more');
  for (const k of ['lr', 'minLr', 'weightDecay', 'gradClip', 'dropout', 'valFraction'] as const) {
    if (!Number.isFinite(c[k]) || c[k] < 0) throw new ValueError('config', `${k} = ${c[k]} must be a finite number ≥ 0`, `pass --${kebab(k)} with a valid value`);
  }
  for (const k of ['beta1', 'beta2', 'dropout'] as const) {
    if (!(c[k] >= 0 && c[k] < 1)) throw new ValueError('config', `${k} = ${c[k]} must be in [0, 1)`, `pass --${kebab(k)} with a value such as 0.9`);
  }
  if (!(c.valFraction > 0 && c.valFraction < 1)) throw new ValueError('config', `valFraction = ${c.valFraction} must be in (0, 1)`, 'pass --val-fraction 0.1');
  if (c.nEmbd % c.nHead !== 0) throw new ValueError('config', `nEmbd = ${c.nEmbd} is not divisible by nHead = ${c.nHead}`, 'choose nEmbd as a multiple of nHead');
  if (c.tokenizer !== 'char' && c.tokenizer !== 'bpe') throw new ValueError('config', `tokenizer '${c.tokenizer}' is unknown`, 'use char or bpe');
}

/** The GPTConfig a training configuration describes, for a vocabulary of `vocabSize`. */
export function modelConfig(c: TrainConfig, vocabSize: number): GPTConfig {
  return { vocabSize, blockSize: c.blockSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, dropout: c.dropout, bias: c.bias };
}

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}
