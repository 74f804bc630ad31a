/**
 * wgrad: a tensor engine for WebGPU. This module is platform-neutral: in a browser it uses
 * `navigator.gpu`; in Node, `init()` loads Dawn from the `webgpu` package.
 */
import './ops/methods.js';
import './autograd/index.js';
import { init as acquire, type InitOptions } from './gpu/acquire.js';
import type { Device } from './gpu/device.js';
import { forgetDevice, useDevice } from './gpu/default-device.js';

/**
 * Acquire a new WebGPU device. It also becomes the device that creation functions use when no
 * `{ device }` is passed (until the next init(), or until it is destroyed).
 */
export async function init(options: InitOptions = {}): Promise<Device> {
  const device = await acquire(options);
  useDevice(device);
  device.onDestroy = () => forgetDevice(device);
  return device;
}

export type { InitOptions };
export { Device, type MemoryInfo } from './gpu/device.js';
export { useDevice } from './gpu/default-device.js';
export { Tensor } from './tensor/tensor.js';
export type { DType } from './tensor/dtype.js';
export type { Shape } from './tensor/shape.js';
export { Rng } from './tensor/random.js';
export { scope, keep } from './tensor/scope.js';
export { tensor, zeros, ones, full, arange, rand, randn, type CreateOptions, type RandomOptions } from './tensor/create.js';
export * from './ops/elementwise.js';
export { permute, transpose, slice, concat, broadcastTo, gather } from './ops/layout.js';
export { sum, mean, max, argmax } from './ops/reduce.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { matmul, type MatmulOptions } from './ops/matmul.js';
export { layerNorm, composedLayerNorm } from './ops/layernorm.js';
export { crossEntropy, composedCrossEntropy, type CrossEntropyOptions, type Reduction } from './ops/cross-entropy.js';
export { attention, composedAttention, type AttentionOptions } from './ops/attention.js';
export { dropout } from './ops/dropout.js';
export { Module, ModuleDict } from './nn/module.js';
export { Linear, Embedding, LayerNorm, Dropout, GELU } from './nn/layers.js';
export { GPT, type GPTConfig, type LayerCache } from './nn/gpt.js';
export { Optimizer, type ParamGroup, type OptimizerState } from './optim/optimizer.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { SGD } from './optim/sgd.js';
export { clipGradNorm } from './optim/clip.js';
export { parameterGroups } from './optim/groups.js';
export { constant, warmupCosine, type Schedule } from './optim/schedule.js';
export * from './errors.js';
export { backward, noGrad, isGradEnabled, registerGradient, gradcheck, GradcheckError } from './autograd/index.js';
export type { GradientRule, BackwardContext, SaveContext, GradcheckCase, GradcheckOptions, GradcheckReport } from './autograd/index.js';
export * as reference from './reference/index.js';
