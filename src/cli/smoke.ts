/**
 * `wgrad smoke`: proves the engine works on this machine: acquires a device, runs kernels and checks
 * their results against the float64 oracle.
 */
import { Command } from 'commander';
import { init } from '../gpu/acquire.js';
import { add, gelu } from '../ops/elementwise.js';
import { randn } from '../tensor/create.js';
import { binary, unary } from '../reference/elementwise.js';
import { ndarray } from '../reference/ndarray.js';

export function smokeCommand(): Command {
  return new Command('smoke').description('acquire a device, run a kernel, check it against the oracle').action(async () => {
    const device = await init();
    const { vendor, architecture, description } = device.adapterInfo;
    console.log(`adapter: ${[vendor, architecture, description].filter(Boolean).join(' / ')}`);
    const n = 1 << 20;
    const a = randn([n], { device, seed: 1 });
    const b = randn([n], { device, seed: 2 });
    const started = performance.now();
    const y = gelu(add(a, b));
    const got = await y.toArray();
    const ms = performance.now() - started;
    const want = unary('gelu', binary('add', ndarray([n], await a.toArray()), ndarray([n], await b.toArray())));
    let maxErr = 0;
    for (let i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want.data[i]!));
    console.log(`gelu(a + b) over ${n} elements: ${ms.toFixed(1)} ms including readback; max |error| vs float64 oracle ${maxErr.toExponential(2)}`);
    device.destroy();
    if (!(maxErr < 1e-5)) {
      console.error('smoke: the result disagrees with the oracle');
      process.exit(1);
    }
  });
}
