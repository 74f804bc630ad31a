/** Seeded benchmark inputs and small array helpers shared by the suites. */
import { Rng } from '../src/tensor/random.js';

/** `n` normal values times `scale`, from a generator seeded with `seed` (or an existing generator). */
export function randomF32(n: number, seed: number | Rng, scale = 1): Float32Array {
  const rng = typeof seed === 'number' ? new Rng(seed) : seed;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * rng.normal();
  return out;
}

/** Concatenates several results (output, then gradients) into one array for the oracle check. */
export function concat(parts: readonly { data: ArrayLike<number> }[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, p) => s + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p.data, at);
    at += p.data.length;
  }
  return out;
}

export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

export function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
