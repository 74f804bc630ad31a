/** Gradient rules of the layout, reduction and softmax ops. */
import * as E from '../../ops/elementwise.js';
import * as L from '../../ops/layout.js';
import * as R from '../../ops/reduce.js';
import { normalizeAxes, type Shape } from '../../tensor/shape.js';
import { registerGradient } from '../registry.js';
import type { Tensor } from '../../tensor/tensor.js';

registerGradient('reshape', { backward: ({ inputShapes }, dy) => [dy.reshape(inputShapes[0]!)] });

registerGradient('permute', {
  backward: ({ attrs }, dy) => {
    const dims = attrs.dims as number[];
    const inverse = new Array<number>(dims.length);
    dims.forEach((d, i) => (inverse[d] = i));
    return [L.permute(dy, inverse)];
  },
});

registerGradient('slice', {
  backward: ({ attrs, inputShapes }, dy) => {
    const { axis, start, step } = attrs as { axis: number; start: number; step: number };
    return [L.unslice(dy, inputShapes[0]!, axis, start, step)];
  },
});

registerGradient('concat', {
  backward: ({ attrs, inputShapes }, dy) => {
    const axis = attrs.axis as number;
    let offset = 0;
    return inputShapes.map((shape) => {
      const part = L.slice(dy, axis, offset, offset + shape[axis]!);
      offset += shape[axis]!;
      return part;
    });
  },
});

// The tape sums broadcast gradients back to the input's shape.
registerGradient('broadcastTo', { backward: (_, dy) => [dy] });

registerGradient('gather', {
  save: ({ inputs }) => [inputs[1]!],
  backward: ({ saved, inputShapes, attrs }, dy) => [L.scatterAdd(dy, saved[0]!, inputShapes[0]!, { first: attrs.first as number }), null],
});

/** dy of a reduction, reshaped so it broadcasts against the input (reduced axes kept as size 1). */
function expandReduced(dy: Tensor, inputShape: Shape, axes: readonly number[]): Tensor {
  return dy.reshape(inputShape.map((n, d) => (axes.includes(d) ? 1 : n)));
}


registerGradient('sum', {
  backward: ({ attrs, inputShapes }, dy) => {
    const shape = inputShapes[0]!;
    const axes = normalizeAxes('sum', attrs.axes as number[], shape.length);
    return [L.broadcastTo(expandReduced(dy, shape, axes), shape)];
  },
});

registerGradient('mean', {
  backward: ({ attrs, inputShapes }, dy) => {
    const shape = inputShapes[0]!;
    const axes = normalizeAxes('mean', attrs.axes as number[], shape.length);
    const count = axes.reduce((n, d) => n * shape[d]!, 1);
    return [L.broadcastTo(E.div(expandReduced(dy, shape, axes), count), shape)];
  },
});

// max: the gradient is shared evenly by the elements equal to the maximum (PyTorch's amax rule).
registerGradient('max', {
  save: ({ inputs, output }) => [inputs[0]!, output],
  backward: ({ attrs, saved, inputShapes }, dy) => {
    const shape = inputShapes[0]!;
    const axes = normalizeAxes('max', attrs.axes as number[], shape.length);
    const [x, out] = [saved[0]!, saved[1]!];
    const hits = E.where(E.eq(x, expandReduced(out, shape, axes)), 1, 0);
    const count = R.sum(hits, axes, true);
    return [E.mul(hits, E.div(expandReduced(dy, shape, axes), count))];
  },
});

registerGradient('softmax', {
  save: ({ output }) => [output],
  backward: ({ attrs, saved }, dy) => {
    const y = saved[0]!;
    const axis = attrs.axis as number;
    return [E.mul(y, E.sub(dy, R.sum(E.mul(dy, y), axis, true)))];
  },
});

registerGradient('logSoftmax', {
  save: ({ output }) => [output],
  backward: ({ attrs, saved }, dy) => {
    const axis = attrs.axis as number;
    return [E.sub(dy, E.mul(E.exp(saved[0]!), R.sum(dy, axis, true)))];
  },
});
