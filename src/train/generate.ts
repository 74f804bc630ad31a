/**
 * Generation with a KV cache: the prompt is processed once, then each new token runs the model on one
 * position, attending to the cached keys and values (no recomputation of the prefix). When the context
 * is full, the cache is rebuilt from the last blockSize − 1 tokens. Sampling (temperature, top-k,
 * top-p) happens on the CPU over the last position's logits.
 */
import { ValueError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { keep, scope } from '../tensor/scope.js';
import { tensor } from '../tensor/create.js';
import { Rng } from '../tensor/random.js';
import type { GPT, LayerCache } from '../nn/gpt.js';

/** How generate() picks each token: temperature, top-k, top-p and the seed. */
export interface SampleOptions {
  /** Softmax temperature; 0 means greedy (argmax). */
  temperature?: number;
  /** Keep only the k most likely tokens (0: all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probabilities add up to at least p (1: all). */
  topP?: number;
  seed?: number;
}

/** Generate `count` token ids after `prompt`, calling `onToken` as each one is produced. */
export async function generate(model: GPT, prompt: readonly number[], count: number, options: SampleOptions = {}, onToken?: (id: number) => void): Promise<number[]> {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(temperature >= 0) || !(topP > 0 && topP <= 1) || !(topK >= 0)) {
    throw new ValueError('generate', `temperature ${temperature}, top-k ${topK}, top-p ${topP} are out of range`, 'use temperature ≥ 0, top-k ≥ 0, 0 < top-p ≤ 1');
  }
  if (prompt.length === 0) throw new ValueError('generate', 'the prompt is empty', 'pass at least one token (for a character model, e.g. a newline)');
  const rng = new Rng(options.seed ?? 0);
  const { blockSize, nLayer } = model.config;
  const device = model.parameters()[0]!.device;
  const tokens = [...prompt];
  const out: number[] = [];
  model.eval();
  let caches: LayerCache[] = [];
  let pending = tokens.slice(-blockSize); // positions not yet in the cache
  const freeCaches = () => caches.forEach((c) => { c.k?.dispose(); c.v?.dispose(); });
  try {
    for (let i = 0; i < count; i++) {
      const cached = caches[0]?.k?.shape[2] ?? 0;
      if (cached + pending.length > blockSize) {
        // Context full: restart the cache from the most recent tokens.
        freeCaches();
        caches = [];
        pending = tokens.slice(-(blockSize - 1));
      }
      if (caches.length === 0) caches = Array.from({ length: nLayer }, () => ({ k: null, v: null }));
      const previous = caches.map((c) => ({ ...c }));
      const logitsTensor = noGrad(() => scope(() => {
        const idx = tensor(pending, [1, pending.length], { device, dtype: 'int32' });
        const { logits } = model.forward(idx, undefined, caches, { lastOnly: true });
        // The grown caches were created inside this scope: they outlive it.
        for (const c of caches) {
          keep(c.k!);
          keep(c.v!);
        }
        return logits.reshape([model.config.vocabSize]);
      }));
      // Free the caches the grown ones replace.
      caches.forEach((c, l) => {
        if (previous[l]!.k && previous[l]!.k !== c.k) previous[l]!.k!.dispose();
        if (previous[l]!.v && previous[l]!.v !== c.v) previous[l]!.v!.dispose();
      });
      const logits = (await logitsTensor.toArray()) as Float32Array;
      logitsTensor.dispose();
      const id = sampleToken(logits, temperature, topK, topP, rng);
      tokens.push(id);
      out.push(id);
      pending = [id];
      onToken?.(id);
    }
  } finally {
    freeCaches();
  }
  return out;
}

/** Pick a token from logits with temperature, top-k and top-p (nucleus) filtering. */
export function sampleToken(logits: ArrayLike<number>, temperature: number, topK: number, topP: number, rng: Rng): number {
  const n = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < n; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
  if (topK > 0) order = order.slice(0, topK);
  const max = logits[order[0]!]!;
  let probs = order.map((i) => Math.exp((logits[i]! - max) / temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let cumulative = 0;
    let keepCount = 0;
    while (keepCount < probs.length && cumulative < topP * total) cumulative += probs[keepCount++]!;
    order = order.slice(0, keepCount);
    probs = probs.slice(0, keepCount);
    total = cumulative;
  }
  let r = rng.uniform() * total;
  for (let j = 0; j < order.length; j++) {
    r -= probs[j]!;
    if (r <= 0) return order[j]!;
  }
  return order[order.length - 1]!;
}
