import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertThrows, testDevice } from './helpers.js';
import * as W from '../src/index.js';
import { Embedding, GPT, LimitError, Rng, ValueError, noGrad, scope, tensor } from '../src/index.js';
import { parameterGroups } from '../src/optim/groups.js';
import { loadWeights, modelSafetensors } from '../src/io/model-files.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
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

test('a token embedding split into row shards matches the float64 oracle, saves as one table and loads into either form', async () => {
  const device = await testDevice();
  const model = new GPT(tiny, { device, seed: 3, embeddingShardRows: 4 }); // 11 rows: shards at 0, 4, 8
  const names = model.namedParameters().map(([n]) => n);
  assert.equal(names.filter((n) => n.startsWith('transformer.wte.')), ['transformer.wte.weight#0', 'transformer.wte.weight#4', 'transformer.wte.weight#8']);
  const [B, T] = [2, 7];
  const idx = Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % tiny.vocabSize);
  const tgt = Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % tiny.vocabSize);
  const shards = model.namedParameters().filter(([n]) => n.startsWith('transformer.wte.'));
  const weights: Record<string, { shape: number[]; data: Float64Array }> = {};
  for (const [name, p] of model.namedParameters()) if (!name.startsWith('transformer.wte.')) weights[name] = { shape: [...p.shape], data: Float64Array.from(await p.toArray()) };
  const wte: number[] = [];
  for (const [, p] of shards) wte.push(...(await p.toArray()));
  weights['transformer.wte.weight'] = { shape: [tiny.vocabSize, tiny.nEmbd], data: Float64Array.from(wte) };
  const ref = referenceGPT(tiny, weights, { shape: [B, T], data: Float64Array.from(idx) }, { shape: [B * T], data: Float64Array.from(tgt) });

  const { logits, loss } = model.forward(tensor(idx, [B, T], { dtype: 'int32' }), tensor(tgt, [B, T], { dtype: 'int32' }));
  loss!.backward();
  assert.ok(maxErr(await logits.toArray(), ref.logits.data) < 1e-5, 'logits');
  assert.ok(Math.abs((await loss!.item()) - ref.loss) < 1e-5, `loss ${await loss!.item()} vs ${ref.loss}`);
  const wteGrad: number[] = [];
  for (const [, p] of shards) wteGrad.push(...(await p.grad!.toArray()));
  assert.ok(maxErr(wteGrad, ref.grads['transformer.wte.weight']!.data) < 1e-4, 'gradient of the sharded wte');
  // Embedding shards are embeddings for weight decay.
  const groups = parameterGroups(model, 0.1);
  assert.ok(groups.find((g) => g.weightDecay === 0)!.names!.includes('transformer.wte.weight#4'));

  // Saved as one table under its Hugging Face name; loads into an unsharded model and back.
  const bytes = await modelSafetensors(model);
  const saved = decodeSafetensors(bytes).tensors;
  assert.equal(saved['transformer.wte.weight']!.shape, [tiny.vocabSize, tiny.nEmbd]);
  assert.ok(!Object.keys(saved).some((n) => n.includes('#')));
  const whole = new GPT(tiny, { device, seed: 9 });
  loadWeights(whole, bytes, 'sharded');
  const resharded = new GPT(tiny, { device, seed: 9, embeddingShardRows: 5 });
  loadWeights(resharded, await modelSafetensors(whole), 'whole');
  const probe = tensor(idx, [B, T], { dtype: 'int32' });
  const want = await logits.toArray();
  for (const m of [whole, resharded]) {
    const got = noGrad(() => m.forward(probe).logits);
    assert.ok(maxErr(await got.toArray(), want) < 1e-6, 'same logits after the round trip');
    got.dispose();
  }
  for (const t of [logits, loss!, probe]) t.dispose();
  for (const m of [model, whole, resharded]) m.dispose();
});

