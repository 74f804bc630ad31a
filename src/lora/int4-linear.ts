/**
 * QLoRA's base: GPT-2's Conv1D with its weight held in 4 bits (NF4 or Q4_0, src/quant/) and run
 * through the fused int4 matmul, whose backward reaches the input (and the bias) but never the
 * quantized weight. The layer is frozen by construction: the weight is not a parameter, and the
 * bias, kept in float32, is registered frozen.
 *
 * Conv1D stores W as (in, out); the int4 kernels take [N, K] = [out, in] rows, so the weight is
 * transposed once before quantization.
 */
import { gelu } from '../ops/elementwise.js';
import { transpose } from '../ops/layout.js';
import { noGrad } from '../autograd/tape.js';
import type { Tensor } from '../tensor/tensor.js';
import { Conv1D, type LinearLayer } from '../nn/gpt.js';
import { Module } from '../nn/module.js';
import { int4Matmul, quantize, type QuantFormat, type QuantizedTensor } from '../quant/index.js';
import { linearLayers } from './adapters.js';
import { LoraLinear, ownParameter } from './lora-linear.js';

export class Int4Conv1D extends Module implements LinearLayer {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** [out, in] in 4 bits. */
  readonly weight: QuantizedTensor;

  /** Quantizes `conv`'s weight and shares its bias; `conv` is left as it was (dispose it to free the float32 weight). */
  constructor(conv: Conv1D, format: QuantFormat) {
    super();
    this.inFeatures = conv.inFeatures;
    this.outFeatures = conv.outFeatures;
    this.weight = noGrad(() => {
      const wt = transpose(ownParameter(conv, 'weight')); // (out, in)
      const q = quantize(wt, format);
      wt.dispose();
      return q;
    });
    const bias = conv.namedParameters().find(([n]) => n === 'bias')?.[1];
    if (bias) this.param('bias', bias.view());
    for (const p of this.parameters()) p.requiresGrad = false;
  }

  /** The quantized weight's elements, which are not parameters but count in the model's size. */
  get frozenElements(): number {
    return this.inFeatures * this.outFeatures;
  }

  /** GPU bytes of the quantized weight (packed nibbles and scales). */
  get weightBytes(): number {
    return this.weight.byteSize;
  }

  /** x·W + b through the fused int4 matmul, then the activation. */
  forward(x: Tensor, activation?: 'gelu'): Tensor {
    const y = int4Matmul(x, this.weight, this.paramOrNull('bias') ?? undefined);
    return activation === 'gelu' ? gelu(y) : y;
  }

  override dispose(): void {
    this.weight.dispose();
    super.dispose();
  }
}

/**
 * Quantize every float32 linear layer of a model in place (wrapped by LoRA or not), disposing each
 * float32 weight as soon as its int4 copy exists, so the peak holds one layer in both forms.
 * Returns the GPU bytes of the int4 weights and of the float32 weights they replaced.
 */
export function quantizeLinearLayers(model: Module, format: QuantFormat): { int4Bytes: number; float32Bytes: number } {
  let int4Bytes = 0;
  let float32Bytes = 0;
  for (const [path, layer] of linearLayers(model)) {
    const holder = layer instanceof LoraLinear ? layer : null;
    const conv = holder ? holder.base : layer;
    if (!(conv instanceof Conv1D)) continue;
    const q = new Int4Conv1D(conv, format);
    if (holder) holder.replaceBase(q);
    else model.replaceModule(path, q);
    float32Bytes += 4 * conv.inFeatures * conv.outFeatures;
    int4Bytes += q.weightBytes;
    conv.dispose(); // the int4 layer's bias is a view: its storage lives on
  }
  return { int4Bytes, float32Bytes };
}
