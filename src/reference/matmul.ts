/**
 * Float64 oracle of kernels/matmul.wgsl: `act(op(a) @ op(b) + bias)` with broadcast batch dimensions,
 * PyTorch's 1-D rules and transposed operands, and its vector-Jacobian product written out by hand.
 */
import { unaryFns } from './elementwise.js';
import { broadcast, ndarray, unravel, type NDArray } from './ndarray.js';

/** Options of the matmul oracle (as the op's, plus the fused activation). */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: NDArray;
  activation?: 'gelu';
}

/**
 * The oracle's own reading of the operands: sizes, batch shapes, and where logical A[row, kk] and
 * B[kk, col] of each output batch matrix live in the operands' data (base + row·rs + kk·ks).
 */
interface Layout {
  m: number;
  n: number;
  k: number;
  outShape: number[];
  /** Per output batch matrix: the offsets of its A and B matrices. */
  bases: { a: number; b: number }[];
  aRow: number;
  aK: number;
  bK: number;
  bCol: number;
}

function layout(a: NDArray, b: NDArray, transA: boolean, transB: boolean): Layout {
  if (a.shape.length === 0 || b.shape.length === 0) throw new Error('reference matmul: rank-0 operand');
  const ta = a.shape.length > 1 && transA;
  const tb = b.shape.length > 1 && transB;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = ra === 1 ? 1 : a.shape[ta ? ra - 1 : ra - 2]!;
  const k = ra === 1 ? a.shape[0]! : a.shape[ta ? ra - 2 : ra - 1]!;
  const kb = rb === 1 ? b.shape[0]! : b.shape[tb ? rb - 1 : rb - 2]!;
  const n = rb === 1 ? 1 : b.shape[tb ? rb - 2 : rb - 1]!;
  if (k !== kb) throw new Error(`reference matmul: inner dimensions ${k} and ${kb} differ`);
  const aBatch = a.shape.slice(0, Math.max(0, ra - 2));
  const bBatch = b.shape.slice(0, Math.max(0, rb - 2));
  const batchShape = broadcast(aBatch, bBatch);
  const flatBatch = (shape: readonly number[], idx: readonly number[]) => {
    const off = idx.length - shape.length;
    let f = 0;
    for (let d = 0; d < shape.length; d++) f = f * shape[d]! + (shape[d] === 1 ? 0 : idx[d + off]!);
    return f;
  };
  const count = batchShape.reduce((x, y) => x * y, 1);
  const bases = Array.from({ length: count }, (_, i) => {
    const idx = unravel(i, batchShape);
    return { a: flatBatch(aBatch, idx) * m * k, b: flatBatch(bBatch, idx) * k * n };
  });
  return {
    m,
    n,
    k,
    outShape: [...batchShape, ...(ra === 1 ? [] : [m]), ...(rb === 1 ? [] : [n])],
    bases,
    aRow: ta ? 1 : k,
    aK: ta ? m : 1,
    bK: tb ? 1 : n,
    bCol: tb ? k : 1,
  };
}

/** `act(op(a) @ op(b) + bias)` in float64. */
export function matmul(a: NDArray, b: NDArray, options: MatmulOptions = {}): NDArray {
  const { transA = false, transB = false, bias, activation } = options;
  const L = layout(a, b, transA, transB);
  const out = ndarray(L.outShape);
  const row = new Float64Array(L.n);
  let o = 0;
  for (const base of L.bases) {
    for (let r = 0; r < L.m; r++) {
      row.fill(0);
      for (let kk = 0; kk < L.k; kk++) {
        const x = a.data[base.a + r * L.aRow + kk * L.aK]!;
        const bRow = base.b + kk * L.bK;
        for (let col = 0; col < L.n; col++) row[col]! += x * b.data[bRow + col * L.bCol]!;
      }
      for (let col = 0; col < L.n; col++) {
        const s = row[col]! + (bias ? bias.data[col]! : 0);
        out.data[o++] = activation === 'gelu' ? unaryFns.gelu(s) : s;
      }
    }
  }
  return out;
}

/**
 * The vector-Jacobian product of `matmul`: gradients of a, b (and bias, when attrs.bias) in their
 * stored layouts, summed over broadcast batch dimensions. With activation 'gelu', dy is first
 * multiplied by GELU's derivative at the pre-activation.
 */
export function matmulVjp(inputs: readonly NDArray[], dy: NDArray, attrs: Readonly<Record<string, unknown>>): NDArray[] {
  const [a, b, bias] = inputs as [NDArray, NDArray, NDArray | undefined];
  const transA = attrs.transA === true;
  const transB = attrs.transB === true;
  const L = layout(a, b, transA, transB);
  let dz = dy;
  if (attrs.activation === 'gelu') {
    const z = matmul(a, b, { transA, transB, bias: attrs.bias ? bias : undefined });
    dz = { shape: dy.shape, data: Float64Array.from(dy.data, (g, i) => g * unaryFns.geluGrad(z.data[i]!)) };
  }
  const da = ndarray(a.shape);
  const db = ndarray(b.shape);
  const dbias = ndarray([L.n]);
  let o = 0;
  for (const base of L.bases) {
    for (let row = 0; row < L.m; row++) {
      for (let col = 0; col < L.n; col++) {
        const g = dz.data[o++]!;
        dbias.data[col]! += g;
        for (let kk = 0; kk < L.k; kk++) {
          const ia = base.a + row * L.aRow + kk * L.aK;
          const ib = base.b + kk * L.bK + col * L.bCol;
          da.data[ia]! += g * b.data[ib]!;
          db.data[ib]! += g * a.data[ia]!;
        }
      }
    }
  }
  return attrs.bias ? [da, db, dbias] : [da, db];
}
