/**
 * Matrix products (kernels/matmul.wgsl): batched `(…, M, K) @ (…, K, N)` with NumPy broadcasting of the
 * batch dimensions, 1-D operands as in PyTorch's matmul, transposed operands (`transA`, `transB`: no
 * transposed copy is ever made; backward relies on it), and a fused epilogue: `+ bias` (broadcast
 * over rows) and GELU (tanh form).
 *
 * The tile kernel reads both operands as k-major panels of 4-row vec4 groups. B (…, K, N) with
 * N % 4 == 0 and A stored transposed with M % 4 == 0 already are such panels and are read in place;
 * otherwise a packing pass copies the operand once (O(size) work against O(M·N·K), and on lavapipe
 * a vec4 load costs about as much as two floats). M = 1 takes matrix-vector kernels instead, which
 * read the operands in place and split K across a workgroup.
 */
import { ShapeError, WgradError, fmtShape } from '../errors.js';
import { broadcastStrides, sizeOf } from '../tensor/shape.js';
import { launch } from '../tensor/launch.js';
import { Tensor } from '../tensor/tensor.js';
import { record } from '../tensor/record.js';
import { expectSameDevice, expectTensor } from './validate.js';

/** Options of matmul: transposed operands and a fused bias. */
export interface MatmulOptions {
  /** Read `a` as its transpose: `a` is stored (…, K, M). Ignored for a 1-D `a` (a vector is its own transpose). */
  transA?: boolean;
  /** Read `b` as its transpose: `b` is stored (…, N, K). Ignored for a 1-D `b`. */
  transB?: boolean;
  /** Added to every row of the product: shape (N). */
  bias?: Tensor;
  /** Applied last, after the bias: GELU in its tanh form (as `gelu`). */
  activation?: 'gelu';
}

/**
 * Tile kernel configuration: each invocation accumulates TM rows × 4·TN4 columns; workgroups are
 * WGX × WGY invocations. Chosen by measurement on lavapipe (see the notes in kernels/matmul.wgsl).
 */
export const TILE = { TM: 8, TN4: 2, WGX: 8, WGY: 8 } as const;
/** Matrix-vector kernel configuration: MV_WG invocations, KS slices of K, 4·TN4 columns each. */
export const MATVEC = { MV_WG: 64, KS: 8, TN4: 2 } as const;

/** The attributes recorded with op 'matmul' (the effective flags: false for 1-D operands). */
export type MatmulAttrs = {
  transA: boolean;
  transB: boolean;
  bias: boolean;
  activation?: 'gelu';
};

interface Plan {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** The operands' own batch shapes, and their broadcast. */
  aBatch: number[];
  bBatch: number[];
  batchShape: number[];
  outShape: number[];
}

