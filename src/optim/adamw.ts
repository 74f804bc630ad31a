/** AdamW (decoupled weight decay, bias correction) with a fused update kernel per parameter. */
import { launch } from '../tensor/launch.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { Optimizer, checkNumber, type OptimizerOptions, type ParamGroup } from './optimizer.js';

/** Hyper-parameters of AdamW (PyTorch's defaults unless given). */
export interface AdamWOptions extends OptimizerOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export class AdamW extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;

  constructor(params: Module | Tensor[] | ParamGroup[], options: AdamWOptions = {}) {
    super(params, options.lr ?? 1e-3, options.weightDecay ?? 0.01, options.maxGradNorm);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    for (const [name, v] of [['beta1', this.beta1], ['beta2', this.beta2], ['eps', this.eps]] as const) checkNumber(name, v);
  }

  protected update(param: Tensor, grad: Tensor, lr: number, weightDecay: number, gradScale: Tensor): void {
    const m = this.buffer(param, 'm');
    const v = this.buffer(param, 'v');
    launch('AdamW', 'adamw_step', {
      bindings: { grad, param, m, v, clip_scale: gradScale },
      uniforms: {
        n: param.size,
        lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weight_decay: weightDecay,
        bias_correction1: 1 - this.beta1 ** this.steps,
        bias_correction2: 1 - this.beta2 ** this.steps,
      },
      threads: param.size,
    });
  }
}
