/**
 * The loss of a model on a whole token sequence: non-overlapping windows of blockSize + 1 tokens
 * (every token after the first of a window is predicted once), averaged over all predicted tokens.
 */
import { ValueError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { scope } from '../tensor/scope.js';
import { tensor } from '../tensor/create.js';
import type { GPT } from '../nn/gpt.js';

/** Mean cross-entropy of the model over every full window of `tokens`, in batches, without gradients. */
export async function evaluateText(model: GPT, tokens: Int32Array, batchSize: number): Promise<{ loss: number; tokens: number }> {
  const T = model.config.blockSize;
  const windows = Math.floor((tokens.length - 1) / T);
  if (windows < 1) throw new ValueError('eval', `the text has ${tokens.length} tokens, fewer than the context of ${T} + 1`, 'evaluate on a longer text');
  const device = model.parameters()[0]!.device;
  model.eval();
  let total = 0;
  for (let start = 0; start < windows; start += batchSize) {
    const B = Math.min(batchSize, windows - start);
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const offset = (start + b) * T;
      x.set(tokens.subarray(offset, offset + T), b * T);
      y.set(tokens.subarray(offset + 1, offset + T + 1), b * T);
    }
    const loss = noGrad(() => scope(() => model.loss(tensor(x, [B, T], { device, dtype: 'int32' }), tensor(y, [B, T], { device, dtype: 'int32' }))));
    total += (await loss.item()) * B * T;
    loss.dispose();
  }
  return { loss: total / (windows * T), tokens: windows * T };
}