/** Shapes, broadcasting and strides; throws ShapeError naming both operands. */
function plan(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Plan {
  for (const [name, t] of [['a', a], ['b', b]] as const) {
    if (t.rank === 0) {
      throw new ShapeError(op, `argument '${name}' is a scalar (shape []); matmul needs operands of rank 1 or more`, 'multiply by a scalar with mul() instead');
    }
  }
  const ta = a.rank > 1 && transA;
  const tb = b.rank > 1 && transB;
  const describe = (t: Tensor, name: string, trans: boolean) => `${name} ${fmtShape(t.shape)}${trans ? ' (transposed)' : ''}`;
  // a: (…, M, K), stored (…, K, M) when transposed; a 1-D a is one row. b: (…, K, N) likewise.
  const [m, ka] = a.rank === 1 ? [1, a.shape[0]!] : ta ? [a.shape[a.rank - 1]!, a.shape[a.rank - 2]!] : [a.shape[a.rank - 2]!, a.shape[a.rank - 1]!];
  const [kb, n] = b.rank === 1 ? [b.shape[0]!, 1] : tb ? [b.shape[b.rank - 1]!, b.shape[b.rank - 2]!] : [b.shape[b.rank - 2]!, b.shape[b.rank - 1]!];
  if (ka !== kb) {
    throw new ShapeError(op, `inner dimensions differ: ${describe(a, 'a', ta)} has K = ${ka}, ${describe(b, 'b', tb)} has K = ${kb}`, 'the last dimension of a (its first, if transposed) must equal the second-to-last of b (its last, if transposed)');
  }
  const aBatch = a.shape.slice(0, Math.max(0, a.rank - 2));
  const bBatch = b.shape.slice(0, Math.max(0, b.rank - 2));
  const rank = Math.max(aBatch.length, bBatch.length);
  const batchShape = new Array<number>(rank).fill(1);
  for (let d = 0; d < rank; d++) {
    for (const s of [aBatch, bBatch]) {
      const size = s[s.length - rank + d] ?? 1;
      if (size === 1) continue;
      if (batchShape[d] !== 1 && batchShape[d] !== size) {
        throw new ShapeError(op, `batch dimensions [${aBatch.join(', ')}] of a ${fmtShape(a.shape)} and [${bBatch.join(', ')}] of b ${fmtShape(b.shape)} cannot be broadcast (dimension ${d - rank} differs)`, 'batch dimensions (all but the last two), counted from the right, must be equal or 1');
      }
      batchShape[d] = size;
    }
  }
  const outShape = [...batchShape, ...(a.rank === 1 ? [] : [m]), ...(b.rank === 1 ? [] : [n])];
  return { m, n, k: ka, transA: ta, transB: tb, aBatch, bBatch, batchShape, outShape };
}

/**
 * `act(op(a) @ op(b) + bias)`: batched matrix product with broadcasting of the batch dimensions (all
 * but the last two), PyTorch's rules for 1-D operands (a 1-D `a` is a row, a 1-D `b` a column, and that
 * dimension is dropped from the result), transposed operands read in place, and a fused bias + GELU
 * epilogue. Float32 only.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const op = 'matmul';
  const { transA = false, transB = false, bias, activation } = options;
  expectTensor(op, 'a', a);
  expectTensor(op, 'b', b);
  if (bias !== undefined) expectTensor(op, 'bias', bias);
  expectSameDevice(op, bias ? { a, b, bias } : { a, b });
  if (activation !== undefined && activation !== 'gelu') {
    throw new WgradError(op, `activation '${String(activation)}' is not supported`, "use activation: 'gelu', or apply the activation as a separate op");
  }
  const p = plan(op, a, b, transA, transB);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== p.n)) {
    throw new ShapeError(op, `bias ${fmtShape(bias.shape)} does not match the N = ${p.n} columns of a ${fmtShape(a.shape)} @ b ${fmtShape(b.shape)}`, `pass a bias of shape [${p.n}]`);
  }

  const inputs = bias ? [a, b, bias] : [a, b];
  const attrs: MatmulAttrs = { transA: p.transA, transB: p.transB, bias: bias !== undefined, ...(activation ? { activation } : {}) };
  // With GELU and gradients wanted, the kernel also writes the pre-activation, which gelu's rule needs.
  const keepPre = activation === 'gelu' && inputs.some((t) => t.requiresGrad);
  const out = Tensor.empty(a.device, p.outShape, 'float32', op);
  const pre = keepPre ? Tensor.empty(a.device, p.outShape, 'float32', op) : null;
  dispatch(op, p, a, b, bias ?? null, activation === 'gelu', out, pre);
  if (!pre) return record(op, inputs, out, attrs);
  record(op, inputs, pre, { ...attrs, activation: undefined });
  record('gelu', [pre], out);
  pre.dispose(); // the graph keeps what it needs
  return out;
}

function dispatch(op: string, p: Plan, a: Tensor, b: Tensor, bias: Tensor | null, gelu: boolean, out: Tensor, pre: Tensor | null): void {
  const batch = sizeOf(p.batchShape);
  if (batch === 0 || p.m === 0 || p.n === 0) return;
  const m4 = Math.ceil(p.m / 4);
  const n4 = Math.ceil(p.n / 4);
  const epilogue = { BIAS: bias ? 1 : 0, ACT: gelu ? 1 : 0 };
  // Per-operand batch strides, in units of `aUnit` / `bUnit` (one matrix of the operand).
  const strides = (aUnit: number, bUnit: number) => ({
    a_batch_strides: broadcastStrides(p.aBatch, p.batchShape).map((s) => s * aUnit),
    b_batch_strides: broadcastStrides(p.bBatch, p.batchShape).map((s) => s * bUnit),
  });
  const shared = { m: p.m, n: p.n, k: p.k, m4, n4, batch, batch_rank: p.batchShape.length, batch_shape: p.batchShape, tiles_m: 1 };
  const biasBinding = bias ?? a; // read-only and unread without BIAS

  if (p.m === 1 && !pre) {
    const { MV_WG, KS, TN4 } = MATVEC;
    const tilesN = Math.ceil(p.n / ((MV_WG / KS) * TN4 * 4));
    const args = {
      uniforms: { ...shared, tiles_n: tilesN, ...strides(p.k, p.k * p.n) },
      overrides: { MV_WG, KS, TN4, TRANS_B: p.transB ? 1 : 0, ...epilogue },
      workgroups: batch * tilesN,
    };
    if (p.transB && p.k % 4 === 0) {
      launch(op, 'matvec_dot4', { ...args, bindings: { a4: a, b4: b, bias: biasBinding, c: out } });
    } else if (!p.transB && p.n % 4 === 0) {
      launch(op, 'matvec_vec4', { ...args, bindings: { a, b4: b, bias: biasBinding, c: out } });
    } else {
      launch(op, 'matvec', { ...args, bindings: { a, b, bias: biasBinding, c: out } });
    }
    return;
  }

  // Both operands as k-major panels of 4-row vec4 groups: B (K, N) with N % 4 == 0 and A stored
  // transposed (K, M) with M % 4 == 0 already are; otherwise one packing pass copies them.
  const aPanel = p.transA && p.m % 4 === 0 ? a : pack(op, a, p.m, p.k, p.transA, sizeOf(p.aBatch));
  const bPanel = !p.transB && p.n % 4 === 0 ? b : pack(op, b, p.n, p.k, !p.transB, sizeOf(p.bBatch));
  const { TM, TN4, WGX, WGY } = TILE;
  const tilesM = Math.ceil(p.m / (WGY * TM));
  const tilesN = Math.ceil(p.n / (WGX * TN4 * 4));
  launch(op, pre ? 'matmul_tile_pre' : 'matmul_tile', {
    bindings: { a4: aPanel, b4: bPanel, bias: biasBinding, c: out, ...(pre ? { pre } : {}) },
    uniforms: { ...shared, tiles_m: tilesM, tiles_n: tilesN, ...strides(p.k * m4, p.k * n4) },
    overrides: { TM, TN4, WGX, WGY, ...epilogue },
    workgroups: batch * tilesM * tilesN,
  });
  // The pool may hand these buffers out again at once: later dispatches run after this one.
  if (aPanel !== a) aPanel.dispose();
  if (bPanel !== b) bPanel.dispose();
}

/** Copies `matrices` matrices of `rows` × `k` (stored (k, rows) when `transposed`) into a panel. */
function pack(op: string, x: Tensor, rows: number, k: number, transposed: boolean, matrices: number): Tensor {
  const rows4 = Math.ceil(rows / 4);
  const panel = Tensor.empty(x.device, [matrices, k, rows4 * 4], 'float32', op);
  // Rows read as vec4 along K, four at a time, when K allows it.
  const blocks = !transposed && k % 4 === 0;
  const count = matrices * (blocks ? k / 4 : k) * rows4;
  if (count > 0) {
    launch(op, blocks ? 'matmul_pack_rows4' : 'matmul_pack', {
      bindings: blocks ? { src4: x, panel } : { src: x, panel },
      uniforms: { rows, k, rows4, count },
      overrides: blocks ? {} : { TRANSPOSED: transposed ? 1 : 0 },
      workgroups: Math.ceil(count / 64),
    });
  }
  return panel;
}
