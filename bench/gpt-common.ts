/**
 * What the train and generate suites share: the corpus (Tiny Shakespeare, character-level, as
 * `wgrad train --preset baby`), the configurations measured, the float64 oracle of the model's first
 * forward pass, and the model's weights in the form the PyTorch twin loads.
 */
import { readFileSync } from 'node:fs';
import { CharTokenizer } from '../src/data/char-tokenizer.js';
import { encodeCorpus, splitTokens } from '../src/data/batches.js';
import type { GPT } from '../src/nn/gpt.js';
import { referenceGPT } from '../src/reference/gpt.js';
import { resolveConfig, type TrainConfig } from '../src/train/config.js';

const CORPUS = new URL('../data/tinyshakespeare.txt', import.meta.url).pathname;

export interface BenchConfig {
  name: string;
  config: TrainConfig;
}

/**
 * The baby preset (nanoGPT's CPU configuration) and a larger model: 6 layers, 6 heads, 192 wide (the
 * same head size and batch), about 3.4× the baby's matmul work per token.
 */
export function benchConfigs(): BenchConfig[] {
  return [
    { name: 'baby', config: resolveConfig('baby', {}) },
    { name: 'baby-6×192 (6 layers, 6 heads, 192 wide)', config: resolveConfig('baby', { nLayer: 6, nHead: 6, nEmbd: 192 }) },
  ];
}

export interface Corpus {
  vocabSize: number;
  train: Int32Array;
}

let corpus: Corpus | null = null;

export function loadCorpus(): Corpus {
  if (corpus) return corpus;
  const text = readFileSync(CORPUS, 'utf8');
  const tokenizer = CharTokenizer.fromCorpus(text);
  corpus = { vocabSize: tokenizer.vocabSize, train: splitTokens(encodeCorpus(text, tokenizer), 0.1).train };
  return corpus;
}

export interface Weights {
  /** Names and shapes, in the order of `arrays` (the twin's job description). */
  manifest: { name: string; shape: number[] }[];
  arrays: Float32Array[];
  /** The same values in float64 for the oracle. */
  float64: Record<string, { shape: number[]; data: Float64Array }>;
}

export async function readWeights(model: GPT): Promise<Weights> {
  const w: Weights = { manifest: [], arrays: [], float64: {} };
  for (const [name, p] of model.namedParameters()) {
    const data = (await p.toArray()) as Float32Array;
    w.manifest.push({ name, shape: [...p.shape] });
    w.arrays.push(data);
    w.float64[name] = { shape: [...p.shape], data: Float64Array.from(data) };
  }
  return w;
}

/** The oracle's logits and mean loss for one sequence (1, T) and its next-token targets. */
export function oracleForward(c: TrainConfig, vocabSize: number, weights: Weights, idx: Int32Array, targets: Int32Array): { logits: Float64Array; loss: number } {
  const config = { vocabSize, blockSize: c.blockSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, bias: c.bias };
  const r = referenceGPT(config, weights.float64, { shape: [1, idx.length], data: Float64Array.from(idx) }, { shape: [idx.length], data: Float64Array.from(targets) });
  return { logits: r.logits.data, loss: r.loss };
}

/** The twin's view of a configuration (the fields its GPT and its optimizer use). */
export function twinConfig(c: TrainConfig, vocabSize: number): Record<string, number | boolean> {
  const { nLayer, nHead, nEmbd, blockSize, batchSize, lr, beta1, beta2, weightDecay, gradClip, seed, bias } = c;
  return { vocabSize, nLayer, nHead, nEmbd, blockSize, batchSize, lr, beta1, beta2, weightDecay, gradClip, seed, bias };
}