test('loss() in row chunks equals forward()\'s loss, with the same gradients; lastOnly gives the last position\'s logits', async () => {
  const device = await testDevice();
  const model = new GPT(tiny, { device, seed: 5 });
  const [B, T] = [2, 7];
  const idx = tensor(Array.from({ length: B * T }, (_, i) => (i * 3 + 1) % tiny.vocabSize), [B, T], { dtype: 'int32' });
  const tgt = tensor(Array.from({ length: B * T }, (_, i) => (i * 5 + 2) % tiny.vocabSize), [B, T], { dtype: 'int32' });
  const gradsOf = async (loss: W.Tensor) => {
    loss.backward();
    const g: number[] = [];
    for (const p of model.parameters()) {
      g.push(...(await p.grad!.toArray()));
      p.grad!.dispose();
      p.grad = null;
    }
    return { loss: await loss.item(), g };
  };
  const { logits, loss } = model.forward(idx, tgt);
  const whole = await gradsOf(loss!);
  const chunked = await gradsOf(model.loss(idx, tgt, { chunkRows: 3 })); // 14 rows: 5 chunks
  assert.ok(Math.abs(chunked.loss - whole.loss) < 1e-6, `${chunked.loss} vs ${whole.loss}`);
  assert.ok(maxErr(chunked.g, whole.g) < 1e-6, 'gradients');
  const last = noGrad(() => model.forward(idx, undefined, undefined, { lastOnly: true }).logits);
  assert.equal([...last.shape], [B, 1, tiny.vocabSize]);
  const all = await logits.toArray();
  const want = [...all.subarray((T - 1) * tiny.vocabSize, T * tiny.vocabSize), ...all.subarray((2 * T - 1) * tiny.vocabSize, 2 * T * tiny.vocabSize)];
  assert.ok(maxErr(await last.toArray(), want) < 1e-6);
  for (const t of [idx, tgt, logits, loss!, last]) t.dispose();
  model.dispose();
});

test('an embedding larger than this device binds becomes shards by itself, and lookups cross the boundary', async () => {
  const device = await testDevice();
  const dim = 96; // 128 MiB holds 349,525.3 rows of 96 floats: not a whole number of 4-row groups
  const fit = Math.floor(device.maxBindingBytes / (4 * dim));
  const perShard = fit - (fit % 4); // whole groups of 4 rows, which the LM head's matmul packs
  const table = new Embedding(perShard + 3, dim, { device, std: 1, rng: new Rng(1) });
  assert.equal(table.shards, [{ first: 0, rows: perShard }, { first: perShard, rows: 3 }]);
  // The rows around the boundary, regenerated from the same generator (row-major order).
  const rng = new Rng(1);
  const rowOf = new Map<number, number[]>();
  const wanted = new Set([0, perShard - 1, perShard, perShard + 2]);
  for (let r = 0; r < perShard + 3; r++) {
    const row = Array.from({ length: dim }, () => rng.normal());
    if (wanted.has(r)) rowOf.set(r, row);
  }
  const ids = [perShard, 0, perShard + 2, perShard - 1];
  const got = await table.forward(tensor(ids, [4], { device, dtype: 'int32' })).toArray();
  ids.forEach((id, i) => assert.ok(maxErr(Array.from(got.subarray(i * dim, (i + 1) * dim)), rowOf.get(id)!) < 1e-6, `row ${id}`));
  // The tied head: scores of every row, the boundary rows checked against float64 dot products.
  const x = Array.from({ length: 2 * dim }, (_, i) => Math.sin(i));
  const scores = await noGrad(() => table.project(tensor(x, [2, dim], { device }))).toArray();
  assert.is(scores.length, 2 * (perShard + 3));
  for (const r of wanted) {
    for (let i = 0; i < 2; i++) {
      const want = rowOf.get(r)!.reduce((acc, w, d) => acc + w * x[i * dim + d]!, 0);
      assert.ok(Math.abs(scores[i * (perShard + 3) + r]! - want) < 1e-4 * Math.max(1, Math.abs(want)), `score of row ${r}: ${scores[i * (perShard + 3) + r]} vs ${want}`);
    }
  }
  assertThrows(() => table.weight, LimitError, 'shards', 'project');
  table.dispose();
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
