/** Shared test helpers: one device for the whole run, seeded data, and comparisons with tolerances. */
import * as assert from 'uvu/assert';
import { init, type Device } from '../src/gpu/index.js';
import { useDevice } from '../src/gpu/default-device.js';
import { Rng } from '../src/tensor/random.js';
import { tensor } from '../src/tensor/create.js';
import type { Tensor } from '../src/tensor/tensor.js';
import type { NDArray } from '../src/reference/ndarray.js';
import { sizeOf } from '../src/tensor/shape.js';

let device: Device | null = null;

/** The device every test file shares (created on first use). */
export async function testDevice(): Promise<Device> {
  if (!device) {
    device = await init();
    useDevice(device);
  }
  return device;
}

export function closeTestDevice(): void {
  device?.destroy();
  device = null;
}

/** Random values of a shape, as a float64 oracle array and the same values as a GPU tensor. */
export function randomPair(rng: Rng, shape: readonly number[], scale = 1, offset = 0): { ref: NDArray; gpu: Tensor } {
  const data = Float64Array.from({ length: sizeOf(shape) }, () => Math.fround(offset + scale * rng.normal()));
  return { ref: { shape: [...shape], data }, gpu: tensor(Float32Array.from(data), shape) };
}

/**
 * Asserts |actual - expected| <= atol + rtol·|expected| elementwise (NaN must match NaN, ±Inf must
 * match exactly), and equal shapes. Reports the worst element.
 */
export async function assertClose(actual: Tensor, expected: NDArray, { rtol = 1e-5, atol = 1e-6, label = '' } = {}): Promise<void> {
  assert.equal([...actual.shape], [...expected.shape], `${label} shape`);
  const got = await actual.toArray();
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!;
    const g = got[i]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (!Object.is(g, e) && !(Number.isNaN(e) && Number.isNaN(g))) {
        worst = i;
        worstExcess = Infinity;
      }
      continue;
    }
    const excess = Math.abs(g - e) - (atol + rtol * Math.abs(e));
    if (excess > worstExcess || Number.isNaN(excess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    assert.unreachable(`${label} element ${worst}: got ${got[worst]}, expected ${expected.data[worst]} (rtol ${rtol}, atol ${atol}, shape [${expected.shape}])`);
  }
}

/** Asserts that fn throws an error of class `type` whose message contains every fragment. */
export function assertThrows(fn: () => unknown, type: new (...args: never[]) => Error, ...fragments: string[]): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, type, `expected ${type.name}, got ${(err as Error).name}: ${(err as Error).message}`);
    for (const f of fragments) assert.ok((err as Error).message.includes(f), `message lacks "${f}": ${(err as Error).message}`);
    assert.ok((err as Error).message.includes('HINT:'), 'message has a HINT');
    return;
  }
  assert.unreachable(`expected ${type.name} to be thrown`);
}

/** Asserts that fn's promise rejects with an error of class `type` whose message contains every fragment. */
export async function assertRejects(fn: () => Promise<unknown>, type: new (...args: never[]) => Error, ...fragments: string[]): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.instance(err, type, `expected ${type.name}, got ${(err as Error).name}: ${(err as Error).message}`);
    for (const f of fragments) assert.ok((err as Error).message.includes(f), `message lacks "${f}": ${(err as Error).message}`);
    if (type !== Error) assert.ok((err as Error).message.includes('HINT:'), 'message has a HINT');
    return;
  }
  assert.unreachable(`expected ${type.name} to be rejected`);
}
