/** Gradient rule of crossEntropy (src/ops/cross-entropy.ts): the fused backward kernel. */
import { crossEntropyBackward, type CrossEntropyAttrs } from '../../ops/cross-entropy.js';
import { registerGradient } from '../registry.js';

// Inputs are [logits, targets]; the targets (class indices) get no gradient.
registerGradient('crossEntropy', {
  save: ({ inputs, attrs }) => {
    const { stats, count } = attrs as CrossEntropyAttrs;
    return [inputs[0]!, inputs[1]!, stats, ...(count ? [count] : [])];
  },
  backward: ({ saved, attrs }, dy) => {
    const { ignoreIndex, reduction } = attrs as CrossEntropyAttrs;
    const [logits, targets, stats, count] = [saved[0]!, saved[1]!, saved[2]!, saved[3] ?? null];
    return [crossEntropyBackward(dy, logits, targets, stats, count, { ignoreIndex, reduction }), null];
  },
});
