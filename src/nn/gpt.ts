/**
 * GPT-2: token and learned position embeddings, pre-LayerNorm blocks with fused causal attention and
 * a 4× GELU MLP, a final LayerNorm, and an LM head tied to the token embedding. Parameter names and
 * layouts are Hugging Face GPT-2's (`transformer.h.0.attn.c_attn.weight`, linear weights stored
 * (in, out) as its Conv1D), so checkpoints map onto `GPT2LMHeadModel` one to one.
 */
import type { Device } from '../gpu/device.js';
import { ValueError } from '../errors.js';
import { add, div, mul } from '../ops/elementwise.js';
import { concat, permute, slice } from '../ops/layout.js';
import { matmul } from '../ops/matmul.js';
import { attention, multiHeadAttention } from '../ops/attention.js';
import { crossEntropy } from '../ops/cross-entropy.js';
import { dropout } from '../ops/dropout.js';
import { arange, tensor, zeros } from '../tensor/create.js';
import { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Embedding, LayerNorm } from './layers.js';
import { Module, ModuleDict } from './module.js';

/** A GPT-2-style model's shape: vocabulary, context length, layers, heads, width, dropout, biases. */
export interface GPTConfig {
  vocabSize: number;
  /** Context length (GPT-2's n_positions, nanoGPT's block_size). */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  dropout: number;
  /** Biases in linear layers and LayerNorms (GPT-2 has them). */
  bias: boolean;
}

/** Checks a configuration and says what is wrong with it. */
export function validateConfig(c: GPTConfig): void {
  for (const key of ['vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd'] as const) {
    if (!Number.isInteger(c[key]) || c[key] <= 0) throw new ValueError('GPTConfig', `${key} = ${c[key]} is not a positive integer`, `set ${key} to a whole number ≥ 1`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new ValueError('GPTConfig', `nEmbd = ${c.nEmbd} is not divisible by nHead = ${c.nHead}`, 'choose nEmbd as a multiple of nHead (each head gets nEmbd / nHead dimensions)');
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new ValueError('GPTConfig', `dropout = ${c.dropout} is outside [0, 1)`, 'use a probability such as 0 or 0.1');
}

interface Init {
  device?: Device;
  rng: Rng;
  /** GPT-2's initialisation scale, 0.02; 0 for zeros. */
  std: number;
}

/** GPT-2's Conv1D: y = x·W + b with W stored (in, out), initialised N(0, std²) (zeros, without drawing, for std 0). */
export class Conv1D extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias: boolean, std: number, init: Pick<Init, 'device' | 'rng'>) {
    super();
    const shape = [inFeatures, outFeatures];
    const n = inFeatures * outFeatures;
    this.param('weight', std === 0 ? zeros(shape, { device: init.device }) : tensor(Float32Array.from({ length: n }, () => init.rng.normal() * std), shape, { device: init.device }));
    if (bias) this.param('bias', zeros([outFeatures], { device: init.device }));
  }

  /** x·W + b, then the activation when one is given. */
  forward(x: Tensor, activation?: 'gelu'): Tensor {
    return matmul(x, this.paramOrNull('weight')!, { bias: this.paramOrNull('bias') ?? undefined, activation });
  }
}

/** What a block calls its linear layers through: Conv1D, or a module that replaced it (LoRA, int4). */
export interface LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  forward(x: Tensor, activation?: 'gelu'): Tensor;
}

/** Keys and values of one layer for the positions processed so far: (B, nh, t, hs) each. */
export interface LayerCache {
  k: Tensor | null;
  v: Tensor | null;
}

class Block extends Module {
  private readonly ln1: LayerNorm;
  private readonly ln2: LayerNorm;

