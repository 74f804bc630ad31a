/**
 * `scope(fn)`: every tensor created while fn runs is disposed when it returns, except the tensors it
 * returns (found in arrays and plain objects), which move to the enclosing scope. Synchronous on
 * purpose: an async function would let unrelated work join the scope while it awaits.
 */
import { WgradError } from '../errors.js';

/** Anything scope() can free: tensors, and objects holding GPU memory such as quantized weights. */
export interface Disposable {
  /** Free the GPU memory; safe to call twice. */
  dispose(): void;
  readonly isDisposed: boolean;
}

const stack: Set<Disposable>[] = [];

/** Called by every tensor as it is created. */
export function track(t: Disposable): void {
  stack[stack.length - 1]?.add(t);
}

/** Exclude a tensor from the scopes it was created in; it then lives until disposed explicitly. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

/** Run `fn` and dispose every tensor it created except those it returns (also inside arrays or objects) and those passed to keep(). Synchronous: `fn` must not await. */
export function scope<T>(fn: () => T): T {
  const tracked = new Set<Disposable>();
  stack.push(tracked);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    stack.pop();
    for (const t of tracked) t.dispose();
    throw err;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const t of tracked) t.dispose();
    throw new WgradError('scope', 'the function returned a Promise', 'scope() is synchronous: await outside it, and do only GPU work inside');
  }
  const returned = new Set<Disposable>();
  collect(result, returned);
  for (const t of tracked) {
    if (returned.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

function collect(value: unknown, into: Set<Disposable>): void {
  if (value === null || typeof value !== 'object') return;
  if (typeof (value as Disposable).dispose === 'function' && 'isDisposed' in (value as object)) {
    into.add(value as Disposable);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, into);
  } else if (Object.getPrototypeOf(value) === Object.prototype || value instanceof Map) {
    for (const v of value instanceof Map ? value.values() : Object.values(value)) collect(v, into);
  }
}
