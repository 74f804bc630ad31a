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
export { attention, composedAttention, multiHeadAttention, type AttentionOptions } from './ops/attention.js';
export { dropout } from './ops/dropout.js';
export { Module, ModuleDict } from './nn/module.js';
export { Linear, Embedding, LayerNorm, Dropout, GELU } from './nn/layers.js';
export { GPT, type GPTConfig, type LayerCache } from './nn/gpt.js';
export { Optimizer, type OptimizerOptions, type ParamGroup, type OptimizerState } from './optim/optimizer.js';
export { AdamW, type AdamWOptions } from './optim/adamw.js';
export { SGD } from './optim/sgd.js';
export { clipGradNorm } from './optim/clip.js';
export { parameterGroups } from './optim/groups.js';
export { constant, warmupCosine, type Schedule } from './optim/schedule.js';
export * from './errors.js';
export { backward, noGrad, isGradEnabled, registerGradient, gradcheck, GradcheckError } from './autograd/index.js';
export type { GradientRule, BackwardContext, SaveContext, GradcheckCase, GradcheckOptions, GradcheckReport } from './autograd/index.js';
/** The float64 oracle of every kernel and op (`reference.NDArray` arrays), for tests, gradcheck and benchmarks. */
export * as reference from './reference/index.js';
export { launch, type LaunchArgs } from './tensor/launch.js';
export { record, type OpRecord } from './tensor/record.js';
export type { Overrides, KernelInfo, StorageBinding, UniformField } from './gpu/registry.js';
export type { DeviceOptions } from './gpu/device.js';
export type { NestedArray } from './tensor/create.js';
export type { Disposable } from './tensor/scope.js';
export type { Axes } from './ops/reduce.js';
export type { LayerOptions, RowShard } from './nn/layers.js';
export type { SafetensorsData } from './io/safetensors.js';
export * from './data/index.js';
export { encodeSafetensors, decodeSafetensors, toFloat32Array, toInt32Array, SafetensorsError, type SafetensorsInput, type SafetensorsTensor, type DecodedSafetensors, type SafetensorsDType } from './io/safetensors.js';
export { checkpointFiles, checkpointFromFiles, checkFitsDevice, gptConfigFromJSON, gpt2Config, loadWeights, modelSafetensors, type Checkpoint, type CheckpointParts } from './io/model-files.js';
export { checkpointFilesFromHF, hfFilesFromCheckpoint, gpt2ParameterShapes, WGRAD_TOKENIZER_FILE } from './io/hf.js';
export { PRESETS, resolveConfig, modelConfig, type TrainConfig } from './train/config.js';
export { Trainer, type StepInfo, type TrainState } from './train/trainer.js';
export { evaluateText } from './train/evaluate.js';
export { generate, sampleToken, type SampleOptions } from './train/generate.js';
export * from './lora/index.js';
export { ADAPTER_CONFIG, ADAPTER_WEIGHTS, encodeAdapter, decodeAdapter, parseAdapterConfig, type PeftLoraConfig, type AdapterMeta } from './io/peft.js';
export { quantizedToSafetensors, quantizedFromSafetensors } from './io/quant-files.js';
export { QuantizedTensor, quantize, quantizeChecked, int4Matmul, int4MatmulDx, toQ4_0Bytes, fromQ4_0Bytes, toNF4Bytes, fromNF4Bytes, codesToWords, wordsToCodes, BLOCK_SIZE, NF4_TABLE, Q4_0_BLOCK_BYTES, type QuantFormat, type QuantBlocks, type QuantPart, type PartOptions } from './quant/index.js';
