/**
 * Chained op methods on Tensor (`x.add(y).exp().sum(1)`), as PyTorch users expect. Each method is the
 * op function of the same name with the tensor as its first argument; the declarations below give
 * them their types.
 */
import { Tensor } from '../tensor/tensor.js';
import * as ew from './elementwise.js';
import * as layout from './layout.js';
import * as reduce from './reduce.js';
import * as sm from './softmax.js';
import { matmul, type MatmulOptions } from './matmul.js';

/** A tensor or a number, for the binary methods. */
type Other = Tensor | number;

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** `this + other`, broadcast (see {@link add}). */
    add(other: Other): Tensor;
    /** `this − other`, broadcast (see {@link sub}). */
    sub(other: Other): Tensor;
    /** `this · other`, broadcast (see {@link mul}). */
    mul(other: Other): Tensor;
    /** `this / other`, broadcast (see {@link div}). */
    div(other: Other): Tensor;
    /** `thisᵒᵗʰᵉʳ`, broadcast (see {@link pow}). */
    pow(other: Other): Tensor;
    /** The larger of this and other, broadcast (see {@link maximum}). */
    maximum(other: Other): Tensor;
    /** The smaller of this and other, broadcast (see {@link minimum}). */
    minimum(other: Other): Tensor;
    /** `this == other` as a bool tensor (see {@link eq}). */
    eq(other: Other): Tensor;
    /** `this != other` as a bool tensor (see {@link ne}). */
    ne(other: Other): Tensor;
    /** `this < other` as a bool tensor (see {@link lt}). */
    lt(other: Other): Tensor;
    /** `this <= other` as a bool tensor (see {@link le}). */
    le(other: Other): Tensor;
    /** `this > other` as a bool tensor (see {@link gt}). */
    gt(other: Other): Tensor;
    /** `this >= other` as a bool tensor (see {@link ge}). */
    ge(other: Other): Tensor;
    /** −this (see {@link neg}). */
    neg(): Tensor;
    /** |this| (see {@link abs}). */
    abs(): Tensor;
    /** e to the power of this (see {@link exp}). */
    exp(): Tensor;
    /** Natural logarithm (see {@link log}). */
    log(): Tensor;
    /** Square root (see {@link sqrt}). */
    sqrt(): Tensor;
    /** 1/√this (see {@link rsqrt}). */
    rsqrt(): Tensor;
    /** Sine (see {@link sin}). */
    sin(): Tensor;
    /** Cosine (see {@link cos}). */
    cos(): Tensor;
    /** Hyperbolic tangent (see {@link tanh}). */
    tanh(): Tensor;
    /** Logistic sigmoid (see {@link sigmoid}). */
    sigmoid(): Tensor;
    /** max(this, 0) (see {@link relu}). */
    relu(): Tensor;
    /** GELU, tanh approximation (see {@link gelu}). */
    gelu(): Tensor;
    /** this² (see {@link square}). */
    square(): Tensor;
    /** 1/this (see {@link reciprocal}). */
    reciprocal(): Tensor;
    /** Reorder the dimensions (see {@link permute}). */
    permute(dims: readonly number[]): Tensor;
    /** Swap two dimensions, the last two by default (see {@link transpose}). */
    transpose(dim0?: number, dim1?: number): Tensor;
    /** Elements start..end (by step) along one axis (see {@link slice}). */
    slice(axis: number, start: number, end?: number, step?: number): Tensor;
    /** Repeat along broadcast dimensions to `shape` (see {@link broadcastTo}). */
    broadcastTo(shape: readonly number[]): Tensor;
    /** Sum over axes, all by default (see {@link sum}). */
    sum(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Mean over axes, all by default (see {@link mean}). */
    mean(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Maximum over axes, all by default (see {@link max}). */
    max(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    /** Index of the maximum along an axis, as int32 (see {@link argmax}). */
    argmax(axis?: number, keepdim?: boolean): Tensor;
    /** Softmax along an axis, the last by default (see {@link softmax}). */
    softmax(axis?: number): Tensor;
    /** Matrix product with batching (see {@link matmul}). */
    matmul(other: Tensor, options?: MatmulOptions): Tensor;
    /** log(softmax) along an axis, computed stably (see {@link logSoftmax}). */
    logSoftmax(axis?: number): Tensor;
  }
}

const methods: Record<string, (this: Tensor, ...args: never[]) => Tensor> = {};
for (const name of Object.keys(ew.BINARY_OPS) as ew.BinaryOp[]) {
  methods[name] = function (this: Tensor, other: Other) { return ew.binary(name, this, other); };
}
for (const name of Object.keys(ew.COMPARE_OPS) as ew.CompareOp[]) {
  methods[name] = function (this: Tensor, other: Other) { return ew.compare(name, this, other); };
}
for (const name of Object.keys(ew.UNARY_OPS) as ew.UnaryOp[]) {
  methods[name] = function (this: Tensor) { return ew.unary(name, this); };
}
Object.assign(methods, {
  permute(this: Tensor, dims: readonly number[]) { return layout.permute(this, dims); },
  transpose(this: Tensor, dim0?: number, dim1?: number) { return layout.transpose(this, dim0, dim1); },
  slice(this: Tensor, axis: number, start: number, end?: number, step?: number) { return layout.slice(this, axis, start, end, step); },
  broadcastTo(this: Tensor, shape: readonly number[]) { return layout.broadcastTo(this, shape); },
  sum(this: Tensor, axes?: number | readonly number[], keepdim?: boolean) { return reduce.sum(this, axes, keepdim); },
  mean(this: Tensor, axes?: number | readonly number[], keepdim?: boolean) { return reduce.mean(this, axes, keepdim); },
  max(this: Tensor, axes?: number | readonly number[], keepdim?: boolean) { return reduce.max(this, axes, keepdim); },
  argmax(this: Tensor, axis?: number, keepdim?: boolean) { return reduce.argmax(this, axis, keepdim); },
  softmax(this: Tensor, axis?: number) { return sm.softmax(this, axis); },
  matmul(this: Tensor, other: Tensor, options?: MatmulOptions) { return matmul(this, other, options); },
  logSoftmax(this: Tensor, axis?: number) { return sm.logSoftmax(this, axis); },
});
Object.assign(Tensor.prototype, methods);