  constructor(private readonly c: GPTConfig, init: Init, private readonly drop: (x: Tensor) => Tensor) {
    super();
    // GPT-2 scales the init of projections into the residual stream by 1/√(2·n_layer).
    const residualStd = init.std / Math.sqrt(2 * c.nLayer);
    this.ln1 = this.module('ln_1', new LayerNorm(c.nEmbd, { device: init.device, bias: c.bias }));
    const attn = this.module('attn', new ModuleDict());
    attn.set('c_attn', new Conv1D(c.nEmbd, 3 * c.nEmbd, c.bias, init.std, init));
    attn.set('c_proj', new Conv1D(c.nEmbd, c.nEmbd, c.bias, residualStd, init));
    this.ln2 = this.module('ln_2', new LayerNorm(c.nEmbd, { device: init.device, bias: c.bias }));
    const mlp = this.module('mlp', new ModuleDict());
    mlp.set('c_fc', new Conv1D(c.nEmbd, 4 * c.nEmbd, c.bias, init.std, init));
    mlp.set('c_proj', new Conv1D(4 * c.nEmbd, c.nEmbd, c.bias, residualStd, init));
  }

  /** A linear layer, looked up at each call: LoRA and int4 replace them in the module tree. */
  private linear(path: string): LinearLayer {
    return this.getModule(path) as unknown as LinearLayer;
  }

  /** x: (B, T, C). With a cache, the T positions follow the cached ones and are appended to it. */
  forward(x: Tensor, cache?: LayerCache): Tensor {
    const { nHead } = this.c;
    const qkv = this.linear('attn.c_attn').forward(this.ln1.forward(x)); // (B, T, 3C): q, k, v side by side, one shared projection
    const merged = cache ? this.cachedAttention(qkv, cache) : multiHeadAttention(qkv, nHead, { causal: true }); // (B, T, C)
    x = add(x, this.drop(this.linear('attn.c_proj').forward(merged)));
    const h = this.linear('mlp.c_fc').forward(this.ln2.forward(x), 'gelu'); // (B, T, 4C)
    return add(x, this.drop(this.linear('mlp.c_proj').forward(h)));
  }

  /** Attention over the cached keys and values plus these T positions, which join the cache. */
  private cachedAttention(qkv: Tensor, cache: LayerCache): Tensor {
    const { nHead, nEmbd } = this.c;
    const [B, T] = [qkv.shape[0]!, qkv.shape[1]!];
    const head = (part: number) => permute(slice(qkv, 2, part * nEmbd, (part + 1) * nEmbd).reshape([B, T, nHead, nEmbd / nHead]), [0, 2, 1, 3]); // (B, nh, T, hs)
    const q = head(0);
    let k = head(1);
    let v = head(2);
    if (cache.k && cache.v) {
      k = concat([cache.k, k], 2); // (B, nh, past + T, hs)
      v = concat([cache.v, v], 2);
    }
    cache.k = k;
    cache.v = v;
    const y = attention(q, k, v, { causal: true }); // (B, nh, T, hs)
    return permute(y, [0, 2, 1, 3]).reshape([B, T, nEmbd]);
  }
}

export class GPT extends Module {
  readonly config: GPTConfig;
  private readonly wte: Embedding;
  private readonly wpe: Embedding;
  private readonly blocks: Block[] = [];
  private readonly lnF: LayerNorm;
  private readonly dropoutRng: Rng;
  private readonly drop: (x: Tensor) => Tensor;

  /**
   * `embeddingShardRows` caps the rows per shard of the token embedding (default: as many as one
   * binding holds; see Embedding), for tests of the sharded path on small models. `randomInit: false`
   * allocates zeros instead of drawing GPT-2's initialisation: for weights about to be loaded (drawing
   * GPT-2 small's 124M values takes ~15 s here).
   */
  constructor(config: GPTConfig, options: { device?: Device; seed?: number; embeddingShardRows?: number; randomInit?: boolean } = {}) {
    super();
    validateConfig(config);
    this.config = { ...config };
    const seed = options.seed ?? 0;
    const init: Init = { device: options.device, rng: new Rng(seed), std: options.randomInit === false ? 0 : 0.02 };
    this.dropoutRng = new Rng(seed ^ 0x5eed);
    const drop = (x: Tensor) => (this.training && config.dropout > 0 ? dropout(x, config.dropout, this.dropoutRng.nextU32()) : x);
    const transformer = this.module('transformer', new ModuleDict());
    this.wte = transformer.set('wte', new Embedding(config.vocabSize, config.nEmbd, { device: options.device, rng: init.rng, std: init.std, maxShardRows: options.embeddingShardRows }));
    this.wpe = transformer.set('wpe', new Embedding(config.blockSize, config.nEmbd, { device: options.device, rng: init.rng, std: init.std }));
    const h = transformer.set('h', new ModuleDict());
    for (let i = 0; i < config.nLayer; i++) this.blocks.push(h.set(String(i), new Block(config, init, drop)));
    this.lnF = transformer.set('ln_f', new LayerNorm(config.nEmbd, { device: options.device, bias: config.bias }));
    this.drop = drop;
  }

