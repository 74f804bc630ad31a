/** SGD with momentum (PyTorch's form: dampening 0, weight decay added to the gradient). */
import { launch } from '../tensor/launch.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { Optimizer, checkNumber, type OptimizerOptions, type ParamGroup } from './optimizer.js';

export class SGD extends Optimizer {
  readonly momentum: number;

  constructor(params: Module | Tensor[] | ParamGroup[], options: OptimizerOptions & { momentum?: number } = {}) {
    super(params, options.lr ?? 1e-2, options.weightDecay ?? 0, options.maxGradNorm);
    this.momentum = options.momentum ?? 0;
    checkNumber('momentum', this.momentum);
  }

  protected update(param: Tensor, grad: Tensor, lr: number, weightDecay: number, gradScale: Tensor): void {
    const first = !this.buffers.get(param)?.momentum;
    const momentum = this.buffer(param, 'momentum');
    launch('SGD', 'sgd_step', {
      bindings: { grad, param, momentum, clip_scale: gradScale },
      uniforms: { n: param.size, lr, momentum_factor: this.momentum, weight_decay: weightDecay, first_step: first ? 1 : 0 },
      threads: param.size,
    });
  }
}
