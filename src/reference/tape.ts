/**
 * A float64 autograd over the oracle: each node applies a reference op and back-propagates with the
 * oracle's vector-Jacobian product of the same name (src/reference/grad.ts). Whole-model oracles (the
 * llm.c idea: check the full GPT's logits, loss and every gradient) are written with it.
 */
import { referenceVjp } from './grad.js';
import { ndarray, type NDArray } from './ndarray.js';

export class RefVar {
  grad: NDArray | null = null;

  constructor(
    readonly value: NDArray,
    readonly op: string | null = null,
    readonly inputs: readonly RefVar[] = [],
    readonly attrs: Readonly<Record<string, unknown>> = {},
  ) {}
}

/** A leaf (a parameter or an input). */
export function leaf(value: NDArray): RefVar {
  return new RefVar(value);
}

/** Apply the oracle op `fn`, recording `op` (a key of referenceVjp) for backward. */
export function apply(op: string, fn: (...x: NDArray[]) => NDArray, inputs: RefVar[], attrs: Record<string, unknown> = {}): RefVar {
  if (!referenceVjp[op]) throw new Error(`reference tape: no oracle gradient for '${op}'`);
  return new RefVar(fn(...inputs.map((v) => v.value)), op, inputs, attrs);
}

/** Back-propagate from a scalar: every reachable RefVar gets .grad. */
export function backwardRef(root: RefVar): void {
  const order: RefVar[] = [];
  const seen = new Set<RefVar>();
  const visit = (v: RefVar) => {
    if (seen.has(v)) return;
    seen.add(v);
    v.inputs.forEach(visit);
    order.push(v);
  };
  visit(root);
  root.grad = ndarray(root.value.shape, Array.from(root.value.data, () => 1));
  for (const v of order.reverse()) {
    if (!v.op || !v.grad) continue;
    const grads = referenceVjp[v.op]!(v.inputs.map((i) => i.value), v.grad, v.attrs);
    v.inputs.forEach((input, i) => {
      const g = grads[i];
      if (!g) return;
      if (!input.grad) input.grad = ndarray(input.value.shape, g.data);
      else for (let j = 0; j < g.data.length; j++) input.grad.data[j]! += g.data[j]!;
    });
  }
}