  /**
   * idx: int32 (B, T) token ids → logits (B, T, vocab). With `targets` (B, T), also the mean
   * cross-entropy loss. With `caches` (one per layer), the positions follow the cached ones. With
   * `lastOnly`, logits of the last position only, (B, 1, vocab): what generation samples from,
   * without the prompt's (T, vocab) scores.
   */
  forward(idx: Tensor, targets?: Tensor, caches?: LayerCache[], { lastOnly = false }: { lastOnly?: boolean } = {}): { logits: Tensor; loss: Tensor | null } {
    let x = this.hidden(idx, caches);
    if (lastOnly) x = slice(x, 1, x.shape[1]! - 1);
    const logits = this.wte.project(x); // (B, T, vocab): the head is tied to the token embedding
    const loss = targets ? crossEntropy(logits.reshape([logits.size / this.config.vocabSize, this.config.vocabSize]), targets.reshape([targets.size])) : null;
    return { logits, loss };
  }

  /**
   * The mean cross-entropy of predicting `targets` (B, T) from `idx` (B, T), as forward()'s loss, but
   * with the logits made and dropped in row chunks that each fit one binding: a large vocabulary over
   * a long context (GPT-2's 1,024 × 50,257 scores are 196 MiB) needs no buffer that large.
   * `chunkRows` caps the rows per chunk (default: as many as one binding holds), for tests.
   */
  loss(idx: Tensor, targets: Tensor, { chunkRows = Infinity }: { chunkRows?: number } = {}): Tensor {
    const { vocabSize, nEmbd } = this.config;
    const rows = idx.size;
    const perChunk = Math.max(1, Math.min(chunkRows, Math.floor(idx.device.maxBindingBytes / (4 * vocabSize))));
    if (rows <= perChunk) return this.forward(idx, targets).loss!;
    const x = this.hidden(idx).reshape([rows, nEmbd]);
    const y = targets.reshape([rows]);
    let total: Tensor | null = null;
    for (let r0 = 0; r0 < rows; r0 += perChunk) {
      const r1 = Math.min(rows, r0 + perChunk);
      const part = mul(crossEntropy(this.wte.project(slice(x, 0, r0, r1)), slice(y, 0, r0, r1)), r1 - r0);
      total = total ? add(total, part) : part;
    }
    return div(total!, rows);
  }

  /** The final hidden states (B, T, C): embeddings, the blocks, and the last LayerNorm. */
  private hidden(idx: Tensor, caches?: LayerCache[]): Tensor {
    const T = idx.shape[1]!;
    const past = caches?.[0]?.k?.shape[2] ?? 0;
    if (past + T > this.config.blockSize) {
      throw new ValueError('GPT', `a sequence of ${past + T} positions exceeds the context of ${this.config.blockSize}`, 'crop the input to the last blockSize tokens');
    }
    const pos = arange(past, past + T, 1, { device: idx.device, dtype: 'int32' });
    let x = this.drop(add(this.wte.forward(idx), this.wpe.forward(pos))); // (B, T, C)
    this.blocks.forEach((block, i) => (x = block.forward(x, caches?.[i])));
    return this.lnF.forward(x);
  }

  /** The dropout generator's state, saved in checkpoints so that resumed training is identical. */
  get rngState(): number[] {
    return this.dropoutRng.state;
  }

  set rngState(s: number[]) {
    this.dropoutRng.state = s;
  }
}
