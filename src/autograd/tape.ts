/**
 * Reverse-mode autograd, eager and PyTorch-style. Ops report each result through the tensor layer's
 * `record` hook; when gradients are on and an input requires them, the result gets a Node holding what
 * the op's gradient rule saved. `backward()` walks the nodes in reverse topological order.
 *
 * Memory: a node's saved tensors are freed as soon as backward has used them, or when nothing can reach
 * the node any more (its output tensor and every node downstream of it are gone). So disposing a loss
 * that was never back-propagated, or leaving the scope() that made it, frees its whole graph.
 */
import { AutogradError, DTypeError, ShapeError, WgradError, fmtShape } from '../errors.js';
import { installRecorder, type GradNode, type OpRecord } from '../tensor/record.js';
import { keep, scope } from '../tensor/scope.js';
import { sameShape, type Shape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { full } from '../tensor/create.js';
import { add } from '../ops/elementwise.js';
import { sumToShape } from './sum-to-shape.js';
import { gradientOf, type BackwardContext } from './registry.js';

interface NodeInput {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly requiresGrad: boolean;
  /** A leaf that requires grad: its .grad accumulates. */
  readonly leaf: Tensor | null;
  /** The node that produced a non-leaf input. */
  readonly node: Node | null;
}

class Node implements GradNode {
  /** One owner for the output tensor, plus one per downstream node. */
  private owners = 1;
  private saved: Tensor[] | null;
  backpropagated = false;

  constructor(
    readonly op: string,
    readonly attrs: Readonly<Record<string, unknown>>,
    readonly inputs: readonly NodeInput[],
    readonly outputShape: Shape,
    readonly outputDtype: DType,
    saved: Tensor[],
  ) {
    this.saved = saved;
    for (const input of inputs) input.node?.retain();
  }

  retain(): void {
    this.owners++;
  }

  release(): void {
    if (--this.owners > 0) return;
    this.freeSaved();
    for (const input of this.inputs) input.node?.release();
  }

  savedTensors(): Tensor[] {
    if (!this.saved) {
      throw new AutogradError('backward', `the graph through '${this.op}' was already back-propagated (or freed), and its saved tensors are gone`, 'run the forward pass again before calling backward() a second time');
    }
    return this.saved;
  }

  freeSaved(): void {
    for (const t of this.saved ?? []) t.dispose();
    this.saved = null;
  }
}

let gradDisabled = 0;

/** Whether ops currently record the graph. */
export function isGradEnabled(): boolean {
  return gradDisabled === 0;
}

/** Run fn without recording gradients (evaluation, optimizer updates). Synchronous, as scope(). */
export function noGrad<T>(fn: () => T): T {
  gradDisabled++;
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new WgradError('noGrad', 'the function returned a Promise', 'noGrad() is synchronous: await outside it');
    }
    return result;
  } finally {
    gradDisabled--;
  }
}

installRecorder((r: OpRecord) => {
  if (gradDisabled > 0 || !r.inputs.some((t) => t.requiresGrad)) return;
  const rule = gradientOf(r.op);
  const saved = (rule?.save?.({ inputs: r.inputs, output: r.output, attrs: r.attrs }) ?? []).map((t) => keep(t.view()));
  const inputs = r.inputs.map((t) => ({
    shape: t.shape,
    dtype: t.dtype,
    requiresGrad: t.requiresGrad,
    leaf: t.requiresGrad && !t.node ? t : null,
    node: (t.node as Node | null) ?? null,
  }));
  r.output.requiresGrad = true;
  r.output.node = new Node(r.op, r.attrs, inputs, r.output.shape, r.output.dtype, saved);
});

/**
 * Back-propagate from `root`: accumulate d(root)/d(leaf) into the `.grad` of every leaf that requires
 * grad. A non-scalar root needs `gradient` (same shape as root). Leaf gradients add up across calls
 * until they are zeroed.
 */
