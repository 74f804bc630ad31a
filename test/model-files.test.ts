import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows, testDevice } from './helpers.js';
import { CheckpointError, LimitError } from '../src/errors.js';
import { GPT, type GPTConfig } from '../src/nn/gpt.js';
import { CharTokenizer } from '../src/data/char-tokenizer.js';
import { tensor } from '../src/tensor/create.js';
import type { Device } from '../src/gpu/device.js';
import { checkpointFiles, checkpointFromFiles } from '../src/io/model-files.js';

const test = suite('model-files');
const CONFIG: GPTConfig = { vocabSize: 8, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0, bias: true };
const tokenizer = CharTokenizer.fromCorpus('hello world'); // 8 distinct characters

/** Live tensors and their bytes (the pool may keep freed buffers for reuse). */
function live(device: Device): [number, number] {
  const m = device.memory();
  return [m.tensors, m.bytesInUse];
}

/** A checkpoint's files as a browser gets them: bytes by name. */
async function filesOf(model: GPT): Promise<Record<string, Uint8Array>> {
  const utf8 = new TextEncoder();
  const files = await checkpointFiles({ model, tokenizer });
  return Object.fromEntries(Object.entries(files).map(([name, v]) => [name, typeof v === 'string' ? utf8.encode(v) : v]));
}

test('files → model: the same weights, tokenizer and logits (no file system involved)', async () => {
  const device = await testDevice();
  const model = new GPT(CONFIG, { device, seed: 3 });
  const files = await filesOf(model);
  assert.equal(Object.keys(files).sort(), ['config.json', 'model.safetensors', 'tokenizer.json']);
  const loaded = checkpointFromFiles(files, device, 'test');
  assert.equal(loaded.model.config, CONFIG);
  assert.equal(loaded.tokenizer.toJSON(), tokenizer.toJSON());
  assert.is(loaded.trainState, null);
  const idx = tensor(Int32Array.from([1, 2, 3, 4]), [1, 4], { device, dtype: 'int32' });
  model.eval();
  loaded.model.eval();
  assert.equal(await loaded.model.forward(idx).logits.toArray(), await model.forward(idx).logits.toArray());
  model.dispose();
  loaded.model.dispose();
});

test('a model larger than the device can bind is a LimitError naming the tensor and the limit; nothing is allocated', async () => {
  const device = await testDevice();
  const model = new GPT(CONFIG, { device, seed: 3 });
  const files = await filesOf(model);
  const config = JSON.parse(new TextDecoder().decode(files['config.json']));
  const limit = Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize);
  const positions = Math.ceil(limit / 4 / 64) + 1; // a 64-wide position embedding one row past the limit
  files['config.json'] = new TextEncoder().encode(JSON.stringify({ ...config, n_positions: positions, n_ctx: positions, n_embd: 64 }));
  const before = live(device);
  assertThrows(() => checkpointFromFiles(files, device, 'big/'), LimitError, 'big/', 'position embedding', 'maxStorageBufferBindingSize', 'too large');
  assert.equal(live(device), before);
  model.dispose();
});

test('missing or inconsistent files are CheckpointErrors naming the file', async () => {
  const device = await testDevice();
  const model = new GPT(CONFIG, { device, seed: 3 });
  const files = await filesOf(model);
  const without = (name: string) => Object.fromEntries(Object.entries(files).filter(([n]) => n !== name));
  for (const name of ['model.safetensors', 'config.json', 'tokenizer.json']) assertThrows(() => checkpointFromFiles(without(name), device, 'picked'), CheckpointError, 'picked', `has no ${name}`);
  const config = JSON.parse(new TextDecoder().decode(files['config.json']));
  const small = { ...files, 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, vocab_size: 4 })) };
  assertThrows(() => checkpointFromFiles(small, device, 'picked'), CheckpointError, 'tokenizer.json has 8 tokens', "vocab_size is 4");
  const bad = { ...files, 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, n_layer: 0 })) };
  assertThrows(() => checkpointFromFiles(bad, device, 'picked'), CheckpointError, "n_layer is 0");
  const before = live(device);
  const wider = { ...files, 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, n_embd: 16 })) };
  assertThrows(() => checkpointFromFiles(wider, device, 'picked'), CheckpointError, 'has shape [8,8], the model expects [8,16]');
  assert.equal(live(device), before, 'the half-built model is disposed');
  model.dispose();
});

test.run();
