/**
 * The optimizer base: parameter groups (each may override lr and weight decay), zeroGrad, and a
 * state that can be saved and restored exactly (moments read back as float32, step counters).
 */
import { ValueError, WgradError } from '../errors.js';
import { keep } from '../tensor/scope.js';
import { tensor, zeros } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from '../nn/module.js';
import { parameterGroups } from './groups.js';
import { gradNormScale } from './clip.js';

/** Parameters that share a learning rate and a weight decay. */
export interface ParamGroup {
  params: Tensor[];
  /** Names for the state dict (default: the parameters' positions). */
  names?: string[];
  lr?: number;
  weightDecay?: number;
}

/** An optimizer's state as plain data: step count and per-parameter buffers (moments), by parameter name. */
export interface OptimizerState {
  step: number;
  /** Per parameter name: its state buffers (moments) as float32 arrays. */
  buffers: Record<string, Record<string, Float32Array>>;
}

/** Settings every optimizer takes. */
export interface OptimizerOptions {
  lr?: number;
  weightDecay?: number;
  /**
   * Clip by global norm before each update: gradients are scaled by min(1, maxGradNorm / ‖g‖), ‖g‖
   * the L2 norm of all gradients together (as PyTorch's clip_grad_norm_). The scale is applied inside
   * the update kernel. 0 or undefined: no clipping.
   */
  maxGradNorm?: number;
}

/** The base of AdamW and SGD: parameter groups, stepping, zeroGrad, and a state that saves and restores exactly. */
export abstract class Optimizer {
  readonly groups: ParamGroup[];
  /** Learning rate of groups that do not set their own; schedules set it every step. */
  lr: number;
  /** Clip-by-global-norm threshold (0: off); see {@link OptimizerOptions.maxGradNorm}. */
  maxGradNorm: number;
  /** Updates applied so far (AdamW's bias correction uses it). */
  steps = 0;
  protected readonly buffers = new Map<Tensor, Record<string, Tensor>>();
  /** The gradient scale the update kernels read when nothing is clipped: 1. */
  private unitScale: Tensor | null = null;

  constructor(params: Module | Tensor[] | ParamGroup[], lr: number, weightDecay: number, maxGradNorm = 0) {
    checkNumber('lr', lr);
    checkMaxGradNorm(maxGradNorm);
    this.lr = lr;
    this.maxGradNorm = maxGradNorm;
    this.groups = params instanceof Module
      ? parameterGroups(params, weightDecay)
      : isTensorList(params) ? [{ params, weightDecay }] : params.map((g) => ({ weightDecay, ...g }));
  }

  /** Apply one update to every parameter that has a gradient (clipped first if maxGradNorm is set). */
  step(): void {
    checkNumber('lr', this.lr);
    checkMaxGradNorm(this.maxGradNorm);
    for (const group of this.groups) checkNumber('lr', group.lr ?? this.lr);
    const withGrad = this.groups.flatMap((g) => g.params.filter((p) => p.grad));
    if (withGrad.length === 0) return;
    this.steps++;
    const clip = this.maxGradNorm > 0 ? gradNormScale(withGrad.map((p) => p.grad!), this.maxGradNorm) : null;
    const scale = clip?.scale ?? (this.unitScale ??= keep(tensor([1], [], { device: withGrad[0]!.device })));
    for (const group of this.groups) {
      const lr = group.lr ?? this.lr;
      for (const p of group.params) {
        if (p.grad) this.update(p, p.grad, lr, group.weightDecay ?? 0, scale);
      }
    }
    clip?.norm.dispose();
    clip?.scale.dispose();
  }

  /** Apply one update to `param` given its gradient and the rank-0 scale to multiply it by (each optimizer's kernel). */
  protected abstract update(param: Tensor, grad: Tensor, lr: number, weightDecay: number, gradScale: Tensor): void;

  /** A named state buffer of a parameter, created as zeros on first use. */
  protected buffer(param: Tensor, name: string): Tensor {
    let state = this.buffers.get(param);
    if (!state) this.buffers.set(param, (state = {}));
    return (state[name] ??= keep(zeros(param.shape, { device: param.device })));
  }

  /** Drop the gradients of every parameter the optimizer updates. */
  zeroGrad(): void {
    for (const group of this.groups) {
      for (const p of group.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** The state (moments read back from the GPU as float32) for a checkpoint. */
  async stateDict(): Promise<OptimizerState> {
    const buffers: OptimizerState['buffers'] = {};
    for (const [name, p] of this.named()) {
      const state = this.buffers.get(p);
      if (!state) continue;
      buffers[name] = {};
      for (const [key, t] of Object.entries(state)) buffers[name][key] = (await t.toArray()) as Float32Array;
    }
    return { step: this.steps, buffers };
  }

  /** Restore a state from stateDict(); parameter names and sizes must match. */
  loadStateDict(state: OptimizerState): void {
    const named = new Map(this.named());
    for (const [name, bufs] of Object.entries(state.buffers)) {
      const p = named.get(name);
      if (!p) throw new WgradError('loadStateDict', `the saved state has parameter '${name}', which this optimizer does not`, 'load the state into an optimizer built over the same parameters');
      for (const [key, values] of Object.entries(bufs)) {
        if (values.length !== p.size) throw new WgradError('loadStateDict', `state '${key}' of '${name}' has ${values.length} values, the parameter ${p.size}`, 'the saved state belongs to a model of another shape');
        const old = this.buffers.get(p)?.[key];
        old?.dispose();
        const state = this.buffers.get(p) ?? {};
        state[key] = keep(tensor(values, p.shape, { device: p.device }));
        this.buffers.set(p, state);
      }
    }
    this.steps = state.step;
  }

  /** Free the optimizer's state buffers. */
  dispose(): void {
    for (const state of this.buffers.values()) for (const t of Object.values(state)) t.dispose();
    this.buffers.clear();
    this.unitScale?.dispose();
    this.unitScale = null;
  }

  private named(): [string, Tensor][] {
    let index = 0;
    return this.groups.flatMap((g) => g.params.map((p, i): [string, Tensor] => [g.names?.[i] ?? String(index++), p]));
  }
}

export function checkNumber(name: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new ValueError('optimizer', `${name} is ${value}`, `set ${name} to a finite number (check the learning-rate schedule)`);
  }
}

function checkMaxGradNorm(value: number): void {
  if (!(value >= 0 && Number.isFinite(value))) {
    throw new ValueError('optimizer', `maxGradNorm is ${value}`, 'use a positive norm to clip to, or 0 for no clipping');
  }
}

function isTensorList(x: Tensor[] | ParamGroup[]): x is Tensor[] {
  return x.length === 0 || !('params' in (x[0] as object));
}
