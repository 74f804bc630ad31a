/**
 * Softmax cross-entropy: the fused kernels of kernels/cross_entropy.wgsl (log-sum-exp and loss per row,
 * the mean or sum, and the gradient with respect to the logits in one kernel), and
 * `composedCrossEntropy`, the same loss built from existing ops, the oracle for the fused gradients.
 */
import { ShapeError, WgradError, fmtShape } from '../errors.js';
import { launch } from '../tensor/launch.js';
import { record } from '../tensor/record.js';
import { scope } from '../tensor/scope.js';
import { tensor } from '../tensor/create.js';
import { Tensor } from '../tensor/tensor.js';
import { div, eq, mul, ne, neg, where } from './elementwise.js';
import { gather } from './layout.js';
import { sum } from './reduce.js';
import { logSoftmax } from './softmax.js';
import { expectSameDevice, expectTensor } from './validate.js';

/** How per-row losses are combined: their mean over counted rows, their sum, or none (one loss per row). */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of crossEntropy: the reduction and the target value that is ignored. */
export interface CrossEntropyOptions {
  /** Rows whose target equals this get loss 0, no gradient, and do not count in the mean. Default -100, as PyTorch. */
  ignoreIndex?: number;
  /** 'mean' (default) over the rows not ignored, 'sum', or 'none' for the per-row losses (N). */
  reduction?: Reduction;
}

/**
 * Rows at least this long get a workgroup each; shorter ones an invocation each. On lavapipe an
 * invocation per row is 2–10× faster for short rows and ties from about 4,096 on (768 rows; 8 to 256
 * rows of 50,257), where a real GPU needs the workgroup per row.
 */
const LONG_ROW = 4096;
const ROW_WG = 64;
const ROWS_WG = 64;
/** Invocations of the one workgroup that sums the losses. */
const REDUCE_WG = 64;
/** Logits per backward invocation (measured on lavapipe: 64 was fastest for 512 × 50,257). */
const BACKWARD_CHUNK = 64;
const REDUCTION_CODES: Record<Reduction, number> = { none: 0, sum: 1, mean: 2 };

/** What the autograd rule of 'crossEntropy' finds in the record's attrs. */
export type CrossEntropyAttrs = {
  ignoreIndex: number;
  reduction: Reduction;
  /** (N, 2): each row's max and log Σ exp(logit - max), for the backward. */
  stats: Tensor;
  /** (1) int32: rows not ignored, for the backward of the mean (null for the other reductions). */
  count: Tensor | null;
};

function validate(op: string, logits: Tensor, targets: Tensor, options: CrossEntropyOptions): Required<CrossEntropyOptions> {
  expectTensor(op, 'logits', logits);
  expectTensor(op, 'targets', targets, ['int32']);
  expectSameDevice(op, { logits, targets });
  if (logits.rank !== 2) {
    throw new ShapeError(op, `logits ${fmtShape(logits.shape)} is not 2-D (N, V)`, 'reshape the logits to [rows, classes], e.g. logits.reshape([B * T, V]), and the targets to [rows]');
  }
  const n = logits.shape[0]!;
  if (targets.rank !== 1 || targets.shape[0] !== n) {
    throw new ShapeError(op, `targets ${fmtShape(targets.shape)} do not match logits ${fmtShape(logits.shape)}: expected [${n}], one class index per row`, `pass int32 targets of shape [${n}] (reshape them as you reshaped the logits)`);
  }
  const { ignoreIndex = -100, reduction = 'mean' } = options;
  if (!Number.isInteger(ignoreIndex) || ignoreIndex < -(2 ** 31) || ignoreIndex >= 2 ** 31) {
    throw new WgradError(op, `ignoreIndex ${ignoreIndex} is not a 32-bit integer`, 'use an integer such as -100 (PyTorch\'s default)');
  }
  if (!(reduction in REDUCTION_CODES)) {
    throw new WgradError(op, `reduction '${String(reduction)}' is not one of 'mean', 'sum', 'none'`, "pass { reduction: 'mean' }, 'sum' or 'none'");
  }
  return { ignoreIndex, reduction };
}