export function backward(root: Tensor, gradient?: Tensor): void {
  const where = 'backward';
  root.buffer(where);
  if (!root.requiresGrad) {
    throw new AutogradError(where, `tensor #${root.id} ${fmtShape(root.shape)} does not require grad`, 'create the leaves with { requiresGrad: true } (or set t.requiresGrad = true) before computing from them');
  }
  if (!gradient && root.size !== 1) {
    throw new ShapeError(where, `backward() on a non-scalar tensor ${fmtShape(root.shape)} needs a gradient argument`, 'reduce to a scalar first (e.g. loss.mean()), or pass a gradient of the same shape');
  }
  if (gradient && !sameShape(gradient.shape, root.shape)) {
    throw new ShapeError(where, `gradient ${fmtShape(gradient.shape)} does not match the tensor ${fmtShape(root.shape)}`, 'pass a gradient of the same shape as the tensor');
  }
  noGrad(() => {
    const seed = gradient ? keep(gradient.view()) : keep(full(root.shape, 1, { device: root.device }));
    const rootNode = root.node as Node | null;
    if (!rootNode) {
      accumulateLeaf(root, seed);
      return;
    }
    const order = topologicalOrder(rootNode);
    const grads = new Map<Node, Tensor>([[rootNode, seed]]);
    for (const node of order) {
      const dy = grads.get(node);
      grads.delete(node);
      if (!dy) {
        node.freeSaved();
        continue;
      }
      const inputGrads = runRule(node, dy);
      dy.dispose();
      node.freeSaved();
      node.backpropagated = true;
      node.inputs.forEach((input, i) => {
        const g = inputGrads[i];
        if (!g || !input.requiresGrad) {
          g?.dispose();
          return;
        }
        if (input.leaf) accumulateLeaf(input.leaf, g);
        else if (input.node) {
          const prev = grads.get(input.node);
          grads.set(input.node, prev ? accumulate(prev, g) : g);
        }
      });
    }
  });
}

function runRule(node: Node, dy: Tensor): (Tensor | null)[] {
  const rule = gradientOf(node.op);
  if (!rule) {
    throw new AutogradError('backward', `no gradient is registered for op '${node.op}'`, 'register one with registerGradient(), or compute this op under noGrad()');
  }
  const saved = node.savedTensors();
  const ctx: BackwardContext = {
    saved,
    attrs: node.attrs,
    inputShapes: node.inputs.map((i) => i.shape),
    outputShape: node.outputShape,
    needsGrad: node.inputs.map((i) => i.requiresGrad),
  };
  // Temporaries of the rule are freed by the scope; the gradients it returns are kept. A rule may
  // return dy itself, or one tensor for several inputs: each gradient gets its own view, so that
  // disposing one (or dy) leaves the others intact.
  const raw = scope(() => rule.backward(ctx, dy));
  const used = new Set<Tensor>([dy]);
  return node.inputs.map((input, i) => {
    let g = raw[i] ?? null;
    if (!g) return null;
    if (used.has(g)) g = g.view();
    used.add(g);
    if (!input.requiresGrad) {
      g.dispose();
      return null;
    }
    const reduced = sumToShape(g, input.shape);
    if (reduced !== g) g.dispose();
    if (!sameShape(reduced.shape, input.shape) || reduced.dtype !== input.dtype) {
      const Err = reduced.dtype !== input.dtype ? DTypeError : ShapeError;
      throw new Err('backward', `the gradient rule of '${node.op}' returned ${fmtShape(reduced.shape)} ${reduced.dtype} for input ${i}, which is ${fmtShape(input.shape)} ${input.dtype}`, `fix the rule registered for '${node.op}': each gradient must have its input's shape and dtype`);
    }
    return keep(reduced);
  });
}

function accumulate(prev: Tensor, g: Tensor): Tensor {
  const sum = keep(add(prev, g));
  prev.dispose();
  g.dispose();
  return sum;
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (leaf.isDisposed) {
    g.dispose();
    return;
  }
  leaf.grad = leaf.grad ? accumulate(leaf.grad, g) : keep(g);
}

function topologicalOrder(root: Node): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  // Iterative post-order DFS: deep graphs (long training unrolls) must not overflow the stack.
  const stack: [Node, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (node.backpropagated) {
      throw new AutogradError('backward', `the graph through '${node.op}' was already back-propagated, and its saved tensors were freed`, 'run the forward pass again before calling backward() a second time');
    }
    if (i < node.inputs.length) {
      top[1]++;
      const next = node.inputs[i]!.node;
      if (next && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}
