/**
 * The hook through which ops report what they computed, so that autograd (a layer above the ops)
 * can build its graph without the ops importing it. Until src/autograd/ installs a recorder, recording
 * does nothing.
 */
import type { Tensor } from './tensor.js';

/** What an op reports: its name, the tensor inputs, the output, and op-specific attributes. */
export interface OpRecord {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** A node of the autograd graph, as the tensor layer sees it. */
export interface GradNode {
  readonly op: string;
  /** The tensor this node produced was disposed: one fewer owner. */
  release(): void;
}

let recorder: ((r: OpRecord) => void) | null = null;

export function installRecorder(fn: (r: OpRecord) => void): void {
  recorder = fn;
}

/** Called by every differentiable op after it dispatched its kernel. */
export function record(op: string, inputs: readonly Tensor[], output: Tensor, attrs: Readonly<Record<string, unknown>> = {}): Tensor {
  recorder?.({ op, inputs, output, attrs });
  return output;
}
