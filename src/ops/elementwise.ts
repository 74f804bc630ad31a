/** Elementwise ops: unary math, binary arithmetic and comparisons with NumPy broadcasting, where. */
import { broadcastShapes, broadcastStrides, sizeOf, type Shape } from '../tensor/shape.js';
import { launch, type LaunchArgs } from '../tensor/launch.js';
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

/** Names of the unary elementwise ops (the keys of UNARY_OPS). */
export type UnaryOp = keyof typeof UNARY_OPS;
/** Names of the binary arithmetic ops (the keys of BINARY_OPS). */
export type BinaryOp = keyof typeof BINARY_OPS;
/** Names of the comparisons (the keys of COMPARE_OPS). */
export type CompareOp = keyof typeof COMPARE_OPS;

/** Apply the unary op `op` elementwise (the named functions `exp`, `relu`, … call this). */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  expectTensor(op, 'x', x);
  const out = Tensor.empty(x.device, x.shape, 'float32', op);
  launchElementwise(op, 'unary', [], { bindings: { x, out }, uniforms: { n: x.size }, overrides: { OP: UNARY_OPS[op] }, threads: x.size });
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
    launchElementwise(op, 'binary_scalar', [], {
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
  const [ia, ib] = [inputIndexing(a.shape, shape), inputIndexing(b.shape, shape)];
  launchElementwise(op, 'binary', [ia, ib], {
    bindings: { a, b, c: out },
    uniforms: broadcastUniforms(shape, [ia, ib], { a_strides: broadcastStrides(a.shape, shape), b_strides: broadcastStrides(b.shape, shape) }),
    overrides: { OP: BINARY_OPS[op], INDEX_A: ia.how, INDEX_B: ib.how },
    threads: out.size,
  });
  return record(op, [a, b], out);
}

/** Elementwise comparison with broadcasting; returns a bool tensor. */
export function compare(op: CompareOp, a: Tensor, b: Tensor | number): Tensor {
  expectTensor(op, 'a', a);
  const other = typeof b === 'number' ? standIn(a) : expectTensor(op, 'b', b);
  try {
    expectSameDevice(op, { a, b: other });
    const shape = broadcastShapes(op, [a.shape, other.shape]);
    const mask = Tensor.empty(a.device, shape, 'bool', op);
    const [ia, ib] = [inputIndexing(a.shape, shape), inputIndexing(other.shape, shape, b)];
    launchElementwise(op, 'compare', [ia, ib], {
      bindings: { a, b: other, mask },
      uniforms: broadcastUniforms(shape, [ia, ib], { a_strides: broadcastStrides(a.shape, shape), b_strides: broadcastStrides(other.shape, shape) }),
      overrides: { OP: COMPARE_OPS[op], INDEX_A: ia.how, INDEX_B: ib.how },
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
  const ta = typeof a === 'number' ? standIn(cond) : expectTensor(op, 'a', a);
  const tb = typeof b === 'number' ? standIn(cond) : expectTensor(op, 'b', b);
  try {
    expectSameDevice(op, { cond, a: ta, b: tb });
    const shape = broadcastShapes(op, [cond.shape, ta.shape, tb.shape], ['cond', 'a', 'b']);
    const chosen = Tensor.empty(cond.device, shape, 'float32', op);
    const [ic, ia, ib] = [inputIndexing(cond.shape, shape), inputIndexing(ta.shape, shape, a), inputIndexing(tb.shape, shape, b)];
    launchElementwise(op, 'where_select', [ic, ia, ib], {
      bindings: { cond, if_true: ta, if_false: tb, chosen },
      uniforms: broadcastUniforms(shape, [ic, ia, ib], {
        cond_strides: broadcastStrides(cond.shape, shape),
        a_strides: broadcastStrides(ta.shape, shape),
        b_strides: broadcastStrides(tb.shape, shape),
      }),
      overrides: { INDEX_COND: ic.how, INDEX_A: ia.how, INDEX_B: ib.how },
      threads: chosen.size,
    });
    return record(op, [cond, ta, tb], chosen);
  } finally {
    if (ta !== a) ta.dispose();
    if (tb !== b) tb.dispose();
  }
}

/**
 * A rank-0 stand-in for a number operand of compare and where: it fills the kernel's binding and gives
 * autograd the operand's shape, while the number itself travels in Params (CONST indexing). It is
 * never written: uploading a value into a pooled buffer that the pending batch used forces a submit.
 */
function standIn(like: Tensor): Tensor {
  return Tensor.empty(like.device, [], 'float32', 'number operand');
}

/** How kernels/elementwise.wgsl indexes an input (its INDEX_* overrides); see the file's header. */
const FULL = 0;
const BLOCK = 1;
const STRIDED = 2;
const SPLAT = 3;
const CONST = 4;

interface InputIndexing {
  how: number;
  /** BLOCK: output elements per input element step, and the input's element count. */
  div: number;
  size: number;
  /** CONST: the number operand. */
  value: number;
}

/**
 * The cheapest way to find, for output element i, the element of an input broadcast to `out`; an
 * operand given as a number (`operand`) is CONST.
 */
function inputIndexing(input: Shape, out: Shape, operand?: Tensor | number): InputIndexing {
  const size = sizeOf(input);
  if (typeof operand === 'number') return { how: CONST, div: 1, size, value: operand };
  const offset = out.length - input.length;
  const repeated = (d: number) => out[d] !== 1 && (d < offset || input[d - offset] === 1);
  if (!out.some((_, d) => repeated(d))) return { how: FULL, div: 1, size, value: 0 };
  if (size === 1) return { how: SPLAT, div: 1, size, value: 0 };
  // The dims the input keeps (not 1 in the output): BLOCK when no repeated dim lies between them.
  const kept = out.map((_, d) => d).filter((d) => out[d] !== 1 && !repeated(d));
  const first = kept[0]!;
  const last = kept[kept.length - 1]!;
  for (let d = first; d < last; d++) if (repeated(d)) return { how: STRIDED, div: 1, size, value: 0 };
  return { how: BLOCK, div: sizeOf(out.slice(last + 1)), size, value: 0 };
}

function broadcastUniforms(shape: Shape, inputs: readonly InputIndexing[], strides: Record<string, number[]>): Record<string, number | readonly number[]> {
  return {
    n: sizeOf(shape),
    rank: shape.length,
    shape,
    constants: inputs.map((i) => i.value),
    block_div: inputs.map((i) => i.div),
    block_size: inputs.map((i) => i.size),
    ...strides,
  };
}

/** Outputs per invocation (the ITEMS override); measured on lavapipe, 4,096 elements per workgroup was best either way. */
const SCALAR_ITEMS = 16;
const VEC4_ITEMS = 4;

/** What each elementwise entry point binds under its vec4 form (kernels/elementwise.wgsl). */
const VEC4_NAMES: Readonly<Record<string, string>> = {
  x: 'x4', out: 'out4', a: 'a4', b: 'b4', c: 'c4', mask: 'mask4', cond: 'cond4', if_true: 'if_true4', if_false: 'if_false4', chosen: 'chosen4',
};

/**
 * Launches `entry` over `threads` output elements, or its `_vec4` form (four elements per vec4) when
 * the count is a multiple of 4 and every input can be read as whole vec4s: FULL, SPLAT, CONST, or a row
 * (BLOCK, div 1) whose length is a multiple of 4. The vec4 form binds the same tensors under names
 * suffixed `4`.
 */
function launchElementwise(op: string, entry: string, inputs: readonly InputIndexing[], args: LaunchArgs & { threads: number }): void {
  const n = args.threads;
  const vec4 = n % 4 === 0 && inputs.every((i) => i.how !== STRIDED && (i.how !== BLOCK || (i.div === 1 && i.size % 4 === 0)));
  const items = vec4 ? VEC4_ITEMS : SCALAR_ITEMS;
  const overrides = { ...args.overrides, ITEMS: items };
  if (!vec4) {
    launch(op, entry, { bindings: args.bindings, uniforms: args.uniforms, overrides, threads: Math.ceil(n / items) });
    return;
  }
  const bindings: Record<string, Tensor> = {};
  for (const name in args.bindings) bindings[VEC4_NAMES[name]!] = args.bindings[name]!;
  launch(op, `${entry}_vec4`, { bindings, uniforms: args.uniforms, overrides, threads: Math.ceil(n / 4 / items) });
}

/** −x elementwise. */
export const neg = (x: Tensor) => unary('neg', x);
/** |x| elementwise. */
export const abs = (x: Tensor) => unary('abs', x);
/** eˣ elementwise. */
export const exp = (x: Tensor) => unary('exp', x);
/** Natural logarithm elementwise (NaN below 0, −∞ at 0). */
export const log = (x: Tensor) => unary('log', x);
/** Square root elementwise. */
export const sqrt = (x: Tensor) => unary('sqrt', x);
/** 1/√x elementwise. */
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
/** Sine elementwise (radians). */
export const sin = (x: Tensor) => unary('sin', x);
/** Cosine elementwise (radians). */
export const cos = (x: Tensor) => unary('cos', x);
/** Hyperbolic tangent elementwise. */
export const tanh = (x: Tensor) => unary('tanh', x);
/** 1 / (1 + e⁻ˣ) elementwise. */
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/** max(x, 0) elementwise. */
export const relu = (x: Tensor) => unary('relu', x);
/** GELU, tanh approximation (GPT-2's), elementwise. */
export const gelu = (x: Tensor) => unary('gelu', x);
/** x² elementwise. */
export const square = (x: Tensor) => unary('square', x);
/** 1/x elementwise. */
export const reciprocal = (x: Tensor) => unary('reciprocal', x);
/** −1, 0 or 1 by the sign of x, elementwise (not differentiable). */
export const sign = (x: Tensor) => unary('sign', x);
/** The derivative of gelu (tanh form) at x: what gelu's backward multiplies by. */
export const geluGrad = (x: Tensor) => unary('geluGrad', x);

/** a + b with NumPy broadcasting; either side may be a number. */
export const add = (a: Tensor | number, b: Tensor | number) => binary('add', a, b);
/** a − b with NumPy broadcasting; either side may be a number. */
export const sub = (a: Tensor | number, b: Tensor | number) => binary('sub', a, b);
/** a · b with NumPy broadcasting; either side may be a number. */
export const mul = (a: Tensor | number, b: Tensor | number) => binary('mul', a, b);
/** a / b with NumPy broadcasting; either side may be a number. */
export const div = (a: Tensor | number, b: Tensor | number) => binary('div', a, b);
/** aᵇ with NumPy broadcasting; either side may be a number. */
export const pow = (a: Tensor | number, b: Tensor | number) => binary('pow', a, b);
/** The larger of a and b, broadcast; ties split the gradient evenly. */
export const maximum = (a: Tensor | number, b: Tensor | number) => binary('maximum', a, b);
/** The smaller of a and b, broadcast; ties split the gradient evenly. */
export const minimum = (a: Tensor | number, b: Tensor | number) => binary('minimum', a, b);

/** a == b elementwise with broadcasting, as a bool tensor. */
export const eq = (a: Tensor, b: Tensor | number) => compare('eq', a, b);
/** a != b elementwise with broadcasting, as a bool tensor. */
export const ne = (a: Tensor, b: Tensor | number) => compare('ne', a, b);
/** a < b elementwise with broadcasting, as a bool tensor. */
export const lt = (a: Tensor, b: Tensor | number) => compare('lt', a, b);
/** a <= b elementwise with broadcasting, as a bool tensor. */
export const le = (a: Tensor, b: Tensor | number) => compare('le', a, b);
/** a > b elementwise with broadcasting, as a bool tensor. */
export const gt = (a: Tensor, b: Tensor | number) => compare('gt', a, b);
/** a >= b elementwise with broadcasting, as a bool tensor. */
export const ge = (a: Tensor, b: Tensor | number) => compare('ge', a, b);
