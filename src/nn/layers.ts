/** The basic layers: Linear, Embedding, LayerNorm, Dropout, GELU. */
import type { Device } from '../gpu/device.js';
import { dropout } from '../ops/dropout.js';
import { add, gelu } from '../ops/elementwise.js';
import { concat, gather } from '../ops/layout.js';
import { layerNorm } from '../ops/layernorm.js';
import { matmul } from '../ops/matmul.js';
import { LimitError, ShapeError, fmtShape } from '../errors.js';
import { defaultDevice } from '../gpu/default-device.js';
import { ones, tensor, zeros } from '../tensor/create.js';
import { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

/** Where a layer's parameters live and which generator initialises them. */
export interface LayerOptions {
  device?: Device;
  /** Generator for the initial weights (default: seeded with 0). */
  rng?: Rng;
}

/** Values drawn from U(-bound, bound). */
function uniform(shape: number[], bound: number, rng: Rng, device?: Device): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor(Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound), shape, { device });
}

/** y = x·Wᵀ + b, with W of shape (out, in) as in PyTorch; initialised U(±1/√in) as PyTorch. */
export class Linear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: LayerOptions & { bias?: boolean } = {}) {
    super();
    const rng = options.rng ?? new Rng(0);
    const bound = 1 / Math.sqrt(inFeatures);
    this.param('weight', uniform([outFeatures, inFeatures], bound, rng, options.device));
    if (options.bias !== false) this.param('bias', uniform([outFeatures], bound, rng, options.device));
  }

  get weight(): Tensor {
    return this.paramOrNull('weight')!;
  }

  get bias(): Tensor | null {
    return this.paramOrNull('bias');
  }

  /** x·Wᵀ + b over the last dimension of x. */
  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError('Linear', `input ${fmtShape(x.shape)} does not end in in_features = ${this.inFeatures}`, 'the last dimension of the input must equal the layer\'s in_features');
    }
    return matmul(x, this.weight, { transB: true, bias: this.bias ?? undefined });
  }
}

/** Rows [first, first + rows) of a table split into shards. */
export interface RowShard {
  readonly first: number;
  readonly rows: number;
}

/** The parameter name of the shard of `name` whose first row is `first`: `weight#50000`. */
export function shardName(name: string, first: number): string {
  return `${name}#${first}`;
}

/** The table name and first row of a shard's parameter name, or null for a whole parameter. */
export function parseShardName(name: string): { name: string; first: number } | null {
  const m = /^(.*)#(\d+)$/.exec(name);
  return m ? { name: m[1]!, first: Number(m[2]) } : null;
}

/**
 * A lookup table of `num` rows of width `dim`, initialised N(0, std²) (std 1 as PyTorch by default;
 * zeros, without drawing, for std 0).
 * A table larger than the device binds in one buffer (GPT-2's 50,257 × 768 token embedding is 147 MiB;
 * lavapipe and many browsers bind 128 MiB) is held as row shards, parameters `weight#<first row>`,
 * each gathered from with its first row; checkpoints store the whole table as `weight`.
 */
export class Embedding extends Module {
  /** The row ranges of the table's parameters: one range unless it is sharded. */
  readonly shards: readonly RowShard[];

  constructor(readonly num: number, readonly dim: number, options: LayerOptions & { std?: number; maxShardRows?: number } = {}) {
    super();
    const rng = options.rng ?? new Rng(0);
    const std = options.std ?? 1;
    const device = options.device ?? defaultDevice('Embedding');
    // Whole groups of 4 rows: the LM head's matmul packs a shard's rows in 4s, and a padded copy of
    // a shard that fills the binding would not fit it.
    const fit = Math.floor(device.maxBindingBytes / (4 * dim));
    const perShard = Math.min(options.maxShardRows ?? Infinity, fit >= 4 ? fit - (fit % 4) : fit);
    if (perShard < 1) throw new LimitError('Embedding', `one row of ${dim} floats is more than this device binds (${device.maxBindingBytes} bytes)`, 'use a smaller embedding width');
    const shards: RowShard[] = [];
    for (let first = 0; first < num; first += perShard) shards.push({ first, rows: Math.min(perShard, num - first) });
    this.shards = shards;
    for (const { first, rows } of shards) {
      // Row by row in order, so a sharded table holds the values of the whole one from the same seed.
      const values = std === 0 ? null : Float32Array.from({ length: rows * dim }, () => rng.normal() * std);
      this.param(this.paramName(first), values ? tensor(values, [rows, dim], { device }) : zeros([rows, dim], { device }));
    }
  }

  /** The whole table; a sharded one has no single tensor (use forward and project). */
  get weight(): Tensor {
    const w = this.paramOrNull('weight');
    if (!w) throw new LimitError('Embedding', `the ${this.num} × ${this.dim} table is split into ${this.shards.length} shards to fit the device's bindings`, 'use forward() and project(), which work shard by shard');
    return w;
  }

  /** indices: int32 of any shape → (...indices.shape, dim). */
  forward(indices: Tensor): Tensor {
    // Each index falls in one shard; the others give zero rows.
    return this.tables()
      .map(({ first, table }) => gather(table, indices, { first }))
      .reduce((sum, rows) => add(sum, rows));
  }

  /** x·tableᵀ: scores of every row for x (…, dim) → (…, num); GPT's LM head, tied to the token embedding. */
  project(x: Tensor): Tensor {
    const scores = this.tables().map(({ table }) => matmul(x, table, { transB: true }));
    return scores.length === 1 ? scores[0]! : concat(scores, x.rank - 1);
  }

  /** Each shard's first row and tensor (the whole table is one shard starting at row 0). */
  private tables(): { first: number; table: Tensor }[] {
    return this.shards.map(({ first }) => ({ first, table: this.paramOrNull(this.paramName(first))! }));
  }

  /** The parameter holding the shard that starts at row `first`: `weight` when the table is whole. */
  private paramName(first: number): string {
    return this.shards.length === 1 ? 'weight' : shardName('weight', first);
  }
}

/** Layer normalisation over the last dimension, with learnable scale and (optionally) shift. */
export class LayerNorm extends Module {
  constructor(readonly dim: number, readonly options: { device?: Device; eps?: number; bias?: boolean } = {}) {
    super();
    this.param('weight', ones([dim], { device: options.device }));
    if (options.bias !== false) this.param('bias', zeros([dim], { device: options.device }));
  }

  /** Normalise the last dimension to zero mean and unit variance, then scale and shift. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.paramOrNull('weight'), this.paramOrNull('bias'), this.options.eps ?? 1e-5);
  }
}

/** Inverted dropout in training mode, identity in eval mode; masks come from a seeded generator. */
export class Dropout extends Module {
  private readonly rng: Rng;

  constructor(readonly p: number, options: { seed?: number } = {}) {
    super();
    this.rng = new Rng(options.seed ?? 0);
  }

  /** In training, zero each element with probability p and scale the rest by 1/(1−p); in eval, x unchanged. */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, this.rng.nextU32());
  }

  /** The generator's state, for checkpoints that resume exactly. */
  get rngState(): number[] {
    return this.rng.state;
  }

  set rngState(s: number[]) {
    this.rng.state = s;
  }
}

export class GELU extends Module {
  /** GELU (tanh approximation) elementwise. */
  forward(x: Tensor): Tensor {
    return gelu(x);
  }
}
