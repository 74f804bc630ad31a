import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testDevice } from './helpers.js';
import { AdamW, Linear, Module, Rng, crossEntropy, keep, relu, scope, tensor, type Tensor } from '../src/index.js';

const test = suite('mlp');
test.before(async () => {
  await testDevice();
});

/** Two layers: Linear → ReLU → Linear. */
class MLP extends Module {
  private readonly fc1: Linear;
  private readonly fc2: Linear;
  constructor(inputs: number, hidden: number, classes: number, rng: Rng) {
    super();
    this.fc1 = this.module('fc1', new Linear(inputs, hidden, { rng }));
    this.fc2 = this.module('fc2', new Linear(hidden, classes, { rng }));
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(relu(this.fc1.forward(x)));
  }
}

/** Two interleaved spirals: a task a linear model cannot solve (it stays near ln 2 = 0.693). */
function spirals(n: number, rng: Rng): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    const t = 0.5 + 3 * rng.uniform();
    const angle = t * 2 + cls * Math.PI;
    x[2 * i] = t * Math.cos(angle) / 3 + 0.02 * rng.normal();
    x[2 * i + 1] = t * Math.sin(angle) / 3 + 0.02 * rng.normal();
    y[i] = cls;
  }
  return { x, y };
}

function step(model: MLP, opt: AdamW, x: Tensor, y: Tensor): Tensor {
  return scope(() => {
    const loss = crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    return keep(loss);
  });
}

test('a two-layer MLP learns two spirals with AdamW (loss from ~0.69 to below 0.15)', async () => {
  const rng = new Rng(1);
  const data = spirals(256, rng);
  const x = tensor(data.x, [256, 2]);
  const y = tensor(data.y, [256], { dtype: 'int32' });
  const model = new MLP(2, 64, 2, rng);
  const opt = new AdamW(model, { lr: 0.01, weightDecay: 0 });
  let first = NaN;
  let last = NaN;
  for (let i = 0; i < 400; i++) {
    const loss = step(model, opt, x, y);
    if (i === 0) first = await loss.item();
    if (i === 399) last = await loss.item();
    loss.dispose();
  }
  assert.ok(first > 0.6, `initial loss ${first}`);
  assert.ok(last < 0.15, `final loss ${last}`);
  opt.dispose();
  model.dispose();
  x.dispose();
  y.dispose();
});

test('200 training steps leave GPU memory and the tensor count flat', async () => {
  const device = await testDevice();
  const rng = new Rng(2);
  const data = spirals(64, rng);
  const x = tensor(data.x, [64, 2]);
  const y = tensor(data.y, [64], { dtype: 'int32' });
  const model = new MLP(2, 32, 2, rng);
  const opt = new AdamW(model, { lr: 0.01 });
  step(model, opt, x, y).dispose(); // creates the optimizer state
  await device.sync();
  const before = device.memory();
  for (let i = 0; i < 200; i++) step(model, opt, x, y).dispose();
  await device.sync();
  const after = device.memory();
  assert.is(after.tensors, before.tensors, 'tensor count');
  assert.is(after.bytesInUse, before.bytesInUse, 'bytes in use');
  assert.is(after.bytesAllocated, before.bytesAllocated, 'bytes the pool holds');
  opt.dispose();
  model.dispose();
  x.dispose();
  y.dispose();
});

test.run();
