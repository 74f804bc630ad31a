/** Elementwise ops: unary math, binary arithmetic and comparisons with NumPy broadcasting, where. */
import { broadcastShapes, broadcastStrides, sameShape } from '../tensor/shape.js';
import { launch } from '../tensor/launch.js';
import { Tensor } from '../tensor/tensor.js';
import { WgradError } from '../errors.js';
import { record } from '../tensor/record.js';
import { expectSameDevice, expectTensor } from './validate.js';

/** Op codes of kernels/elementwise.wgsl's `unary_op` switch. */
export const UNARY_OPS = {
  neg: 0, abs: 1, exp: 2, log: 3, sqrt: 4, rsqrt: 5, sin: 6, cos: 7, tanh: 8, sigmoid: 9, relu: 10, gelu: 11, square: 12, reciprocal: 13,
  sign: 14, geluGrad: 15,
} as const;
/** Op codes of `binary_op`. */
export const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, maximum: 5, minimum: 6 } as const;
/** Op codes of `compare_op`. */
export const COMPARE_OPS = { eq: 0, ne: 1, lt: 2, le: 3, gt: 4, ge: 5 } as const;

export type UnaryOp = keyof typeof UNARY_OPS;
export type BinaryOp = keyof typeof BINARY_OPS;
export type CompareOp = keyof typeof COMPARE_OPS;

export function unary(op: UnaryOp, x: Tensor): Tensor {
  expectTensor(op, 'x', x);
  const out = Tensor.empty(x.device, x.shape, 'float32', op);
  launch(op, 'unary', { bindings: { x, out }, uniforms: { n: x.size }, overrides: { OP: UNARY_OPS[op] }, threads: x.size });
  return record(op, [x], out);
}

/** `a op b` with broadcasting; either side may be a plain number. */
export function binary(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new WgradError(op, 'both operands are numbers', 'make one of them a tensor');
  }
  if (typeof b === 'number' || typeof a === 'number') {
    const scalarLeft = typeof a === 'number';
    const x = expectTensor(op, scalarLeft ? 'b' : 'a', scalarLeft ? b : a);
    const scalar = (scalarLeft ? a : b) as number;
    const out = Tensor.empty(x.device, x.shape, 'float32', op);
    launch(op, 'binary_scalar', {
      bindings: { x, out },
      uniforms: { n: x.size, scalar },
      overrides: { OP: BINARY_OPS[op], SCALAR_LEFT: scalarLeft ? 1 : 0 },
      threads: x.size,
    });
    return record(op, [x], out, { scalar, scalarLeft });
  }
  expectTensor(op, 'a', a);
  expectTensor(op, 'b', b);
  expectSameDevice(op, { a, b });
  const shape = broadcastShapes(op, [a.shape, b.shape]);
  const out = Tensor.empty(a.device, shape, 'float32', op);
  const same = sameShape(a.shape, shape) && sameShape(b.shape, shape);
  launch(op, 'binary', {
    bindings: { a, b, c: out },
    uniforms: { n: out.size, rank: shape.length, shape, a_strides: broadcastStrides(a.shape, shape), b_strides: broadcastStrides(b.shape, shape) },
    overrides: { OP: BINARY_OPS[op], SAME_SHAPE: same ? 1 : 0 },
    threads: out.size,
  });
  return record(op, [a, b], out);
}

/** Elementwise comparison with broadcasting; returns a bool tensor. */
export function compare(op: CompareOp, a: Tensor, b: Tensor | number): Tensor {
  expectTensor(op, 'a', a);
  const other = typeof b === 'number' ? scalarLike(a, b) : expectTensor(op, 'b', b);
  try {
    expectSameDevice(op, { a, b: other });
    const shape = broadcastShapes(op, [a.shape, other.shape]);
    const mask = Tensor.empty(a.device, shape, 'bool', op);
    launch(op, 'compare', {
      bindings: { a, b: other, mask },
      uniforms: { n: mask.size, rank: shape.length, shape, a_strides: broadcastStrides(a.shape, shape), b_strides: broadcastStrides(other.shape, shape) },
      overrides: { OP: COMPARE_OPS[op] },
      threads: mask.size,
    });
    return mask;
  } finally {
    if (other !== b) other.dispose();
  }
}

/** `cond ? a : b` elementwise, broadcasting all three. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const op = 'where';
  expectTensor(op, 'cond', cond, ['bool']);
  const ta = typeof a === 'number' ? scalarLike(cond, a) : expectTensor(op, 'a', a);
  const tb = typeof b === 'number' ? scalarLike(cond, b) : expectTensor(op, 'b', b);
  try {
    expectSameDevice(op, { cond, a: ta, b: tb });
    const shape = broadcastShapes(op, [cond.shape, ta.shape, tb.shape], ['cond', 'a', 'b']);
    const chosen = Tensor.empty(cond.device, shape, 'float32', op);
    launch(op, 'where_select', {
      bindings: { cond, if_true: ta, if_false: tb, chosen },
      uniforms: {
        n: chosen.size,
        rank: shape.length,
        shape,
        cond_strides: broadcastStrides(cond.shape, shape),
        a_strides: broadcastStrides(ta.shape, shape),
        b_strides: broadcastStrides(tb.shape, shape),
      },
      threads: chosen.size,
    });
    return record(op, [cond, ta, tb], chosen);
  } finally {
    if (ta !== a) ta.dispose();
    if (tb !== b) tb.dispose();
  }
}

/** A rank-0 float32 tensor on `like`'s device, for number operands of comparisons and where. */
function scalarLike(like: Tensor, value: number): Tensor {
  const t = Tensor.empty(like.device, [], 'float32', 'scalar');
  like.device.write(t.buffer('scalar'), new Float32Array([value]));
  return t;
}

export const neg = (x: Tensor) => unary('neg', x);
export const abs = (x: Tensor) => unary('abs', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const sin = (x: Tensor) => unary('sin', x);
export const cos = (x: Tensor) => unary('cos', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
export const relu = (x: Tensor) => unary('relu', x);
export const gelu = (x: Tensor) => unary('gelu', x);
export const square = (x: Tensor) => unary('square', x);
export const reciprocal = (x: Tensor) => unary('reciprocal', x);
export const sign = (x: Tensor) => unary('sign', x);
/** The derivative of gelu (tanh form) at x: what gelu's backward multiplies by. */
export const geluGrad = (x: Tensor) => unary('geluGrad', x);

export const add = (a: Tensor | number, b: Tensor | number) => binary('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number) => binary('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number) => binary('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number) => binary('div', a, b);
export const pow = (a: Tensor | number, b: Tensor | number) => binary('pow', a, b);
export const maximum = (a: Tensor | number, b: Tensor | number) => binary('maximum', a, b);
export const minimum = (a: Tensor | number, b: Tensor | number) => binary('minimum', a, b);

export const eq = (a: Tensor, b: Tensor | number) => compare('eq', a, b);
export const ne = (a: Tensor, b: Tensor | number) => compare('ne', a, b);
export const lt = (a: Tensor, b: Tensor | number) => compare('lt', a, b);
export const le = (a: Tensor, b: Tensor | number) => compare('le', a, b);
export const gt = (a: Tensor, b: Tensor | number) => compare('gt', a, b);
export const ge = (a: Tensor, b: Tensor | number) => compare('ge', a, b);
