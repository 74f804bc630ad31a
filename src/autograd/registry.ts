/**
 * The gradient registry: one rule per op name (the TF.js `registerGradient` idea). A rule says which
 * tensors the forward pass must keep, and maps the output's gradient to the inputs' gradients.
 * Gradients may come back in the output's broadcast shape; the tape sums them to each input's shape
 * and then checks shape and dtype.
 */
import type { Shape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** What a gradient rule's `save` sees at forward time: the op's inputs, its output and attributes. */
export interface SaveContext {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** What a gradient rule's `backward` sees: the saved tensors, attributes, shapes, and which inputs need a gradient. */
export interface BackwardContext {
  /** The tensors `save` returned, in order (views that live until backward has used them). */
  readonly saved: readonly Tensor[];
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly inputShapes: readonly Shape[];
  readonly outputShape: Shape;
  /** Which inputs need a gradient: a rule may skip the others (return null). */
  readonly needsGrad: readonly boolean[];
}

/** The gradient of one op: which tensors to keep from the forward pass, and how dy maps to the inputs' gradients. */
export interface GradientRule {
  /** The tensors backward will need (they are kept alive until backward has run, then freed). */
  save?(ctx: SaveContext): Tensor[];
  /** One gradient per input, or null where the input gets none. */
  backward(ctx: BackwardContext, dy: Tensor): (Tensor | null)[];
}

const rules = new Map<string, GradientRule>();

/** Register (or replace) the gradient of an op. Custom ops call this with their own op name. */
export function registerGradient(op: string, rule: GradientRule): void {
  rules.set(op, rule);
}

export function gradientOf(op: string): GradientRule | undefined {
  return rules.get(op);
}
