/** Gradient rule of layerNorm (src/ops/layernorm.ts): the fused backward kernels. */
import { layerNormBackward, type LayerNormAttrs } from '../../ops/layernorm.js';
import { registerGradient } from '../registry.js';

// Inputs are [x, weight?, bias?] (absent ones are not inputs); saved: x, weight?, mean, rstd.
registerGradient('layerNorm', {
  save: ({ inputs, attrs }) => {
    const { hasWeight, stats } = attrs as LayerNormAttrs;
    return [inputs[0]!, ...(hasWeight ? [inputs[1]!] : []), ...stats];
  },
  backward: ({ saved, attrs, needsGrad }, dy) => {
    const { hasWeight, hasBias } = attrs as LayerNormAttrs;
    const [x, weight] = [saved[0]!, hasWeight ? saved[1]! : null];
    const [rowMean, rowRstd] = saved.slice(-2) as [typeof x, typeof x];
    const params = needsGrad.slice(1).some(Boolean);
    const { dx, dweight, dbias } = layerNormBackward(dy, x, weight, rowMean, rowRstd, params);
    return [needsGrad[0] ? dx : null, ...(hasWeight ? [dweight ?? null] : []), ...(hasBias ? [dbias ?? null] : [])];
  },
});
