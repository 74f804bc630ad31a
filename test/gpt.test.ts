import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertThrows, testDevice } from './helpers.js';
import { GPT, ValueError, noGrad, scope, tensor } from '../src/index.js';
import { referenceGPT } from '../src/reference/gpt.js';
import { Trainer } from '../src/train/trainer.js';
import { resolveConfig } from '../src/train/config.js';
import { loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { CharTokenizer } from '../src/data/char-tokenizer.js';
import { generate } from '../src/train/generate.js';

const test = suite('gpt');
test.before(async () => {
  await testDevice();
});

const tiny = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0, bias: true };

function maxErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  return err / Math.max(scale, 1e-12);
}

test('the whole model matches a float64 oracle: logits, loss and every parameter gradient', async () => {
  const device = await testDevice();
  for (const bias of [true, false]) {
    const config = { ...tiny, bias };
    const model = new GPT(config, { device, seed: 3 });
    const [B, T] = [2, 7];
    const idx = Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % config.vocabSize);
    const tgt = Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % config.vocabSize);
    const weights: Record<string, { shape: number[]; data: Float64Array }> = {};
    for (const [name, p] of model.namedParameters()) weights[name] = { shape: [...p.shape], data: Float64Array.from(await p.toArray()) };
    const ref = referenceGPT(config, weights, { shape: [B, T], data: Float64Array.from(idx) }, { shape: [B * T], data: Float64Array.from(tgt) });

    const { logits, loss } = model.forward(tensor(idx, [B, T], { dtype: 'int32' }), tensor(tgt, [B, T], { dtype: 'int32' }));
    loss!.backward();
    // float32 against float64 through ~20 ops: logits and loss to 1e-5, gradients to 1e-4 of their scale.
    assert.ok(maxErr(await logits.toArray(), ref.logits.data) < 1e-5, 'logits');
    assert.ok(Math.abs((await loss!.item()) - ref.loss) < 1e-5, `loss ${await loss!.item()} vs ${ref.loss}`);
    for (const [name, p] of model.namedParameters()) {
      const err = maxErr(await p.grad!.toArray(), ref.grads[name]!.data);
      assert.ok(err < 1e-4, `gradient of ${name}: relative error ${err}`);
    }
    logits.dispose();
    loss!.dispose();
    model.dispose();
  }
});

test('generation with the KV cache gives the same logits as recomputing the prefix', async () => {
  const device = await testDevice();
  const model = new GPT(tiny, { device, seed: 4 });
  const ids = [1, 5, 2, 9, 3, 3];
  const full = noGrad(() => scope(() => model.forward(tensor(ids, [1, ids.length], { dtype: 'int32' })).logits));
  const caches = Array.from({ length: tiny.nLayer }, () => ({ k: null, v: null }));
  const stepwise: number[] = [];
  for (let t = 0; t < ids.length; t++) {
    const out = noGrad(() => model.forward(tensor([ids[t]!], [1, 1], { dtype: 'int32' }), undefined, caches).logits);
    stepwise.push(...(await out.toArray()));
  }
  assert.ok(maxErr(stepwise, await full.toArray()) < 1e-5);
  const greedy = await generate(model, [1, 2], 20, { temperature: 0 });
  assert.is(greedy.length, 20, 'generates past the context (the cache restarts when full)');
  full.dispose();
  model.dispose();
});

test('training 2N steps equals training N, checkpointing, resuming and training N more', async () => {
  const device = await testDevice();
  const dir = await mkdtemp(join(tmpdir(), 'wgrad-resume-'));
  try {
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(40);
    const tokenizer = CharTokenizer.fromCorpus(text);
    const tokens = tokenizer.encode(text);
    const train = tokens.subarray(0, 1600);
    const val = tokens.subarray(1600);
    const config = resolveConfig('tiny', { nLayer: 1, nEmbd: 16, blockSize: 16, batchSize: 4, iters: 6, warmup: 2, dropout: 0.1, evalIters: 2 });
    const straight = new Trainer(config, device, tokenizer.vocabSize, train, val);
    const a: number[] = [];
    for (let i = 0; i < 6; i++) a.push((await straight.trainStep()).loss);
    straight.dispose();

    const first = new Trainer(config, device, tokenizer.vocabSize, train, val);
    const b: number[] = [];
    for (let i = 0; i < 3; i++) b.push((await first.trainStep()).loss);
    await saveCheckpoint(dir, { model: first.model, tokenizer, optimizer: first.optimizer, trainState: { ...first.state, config } });
    first.dispose();
    const ck = await loadCheckpoint(dir, device);
    const second = new Trainer(config, device, tokenizer.vocabSize, train, val, ck.model);
    second.restore(JSON.parse(JSON.stringify(ck.trainState)));
    second.optimizer.loadStateDict(ck.optimizerState!);
    for (let i = 0; i < 3; i++) b.push((await second.trainStep()).loss);
    second.dispose();
    a.forEach((loss, i) => assert.ok(Math.abs(loss - b[i]!) <= 1e-6, `step ${i + 1}: ${loss} vs ${b[i]}`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad configuration: clear errors', () => {
  assertThrows(() => new GPT({ ...tiny, nEmbd: 10, nHead: 3 }), ValueError, 'nEmbd = 10', 'nHead = 3');
  assertThrows(() => new GPT({ ...tiny, nLayer: 0 }), ValueError, 'nLayer = 0');
  assertThrows(() => resolveConfig('huge', {}), ValueError, "unknown preset 'huge'", 'baby');
  assertThrows(() => resolveConfig('baby', { lr: -1 }), ValueError, 'lr = -1');
  assertThrows(() => resolveConfig('baby', { beta2: 1 }), ValueError, 'beta2');
});

test.run();
