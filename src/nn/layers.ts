/** The basic layers: Linear, Embedding, LayerNorm, Dropout, GELU. */
import type { Device } from '../gpu/device.js';
import { dropout } from '../ops/dropout.js';
import { gelu } from '../ops/elementwise.js';
import { gather } from '../ops/layout.js';
import { layerNorm } from '../ops/layernorm.js';
import { matmul } from '../ops/matmul.js';
import { ShapeError, fmtShape } from '../errors.js';
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

/** A lookup table of `num` rows of width `dim`, initialised N(0, std²) (std 1 as PyTorch by default). */
export class Embedding extends Module {
  constructor(readonly num: number, readonly dim: number, options: LayerOptions & { std?: number } = {}) {
    super();
    const rng = options.rng ?? new Rng(0);
    const std = options.std ?? 1;
    this.param('weight', tensor(Float32Array.from({ length: num * dim }, () => rng.normal() * std), [num, dim], { device: options.device }));
  }

  get weight(): Tensor {
    return this.paramOrNull('weight')!;
  }

  /** indices: int32 of any shape → (...indices.shape, dim). */
  forward(indices: Tensor): Tensor {
    return gather(this.weight, indices);
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
