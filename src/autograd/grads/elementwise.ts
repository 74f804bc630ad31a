/** Gradient rules of the elementwise ops (src/ops/elementwise.ts). */
import * as E from '../../ops/elementwise.js';
import { dropout } from '../../ops/dropout.js';
import { registerGradient } from '../registry.js';
import type { Tensor } from '../../tensor/tensor.js';

const input = ({ inputs }: { inputs: readonly Tensor[] }) => [inputs[0]!];
const output = ({ output: out }: { output: Tensor }) => [out];

/** Unary rules: dx = dy · f'(x), with f' written from the saved input or output. */
const unary: Record<string, { save: typeof input | typeof output; grad: (s: Tensor, dy: Tensor) => Tensor }> = {
  neg: { save: () => [], grad: (_, dy) => E.neg(dy) },
  abs: { save: input, grad: (x, dy) => E.mul(dy, E.sign(x)) },
  exp: { save: output, grad: (y, dy) => E.mul(dy, y) },
  log: { save: input, grad: (x, dy) => E.div(dy, x) },
  sqrt: { save: output, grad: (y, dy) => E.div(E.mul(dy, 0.5), y) },
  rsqrt: { save: output, grad: (y, dy) => E.mul(E.mul(dy, -0.5), E.mul(y, E.square(y))) },
  sin: { save: input, grad: (x, dy) => E.mul(dy, E.cos(x)) },
  cos: { save: input, grad: (x, dy) => E.neg(E.mul(dy, E.sin(x))) },
  tanh: { save: output, grad: (y, dy) => E.mul(dy, E.sub(1, E.square(y))) },
  sigmoid: { save: output, grad: (y, dy) => E.mul(dy, E.mul(y, E.sub(1, y))) },
  relu: { save: input, grad: (x, dy) => E.where(E.gt(x, 0), dy, 0) },
  gelu: { save: input, grad: (x, dy) => E.mul(dy, E.geluGrad(x)) },
  square: { save: input, grad: (x, dy) => E.mul(dy, E.mul(x, 2)) },
  reciprocal: { save: output, grad: (y, dy) => E.neg(E.mul(dy, E.square(y))) },
};

for (const [op, rule] of Object.entries(unary)) {
  registerGradient(op, {
    save: rule.save,
    backward: ({ saved }, dy) => [rule.grad(saved[0]!, dy)],
  });
}

// Binary ops save their inputs; with a number operand (attrs.scalar) there is one tensor input.
interface ScalarAttrs { scalar?: number; scalarLeft?: boolean }

registerGradient('add', { backward: (_, dy) => [dy, dy] });
registerGradient('sub', {
  backward: ({ attrs, inputShapes }, dy) => {
    const { scalarLeft } = attrs as ScalarAttrs;
    if (inputShapes.length === 1) return [scalarLeft ? E.neg(dy) : dy];
    return [dy, E.neg(dy)];
  },
});

registerGradient('mul', {
  save: ({ inputs }) => [...inputs],
  backward: ({ saved, attrs }, dy) => {
    const { scalar } = attrs as ScalarAttrs;
    if (scalar !== undefined) return [E.mul(dy, scalar)];
    return [E.mul(dy, saved[1]!), E.mul(dy, saved[0]!)];
  },
});

registerGradient('div', {
  save: ({ inputs, output: out }) => [...inputs, out],
  backward: ({ saved, attrs }, dy) => {
    const { scalar, scalarLeft } = attrs as ScalarAttrs;
    if (scalar !== undefined) {
      // c / x: d/dx = -c/x² = -out/x;  x / c: d/dx = 1/c.
      return [scalarLeft ? E.neg(E.div(E.mul(dy, saved[1]!), saved[0]!)) : E.div(dy, scalar)];
    }
    const [a, b] = [saved[0]!, saved[1]!];
    return [E.div(dy, b), E.neg(E.div(E.mul(dy, a), E.square(b)))];
  },
});

registerGradient('pow', {
  save: ({ inputs, output: out }) => [...inputs, out],
  backward: ({ saved, attrs, needsGrad }, dy) => {
    const { scalar, scalarLeft } = attrs as ScalarAttrs;
    if (scalar !== undefined) {
      const [x, out] = [saved[0]!, saved[1]!];
      // c^x: d/dx = out·ln c;  x^c: d/dx = c·x^(c-1).
      return [scalarLeft ? E.mul(dy, E.mul(out, Math.log(scalar))) : E.mul(dy, E.mul(E.pow(x, scalar - 1), scalar))];
    }
    const [a, b, out] = [saved[0]!, saved[1]!, saved[2]!];
    return [
      needsGrad[0] ? E.mul(dy, E.mul(b, E.pow(a, E.sub(b, 1)))) : null,
      needsGrad[1] ? E.mul(dy, E.mul(out, E.log(a))) : null,
    ];
  },
});

// maximum/minimum: the gradient goes to the larger (smaller) input; ties split it evenly, as PyTorch.
for (const op of ['maximum', 'minimum'] as const) {
  registerGradient(op, {
    save: ({ inputs }) => [...inputs],
    backward: ({ saved, attrs }, dy) => {
      const { scalar } = attrs as ScalarAttrs;
      const x = saved[0]!;
      const other = scalar ?? saved[1]!;
      const wins = op === 'maximum' ? E.gt(x, other) : E.lt(x, other);
      const ties = E.eq(x, other);
      const share = E.where(wins, 1, E.where(ties, 0.5, 0));
      if (scalar !== undefined) return [E.mul(dy, share)];
      return [E.mul(dy, share), E.mul(dy, E.sub(1, share))];
    },
  });
}

registerGradient('where', {
  save: ({ inputs }) => [inputs[0]!],
  backward: ({ saved }, dy) => [null, E.where(saved[0]!, dy, 0), E.where(saved[0]!, 0, dy)],
});

// Dropout's mask is a function of (seed, index): backward applies the same mask to dy.
registerGradient('dropout', {
  backward: ({ attrs }, dy) => [dropout(dy, attrs.p as number, attrs.seed as number)],
});