/**
 * Softmax cross-entropy of `logits` (N, V) float32 against class indices `targets` (N) int32, as
 * PyTorch's F.cross_entropy: the mean over rows whose target is not `ignoreIndex` (NaN when every row is
 * ignored), or the sum, or the per-row losses (0 for ignored rows). A target outside [0, V) that is not
 * ignoreIndex gives that row a NaN loss (and NaN gradients): it is never used as an index. The gradient
 * flows to the logits only.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  const { ignoreIndex, reduction } = validate(op, logits, targets, options);
  const [n, v] = [logits.shape[0]!, logits.shape[1]!];
  const device = logits.device;
  const losses = Tensor.empty(device, [n], 'float32', op);
  const stats = Tensor.empty(device, [n, 2], 'float32', op);
  const long = v >= LONG_ROW;
  launch(op, long ? 'cross_entropy_forward' : 'cross_entropy_forward_rows', {
    bindings: { logits, targets, losses, stats },
    uniforms: { n_rows: n, v, ignore_index: ignoreIndex },
    overrides: { WG: long ? ROW_WG : ROWS_WG },
    workgroups: long ? n : Math.ceil(n / ROWS_WG),
  });
  let out = losses;
  let count: Tensor | null = null;
  if (reduction !== 'none') {
    out = Tensor.empty(device, [], 'float32', op);
    count = Tensor.empty(device, [1], 'int32', op);
    launch(op, 'cross_entropy_reduce', {
      bindings: { row_losses: losses, targets, loss: out, count },
      uniforms: { n_rows: n, v, ignore_index: ignoreIndex },
      overrides: { WG: REDUCE_WG, MEAN: reduction === 'mean' ? 1 : 0 },
      workgroups: 1,
    });
    losses.dispose();
  }
  const attrs: CrossEntropyAttrs = { ignoreIndex, reduction, stats, count: reduction === 'mean' ? count : null };
  record(op, [logits, targets], out, attrs);
  // The autograd rule keeps views of what it needs.
  stats.dispose();
  count?.dispose();
  return out;
}

/**
 * The backward of crossEntropy: dlogits = (softmax(logits) - onehot(targets)) · dloss, scaled by 1/count
 * for the mean, zero for ignored rows; one kernel, one invocation per 64 logits of a row. Not
 * differentiable itself.
 */
export function crossEntropyBackward(dloss: Tensor, logits: Tensor, targets: Tensor, stats: Tensor, count: Tensor | null, options: Required<CrossEntropyOptions>): Tensor {
  const op = 'crossEntropyBackward';
  const { ignoreIndex, reduction } = options;
  const [n, v] = [logits.shape[0]!, logits.shape[1]!];
  const dlogits = Tensor.empty(logits.device, logits.shape, 'float32', op);
  const chunksPerRow = Math.ceil(v / BACKWARD_CHUNK);
  launch(op, 'cross_entropy_backward', {
    // The count is only read for the mean; another buffer stands in otherwise.
    bindings: { logits, targets, row_stats: stats, dloss, valid_count: count ?? targets, dlogits },
    uniforms: { n_chunks: n * chunksPerRow, chunks_per_row: chunksPerRow, chunk: BACKWARD_CHUNK, v, ignore_index: ignoreIndex },
    overrides: { REDUCTION: REDUCTION_CODES[reduction], WG: ROWS_WG },
    threads: n * chunksPerRow,
  });
  return dlogits;
}

/**
 * crossEntropy composed from logSoftmax, gather, compare, where, sum and div: the oracle for the fused
 * gradients (its gradient comes from those ops' rules). Targets outside [0, V) count as ignored here
 * (the fused op gives them NaN).
 */
export function composedCrossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = 'composedCrossEntropy';
  const { ignoreIndex, reduction } = validate(op, logits, targets, options);
  const [n, v] = [logits.shape[0]!, logits.shape[1]!];
  return scope(() => {
    // Targets as floats t + 1 (0 for targets outside [0, V), which gather turns into zero rows).
    const classes = tensor(Float32Array.from({ length: v }, (_, k) => k + 1), [v, 1], { device: logits.device });
    const shifted = gather(classes, targets).reshape([n, 1]); // (N, 1)
    const hit = eq(shifted, classes.reshape([1, v])); // (N, V) bool: the one-hot of the targets
    const picked = sum(where(hit, logSoftmax(logits, -1), 0), -1); // (N): log p[target]
    const inRange = where(ne(shifted, 0), 1, 0);
    const kept = mul(inRange, where(ne(shifted, ignoreIndex + 1), 1, 0)).reshape([n]); // (N) 1 or 0
    const losses = mul(neg(picked), kept);
    if (reduction === 'none') return losses;
    if (reduction === 'sum') return sum(losses);
    return div(sum(losses), sum(kept));
  });
}
