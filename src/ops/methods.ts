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

type Other = Tensor | number;

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(other: Other): Tensor;
    sub(other: Other): Tensor;
    mul(other: Other): Tensor;
    div(other: Other): Tensor;
    pow(other: Other): Tensor;
    maximum(other: Other): Tensor;
    minimum(other: Other): Tensor;
    eq(other: Other): Tensor;
    ne(other: Other): Tensor;
    lt(other: Other): Tensor;
    le(other: Other): Tensor;
    gt(other: Other): Tensor;
    ge(other: Other): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    gelu(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    permute(dims: readonly number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    slice(axis: number, start: number, end?: number, step?: number): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    sum(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    mean(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    max(axes?: number | readonly number[], keepdim?: boolean): Tensor;
    argmax(axis?: number, keepdim?: boolean): Tensor;
    softmax(axis?: number): Tensor;
    matmul(other: Tensor, options?: MatmulOptions): Tensor;
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
