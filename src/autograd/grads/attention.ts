/** Gradient rules of the fused attention ops (src/ops/attention.ts): three kernels, no score matrix. */
import { attentionBackward, multiHeadAttentionBackward } from '../../ops/attention.js';
import { registerGradient } from '../registry.js';
import type { Tensor } from '../../tensor/tensor.js';

registerGradient('attention', {
  // q, k, v, the output and the row log-sum-exp (which the op passes in attrs, since it is not an input).
  save: ({ inputs, output, attrs }) => [...inputs, output, attrs.lse as Tensor],
  backward: ({ saved, attrs, needsGrad }, dy) => {
    const [q, k, v, out, lse] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const options = { causal: attrs.causal as boolean, scale: attrs.scale as number };
    return attentionBackward(q, k, v, out, lse, dy, options, { dq: needsGrad[0]!, dkv: needsGrad[1]! || needsGrad[2]! });
  },
});

registerGradient('multiHeadAttention', {
  save: ({ inputs, output, attrs }) => [inputs[0]!, output, attrs.lse as Tensor],
  backward: ({ saved, attrs }, dy) => {
    const [qkv, out, lse] = saved as [Tensor, Tensor, Tensor];
    const options = { causal: attrs.causal as boolean, scale: attrs.scale as number };
    return [multiHeadAttentionBackward(qkv, out, lse, dy, attrs.nHead as number, options)];
  },
});
