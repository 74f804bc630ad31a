/**
 * Gradient rule of matmul (src/ops/matmul.ts). With C = op(A)·op(B): dA = dC·op(B)ᵀ and
 * dB = op(A)ᵀ·dC, each written as one matmul with flipped transpose flags, so no transpose is ever
 * materialised; for a transposed operand the product is arranged to come out in its stored layout.
 * Gradients come back in the broadcast batch shape and the tape sums them to each input's shape; the
 * bias gradient is dC itself, summed the same way. GELU's epilogue is recorded as a separate 'gelu'
 * op on the pre-activation, so it never reaches this rule.
 */
import { AutogradError } from '../../errors.js';
import { matmul } from '../../ops/matmul.js';
import { sum } from '../../ops/reduce.js';
import type { Tensor } from '../../tensor/tensor.js';
import { registerGradient } from '../registry.js';

registerGradient('matmul', {
  save: ({ inputs }) => [inputs[0]!, inputs[1]!],
  backward: ({ saved, attrs, inputShapes, outputShape, needsGrad }, dy) => {
    if (attrs.activation !== undefined) {
      throw new AutogradError('backward', "a matmul with a fused activation was recorded without its pre-activation", 'this is a bug in src/ops/matmul.ts: with gradients, the activation is recorded as its own op');
    }
    const transA = attrs.transA === true;
    const transB = attrs.transB === true;
    const [aShape, bShape] = [inputShapes[0]!, inputShapes[1]!];
    const aVec = aShape.length === 1;
    const bVec = bShape.length === 1;
    // 1-D operands as the matrices they stand for: a (K) is (1, K), b (K) is (K, 1); dy gets back the
    // dimensions the product dropped: (…, M, N).
    const a = aVec ? saved[0]!.reshape([1, aShape[0]!]) : saved[0]!;
    const b = bVec ? saved[1]!.reshape([bShape[0]!, 1]) : saved[1]!;
    const batch = outputShape.slice(0, outputShape.length - (aVec ? 0 : 1) - (bVec ? 0 : 1));
    const m = aVec ? 1 : outputShape[batch.length]!;
    const n = bVec ? 1 : outputShape[outputShape.length - 1]!;
    const g = dy.reshape([...batch, m, n]);

    let da: Tensor | null = null;
    if (needsGrad[0]) {
      // !transA: dA = dC·op(B)ᵀ.  transA (A stored (K, M)): dAᵀ = op(B)·dCᵀ.
      da = transA ? matmul(b, g, { transA: transB, transB: true }) : matmul(g, b, { transB: !transB });
      if (aVec) da = da.reshape([...batch, aShape[0]!]);
    }
    let db: Tensor | null = null;
    // A batched input times one weight matrix (every Linear layer): fold the batch into the rows, so
    // dB is one matmul over all B·M rows instead of B products summed afterwards, and the bias
    // gradient is one column sum.
    const foldBatch = !aVec && !bVec && bShape.length === 2 && aShape.length > 2 && !transA;
    if (foldBatch) {
      const k = aShape[aShape.length - 1]!;
      const rows = aShape.slice(0, -1).reduce((x, y) => x * y, 1);
      const a2 = a.reshape([rows, k]);
      const g2 = g.reshape([rows, n]);
      if (needsGrad[1]) db = transB ? matmul(g2, a2, { transA: true }) : matmul(a2, g2, { transA: true });
      const dbias = attrs.bias && needsGrad[2] ? sum(g2, 0) : null;
      return attrs.bias ? [da, db, dbias] : [da, db];
    }
    if (needsGrad[1]) {
      // !transB: dB = op(A)ᵀ·dC.  transB (B stored (N, K)): dBᵀ = dCᵀ·op(A).
      db = transB ? matmul(g, a, { transA: true, transB: transA }) : matmul(a, g, { transA: !transA });
      if (bVec) db = db.reshape([...batch, bShape[0]!]);
    }
    return attrs.bias ? [da, db, needsGrad[2] ? g : null] : [da, db];
  },
});
