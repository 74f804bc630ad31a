/**
 * Gradient rule of int4Matmul (src/quant/ops.ts): y = x · dequant(W)ᵀ + bias. dX = dY · dequant(W),
 * computed by the fused kernel without expanding W; the bias gradient is dY itself, which the tape sums
 * to [N]. The quantized weight is an attribute, not an input: it gets no gradient (QLoRA's frozen base).
 */
import { AutogradError } from '../errors.js';
import { registerGradient } from '../autograd/registry.js';
import { int4MatmulDx } from './ops.js';
import { QuantizedTensor } from './quantized-tensor.js';

registerGradient('int4Matmul', {
  backward: ({ attrs, needsGrad }, dy) => {
    const w = attrs.weight;
    if (!(w instanceof QuantizedTensor)) {
      throw new AutogradError('backward', 'int4Matmul was recorded without its quantized weight', 'this is a bug in src/quant/ops.ts');
    }
    const dx = needsGrad[0] ? int4MatmulDx(dy, w) : null;
    return attrs.bias ? [dx, needsGrad[1] ? dy : null] : [dx];
  },
});
