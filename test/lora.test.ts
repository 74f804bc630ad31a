import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertThrows, testDevice, assertRejects } from './helpers.js';
import { CheckpointError, GPT, ValueError, gradcheck, noGrad, scope, tensor, type Tensor } from '../src/index.js';
import { Conv1D } from '../src/nn/gpt.js';
import { Rng } from '../src/tensor/random.js';
import type { NDArray } from '../src/reference/ndarray.js';
import { Int4Conv1D, quantizeLinearLayers } from '../src/lora/int4-linear.js';
import { LoraLinear, addAdapter, baseWeightBytes, countParameters, loraLayers, mergeAndUnload, setActiveAdapter } from '../src/lora/index.js';
import { decodeAdapter, encodeAdapter } from '../src/io/peft.js';
import { loadAdapter, saveAdapter } from '../src/io/adapter-dir.js';
import { Trainer } from '../src/train/trainer.js';
import { CharTokenizer } from '../src/data/char-tokenizer.js';
import { loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { mergeAdapterFiles } from '../src/cli/merge.js';
import { runFinetune, type FinetuneOptions } from '../src/cli/finetune.js';
import { TokenizerError } from '../src/data/errors.js';
import { BpeTokenizer } from '../src/data/bpe-tokenizer.js';
import { describeReplacements, encodeWithPolicy } from '../src/data/unknown-text.js';
import { resolveConfig } from '../src/train/config.js';

const test = suite('lora');
let root = '';
test.before(async () => {
  await testDevice();
  root = await mkdtemp(join(tmpdir(), 'wgrad-lora-test-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

const tiny = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, bias: true };
const idx = () => tensor(Array.from({ length: 2 * 7 }, (_, i) => (i * 7 + 3) % 11), [2, 7], { dtype: 'int32' });
const tgt = () => tensor(Array.from({ length: 2 * 7 }, (_, i) => (i * 5 + 1) % 11), [2, 7], { dtype: 'int32' });

async function logitsOf(model: GPT): Promise<Float32Array> {
  model.eval();
  const logits = noGrad(() => scope(() => model.forward(idx()).logits));
  const out = (await logits.toArray()) as Float32Array;
  logits.dispose();
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Give every B of an adapter random values, so the adapter changes the outputs. */
function randomizeB(model: GPT, name: string, seed: number): void {
  const rng = new Rng(seed);
  for (const [path, l] of loraLayers(model)) {
    if (!l.adapterNames.includes(name)) continue;
    const { B } = l.factors(name);
    model.setParameter(`${path}.lora_B.${name}.weight`, tensor(Float32Array.from({ length: B.size }, () => rng.normal() * 0.2), B.shape));
  }
}

test('an adapter with B = 0 leaves every output exactly as the base computes it', async () => {
  const model = new GPT(tiny, { seed: 1 });
  const before = await logitsOf(model);
  const paths = addAdapter(model, 'default', { r: 4, alpha: 8, targets: 'all-linear' });
  assert.equal(paths.length, 8);
  const after = await logitsOf(model);
  assert.equal(maxDiff(before, after), 0, 'B = 0 must not change the logits');
  model.dispose();
});

test('targets by name pattern: c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, all-linear, a regular expression', () => {
  const cases: [string[] | string, string[]][] = [
    [['c_attn'], ['attn.c_attn']],
    [['attn.c_proj'], ['attn.c_proj']],
    [['c_proj'], ['attn.c_proj', 'mlp.c_proj']],
    [['mlp.c_fc', 'mlp.c_proj'], ['mlp.c_fc', 'mlp.c_proj']],
    ['all-linear', ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']],
    ['.*\\.0\\.attn\\.c_attn', ['attn.c_attn']],
  ];
  for (const [targets, layers] of cases) {
    const model = new GPT(tiny, { seed: 1 });
    const paths = addAdapter(model, 'a', { r: 2, alpha: 2, targets });
    const blocks = typeof targets === 'string' && targets.includes('\\.0') ? ['0'] : ['0', '1'];
    assert.equal(paths, blocks.flatMap((b) => layers.map((l) => `transformer.h.${b}.${l}`)), `targets ${JSON.stringify(targets)}`);
    model.dispose();
  }
});

test('gradients flow only to A and B; the base gets none and no optimizer state', async () => {
  const model = new GPT(tiny, { seed: 2 });
  addAdapter(model, 'default', { r: 4, alpha: 8, targets: ['c_attn', 'mlp.c_fc'] });
  randomizeB(model, 'default', 3);
  model.train();
  const loss = scope(() => model.forward(idx(), tgt()).loss!);
  loss.backward();
  let adapted = 0;
  for (const [name, p] of model.namedParameters()) {
    const isLora = /\.lora_[AB]\.default\.weight$/.test(name);
    assert.is(p.requiresGrad, isLora, `${name} requiresGrad`);
    if (isLora) {
      assert.ok(p.grad, `${name} has a gradient`);
      const g = await p.grad!.toArray();
      assert.ok(g.some((v) => v !== 0), `${name}'s gradient is not all zero`);
      adapted++;
    } else assert.is(p.grad, null, `${name} (frozen) has no gradient`);
  }
  assert.is(adapted, 8);
  loss.dispose();
  model.zeroGrad();

  // One Trainer step: the optimizer holds moments for A and B only.
  const config = resolveConfig('tiny', { nLayer: 2, nHead: 2, nEmbd: 16, blockSize: 8, batchSize: 2, iters: 1, bias: true });
  const tokens = Int32Array.from({ length: 200 }, (_, i) => (i * 7 + i * i) % 11);
  const trainer = new Trainer(config, model.parameters()[0]!.device, 11, tokens.subarray(0, 150), tokens.subarray(150), model);
  const frozenBefore = await model.namedParameters().find(([n]) => n === 'transformer.h.0.attn.c_attn.base_layer.weight')![1].toArray();
  await trainer.trainStep();
  const state = await trainer.optimizer.stateDict();
  assert.equal(Object.keys(state.buffers).sort(), model.namedParameters().filter(([n]) => n.includes('.lora_')).map(([n]) => n).sort());
  const frozenAfter = await model.namedParameters().find(([n]) => n === 'transformer.h.0.attn.c_attn.base_layer.weight')![1].toArray();
  assert.equal(maxDiff(frozenBefore, frozenAfter), 0, 'the frozen base weight did not move');
  // Steps do not grow memory (the LoRA path frees what it creates, like the rest of the model).
  await trainer.trainStep();
  const held = model.parameters()[0]!.device.memory();
  await trainer.trainStep();
  assert.equal(model.parameters()[0]!.device.memory().tensors, held.tensors, 'live tensors after another step');
  const { trainable, total } = countParameters(model);
  assert.is(trainable, 2 * (4 * 16 + 48 * 4) + 2 * (4 * 16 + 64 * 4));
  assert.ok(total > trainable);
  trainer.dispose();
});

/** The float64 oracle of a LoRA linear: y = x·W + b + s·(x·Aᵀ)·Bᵀ, x (M, K), W (K, N), A (r, K), B (N, r). */
function loraReference(x: NDArray, w: NDArray, b: NDArray, A: NDArray, B: NDArray, s: number): NDArray {
  const [M, K] = x.shape as [number, number];
  const N = w.shape[1]!;
  const r = A.shape[0]!;
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    const down = new Float64Array(r);
    for (let j = 0; j < r; j++) for (let k = 0; k < K; k++) down[j]! += x.data[m * K + k]! * A.data[j * K + k]!;
    for (let n = 0; n < N; n++) {
      let acc = b.data[n]!;
      for (let k = 0; k < K; k++) acc += x.data[m * K + k]! * w.data[k * N + n]!;
      for (let j = 0; j < r; j++) acc += s * down[j]! * B.data[n * r + j]!;
      out[m * N + n] = acc;
    }
  }
  return { shape: [M, N], data: out };
}

test('gradcheck through a LoRA linear over a float32 base: x, A and B against finite differences', async () => {
  const rng = new Rng(7);
  const [M, K, N, r] = [5, 6, 7, 3];
  const rand = (shape: number[]): NDArray => ({ shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()) });
  const layer = new LoraLinear(new Conv1D(K, N, true, 0.02, { rng }), new Rng(0));
  layer.addAdapter('default', { r, alpha: 6, dropout: 0 }, rng);
  layer.active = 'default';
  const s = 6 / r;
  // gradcheck's inputs become the layer's parameters; the flags say which of them it differentiates.
  const bind = (name: string, t: Tensor) => {
    const wants = t.requiresGrad;
    layer.setParameter(name, t);
    t.requiresGrad = wants;
  };
  const forward = (x: Tensor, w: Tensor, b: Tensor, A: Tensor, B: Tensor) => {
    bind('base_layer.weight', w);
    bind('base_layer.bias', b);
    bind('lora_A.default.weight', A);
    bind('lora_B.default.weight', B);
    return layer.forward(x);
  };
  await gradcheck({
    name: 'lora linear',
    forward: (x, w, b, A, B) => forward(x!, w!, b!, A!, B!),
    reference: (x, w, b, A, B) => loraReference(x!, w!, b!, A!, B!, s),
    inputs: [rand([M, K]), rand([K, N]), rand([N]), rand([r, K]), rand([N, r])],
    wrt: [0, 3, 4],
  });
  layer.dispose();
});

for (const format of ['nf4', 'q4_0'] as const) {
  test(`gradcheck through a LoRA linear over an int4 (${format}) base: x, A and B; the base holds no gradient`, async () => {
    const rng = new Rng(17);
    const [M, K, N, r] = [3, 64, 8, 2];
    const rand = (shape: number[], scale = 1): NDArray => ({ shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale) });
    const conv = new Conv1D(K, N, true, 0.5, { rng });
    conv.setParameter('bias', tensor(Float32Array.from({ length: N }, () => rng.normal()), [N]));
    const bias: NDArray = { shape: [N], data: Float64Array.from(await conv.parameters()[1]!.toArray()) };
    const int4 = new Int4Conv1D(conv, format);
    conv.dispose();
    // The oracle multiplies by the dequantized weight (N, K), read back and laid out (K, N) as Conv1D's.
    const deqT = int4.weight.dequantize();
    const deq = await deqT.toArray();
    deqT.dispose();
    const w: NDArray = { shape: [K, N], data: Float64Array.from({ length: K * N }, (_, i) => deq[(i % N) * K + Math.floor(i / N)]!) };
    const layer = new LoraLinear(int4, new Rng(0));
    layer.addAdapter('default', { r, alpha: 4, dropout: 0 }, rng);
    layer.active = 'default';
    const bind = (name: string, t: Tensor) => {
      const wants = t.requiresGrad;
      layer.setParameter(name, t);
      t.requiresGrad = wants;
    };
    await gradcheck({
      name: `qlora linear ${format}`,
      forward: (x, A, B) => {
        bind('lora_A.default.weight', A!);
        bind('lora_B.default.weight', B!);
        return layer.forward(x!);
      },
      reference: (x, A, B) => loraReference(x!, w, bias, A!, B!, 4 / r),
      inputs: [rand([M, K]), rand([r, K], 0.2), rand([N, r])],
    });
    assert.ok(layer.namedParameters().every(([n, p]) => n.includes('lora_') || (!p.requiresGrad && p.grad === null)), 'the int4 base has no trainable parameter and no gradient');
    layer.dispose();
  });
}

test('QLoRA model: B = 0 reproduces the int4 base exactly, only A and B get gradients, the int4 base holds under 1/6 of the float32 bytes', async () => {
  const config = { ...tiny, nEmbd: 64, nHead: 2 };
  for (const format of ['nf4', 'q4_0'] as const) {
    const quantOnly = new GPT(config, { seed: 15 });
    const floatBytes = baseWeightBytes(quantOnly).linear;
    const bytes = quantizeLinearLayers(quantOnly, format);
    assert.is(bytes.float32Bytes, floatBytes);
    assert.is(baseWeightBytes(quantOnly).linear, bytes.int4Bytes);
    assert.ok(bytes.int4Bytes * 6 <= bytes.float32Bytes, `${format}: int4 ${bytes.int4Bytes} B vs float32 ${bytes.float32Bytes} B`);
    const want = await logitsOf(quantOnly);
    quantOnly.dispose();

    const model = new GPT(config, { seed: 15 });
    addAdapter(model, 'default', { r: 4, alpha: 8, targets: 'all-linear' });
    quantizeLinearLayers(model, format);
    assert.equal(maxDiff(await logitsOf(model), want), 0, `${format}: B = 0 leaves the int4 model's logits as they were`);
    randomizeB(model, 'default', 16);
    model.train();
    const loss = scope(() => model.forward(idx(), tgt()).loss!);
    loss.backward();
    for (const [name, p] of model.namedParameters()) {
      if (/\.lora_[AB]\.default\.weight$/.test(name)) assert.ok(p.grad, `${name} has a gradient`);
      else assert.is(p.grad, null, `${name} (frozen) has no gradient`);
    }
    const { trainable, total } = countParameters(model);
    const plain = new GPT(config, { seed: 0 });
    assert.is(total, plain.numParameters() + trainable, 'the int4 weights count as (frozen) parameters');
    plain.dispose();
    loss.dispose();
    model.dispose();
  }
});

test('merged outputs equal unmerged outputs within 1e-5; unloading gives back a plain GPT', async () => {
  const model = new GPT(tiny, { seed: 5 });
  const names = model.namedParameters().map(([n]) => n);
  addAdapter(model, 'default', { r: 4, alpha: 16, targets: 'all-linear' });
  randomizeB(model, 'default', 6);
  const unmerged = await logitsOf(model);
  const base = new GPT(tiny, { seed: 5 });
  assert.ok(maxDiff(unmerged, await logitsOf(base)) > 1e-3, 'the adapter changes the outputs');
  base.dispose();
  mergeAndUnload(model, 'default');
  assert.equal(model.namedParameters().map(([n]) => n), names, 'the merged model has the plain GPT parameters');
  const merged = await logitsOf(model);
  const d = maxDiff(merged, unmerged);
  assert.ok(d < 1e-5, `merged vs unmerged: max |Δ| ${d}`);
  model.dispose();
});

test('PEFT layout: key names, shapes and config; save/load round-trips through a directory', async () => {
  const model = new GPT(tiny, { seed: 8 });
  addAdapter(model, 'default', { r: 4, alpha: 16, dropout: 0.05, targets: ['c_attn', 'attn.c_proj'] });
  randomizeB(model, 'default', 9);
  const want = await logitsOf(model);
  const { config, weights } = await encodeAdapter(model, 'default', { base: 'out/base' });
  assert.is(config.peft_type, 'LORA');
  assert.is(config.r, 4);
  assert.is(config.lora_alpha, 16);
  assert.is(config.lora_dropout, 0.05);
  assert.is(config.fan_in_fan_out, true);
  assert.is(config.base_model_name_or_path, 'out/base');
  assert.equal(config.target_modules, ['c_attn', 'attn.c_proj']);
  const { decodeSafetensors } = await import('../src/io/safetensors.js');
  const { tensors } = decodeSafetensors(weights);
  const expected: Record<string, number[]> = {};
  for (const i of [0, 1]) {
    expected[`base_model.model.transformer.h.${i}.attn.c_attn.lora_A.weight`] = [4, 16];
    expected[`base_model.model.transformer.h.${i}.attn.c_attn.lora_B.weight`] = [48, 4];
    expected[`base_model.model.transformer.h.${i}.attn.c_proj.lora_A.weight`] = [4, 16];
    expected[`base_model.model.transformer.h.${i}.attn.c_proj.lora_B.weight`] = [16, 4];
  }
  assert.equal(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.shape])), expected);
  for (const t of Object.values(tensors)) assert.is(t.dtype, 'F32');

  const dir = join(root, 'adapter');
  await saveAdapter(dir, model, 'default', { base: 'out/base' });
  const fresh = new GPT(tiny, { seed: 8 });
  const loaded = await loadAdapter(dir, fresh, 'mine');
  assert.is(loaded.r, 4);
  assert.equal(maxDiff(await logitsOf(fresh), want), 0, 'the loaded adapter computes what the saved one did');
  // Round-trip again: the bytes are the same.
  const again = await encodeAdapter(fresh, 'mine', { base: 'out/base' });
  assert.ok(Buffer.from(again.weights).equals(Buffer.from(weights)));
  model.dispose();
  fresh.dispose();
});

test('several adapters over one base: each selectable, null selects the base', async () => {
  const model = new GPT(tiny, { seed: 10 });
  const base = await logitsOf(model);
  addAdapter(model, 'a', { r: 2, alpha: 4, targets: ['c_attn'] });
  randomizeB(model, 'a', 11);
  const onlyA = await logitsOf(model);
  addAdapter(model, 'b', { r: 3, alpha: 3, targets: ['mlp.c_fc'] });
  randomizeB(model, 'b', 12);
  const onlyB = await logitsOf(model);
  setActiveAdapter(model, 'a');
  assert.equal(maxDiff(await logitsOf(model), onlyA), 0, 'a again');
  setActiveAdapter(model, null);
  assert.equal(maxDiff(await logitsOf(model), base), 0, 'the base alone');
  assert.ok(maxDiff(onlyA, onlyB) > 1e-3 && maxDiff(onlyA, base) > 1e-3);
  assertThrows(() => setActiveAdapter(model, 'c'), ValueError, "'c'", 'a, b');
  model.dispose();
});

test('bad input: rank 0 or beyond the layer, unknown targets, bad alpha: typed errors, model unchanged', () => {
  const model = new GPT(tiny, { seed: 1 });
  const names = model.namedParameters().map(([n]) => n);
  assertThrows(() => addAdapter(model, 'x', { r: 0, alpha: 8, targets: ['c_attn'] }), ValueError, 'rank r = 0', '--lora-r');
  assertThrows(() => addAdapter(model, 'x', { r: 17, alpha: 8, targets: ['c_attn'] }), ValueError, 'rank r = 17', '[1, 16]');
  assertThrows(() => addAdapter(model, 'x', { r: 2, alpha: 8, targets: ['c_attn', 'q_proj'] }), ValueError, "'q_proj' matches no linear layer", 'transformer.h.{0..1}.attn.c_attn');
  assertThrows(() => addAdapter(model, 'x', { r: 2, alpha: 8, targets: [] }), ValueError, 'no target');
  assertThrows(() => addAdapter(model, 'x', { r: 2, alpha: 0, targets: ['c_attn'] }), ValueError, 'lora_alpha');
  assert.equal(model.namedParameters().map(([n]) => n), names, 'nothing was wrapped');
  assert.ok(model.parameters().every((p) => p.requiresGrad), 'nothing was frozen');
  model.dispose();
});

async function hashes(dir: string, files: string[]): Promise<string[]> {
  return Promise.all(files.map(async (f) => createHash('sha256').update(await readFile(join(dir, f))).digest('hex')));
}

test('bad adapters: mismatched base shapes, another depth, a missing adapter_config.json: clear errors, model untouched', async () => {
  const small = new GPT(tiny, { seed: 1 });
  addAdapter(small, 'default', { r: 4, alpha: 8, targets: ['c_attn'] });
  const dir = join(root, 'small-adapter');
  await saveAdapter(dir, small, 'default');
  small.dispose();

  const wide = new GPT({ ...tiny, nEmbd: 24 }, { seed: 1 });
  const names = wide.namedParameters().map(([n]) => n);
  await assertRejects(() => loadAdapter(dir, wide, 'x'), CheckpointError, 'lora_A.weight has shape [4, 16]', '[4, 24]');
  assert.equal(wide.namedParameters().map(([n]) => n), names, 'nothing was added');
  wide.dispose();

  const deep = new GPT({ ...tiny, nLayer: 3 }, { seed: 1 });
  await assertRejects(() => loadAdapter(dir, deep, 'x'), CheckpointError, 'transformer.h.2.attn.c_attn.lora_A.weight');
  deep.dispose();

  const missing = join(root, 'no-config');
  await mkdir(missing, { recursive: true });
  await writeFile(join(missing, 'adapter_model.safetensors'), await readFile(join(dir, 'adapter_model.safetensors')));
  const model = new GPT(tiny, { seed: 1 });
  await assertRejects(() => loadAdapter(missing, model, 'x'), CheckpointError, 'has no adapter_config.json');
  const { config, weights } = await (await import('../src/io/adapter-dir.js')).readAdapterDir(dir);
  assertThrows(() => decodeAdapter(model, 'x', { ...config, r: 0 }, weights, dir), CheckpointError, 'rank r = 0');
  assertThrows(() => decodeAdapter(model, 'x', { ...config, target_modules: ['q_proj'] }, weights, dir), CheckpointError, 'q_proj');
  assert.is(loraLayers(model).length, 0);
  model.dispose();
});

test('wgrad merge: a merged checkpoint computes what base + adapter did; a bad adapter leaves the base checkpoint untouched', async () => {
  const device = await testDevice();
  const model = new GPT(tiny, { seed: 13 });
  const tokenizer = CharTokenizer.fromCorpus('abcdefghijk');
  const baseDir = join(root, 'base-ckpt');
  await saveCheckpoint(baseDir, { model, tokenizer });
  const files = ['model.safetensors', 'config.json', 'tokenizer.json', 'DONE'];
  const before = await hashes(baseDir, files);
  addAdapter(model, 'default', { r: 4, alpha: 8, targets: ['c_attn', 'mlp.c_proj'] });
  randomizeB(model, 'default', 14);
  const want = await logitsOf(model);
  const adapterDir = join(root, 'merge-adapter');
  await saveAdapter(adapterDir, model, 'default', { base: baseDir });
  model.dispose();

  const outDir = join(root, 'merged-ckpt');
  await mergeAdapterFiles(baseDir, adapterDir, outDir, device);
  const merged = await loadCheckpoint(outDir, device);
  const d = maxDiff(await logitsOf(merged.model), want);
  assert.ok(d < 1e-5, `merged checkpoint vs base + adapter: ${d}`);
  merged.model.dispose();

  // An adapter for another base, a missing config, and --out pointing at the base: errors, base unchanged.
  const other = new GPT({ ...tiny, nEmbd: 24 }, { seed: 1 });
  addAdapter(other, 'default', { r: 4, alpha: 8, targets: ['c_attn'] });
  const otherDir = join(root, 'other-adapter');
  await saveAdapter(otherDir, other, 'default');
  other.dispose();
  await assertRejects(() => mergeAdapterFiles(baseDir, otherDir, join(root, 'never'), device), CheckpointError, '[4, 24]', '[4, 16]');
  await assertRejects(() => mergeAdapterFiles(baseDir, join(root, 'nowhere'), join(root, 'never'), device), CheckpointError, 'has no adapter_config.json');
  await assertRejects(() => mergeAdapterFiles(baseDir, adapterDir, baseDir, device), ValueError, 'is the base checkpoint');
  const otherVocab = join(root, 'other-vocab-adapter');
  const sameShape = new GPT(tiny, { seed: 1 });
  addAdapter(sameShape, 'default', { r: 4, alpha: 8, targets: ['c_attn'] });
  await saveAdapter(otherVocab, sameShape, 'default', {}, { 'tokenizer.json': JSON.stringify(CharTokenizer.fromCorpus('ABCDEFGHIJK').toJSON()) });
  sameShape.dispose();
  await assertRejects(() => mergeAdapterFiles(baseDir, otherVocab, join(root, 'never'), device), CheckpointError, 'another tokenizer');
  assert.equal(await hashes(baseDir, files), before, 'the base checkpoint is byte for byte the same');
  await assertRejects(() => readFile(join(root, 'never', 'DONE')), Error);
});

test('wgrad finetune resumes exactly (LoRA dropout on); unknown characters of a char-level base are an error naming them', async () => {
  const device = await testDevice();
  const text = Array.from({ length: 60 }, (_, i) => `${'abcdefghij'[i % 10]}${'jihgfedcba'[(i * 3) % 10]}k `).join('');
  const model = new GPT({ ...tiny, vocabSize: 12 }, { seed: 21 });
  const baseDir = join(root, 'ft-base');
  await saveCheckpoint(baseDir, { model, tokenizer: CharTokenizer.fromCorpus(text) });
  model.dispose();
  const data = join(root, 'ft.txt');
  await writeFile(data, text);
  const options = (out: string): FinetuneOptions => ({ base: baseDir, data, out, loraR: 2, loraAlpha: 4, loraDropout: 0.1, targets: 'c_attn,mlp.c_fc', unknown: 'error', replacement: ' ', json: true });
  const overrides = { evalInterval: 2, evalIters: 1, batchSize: 2 };
  const lines: string[] = [];
  await runFinetune(device, options(join(root, 'ft-a')), { ...overrides, iters: 4 }, (l) => lines.push(l));
  await runFinetune(device, options(join(root, 'ft-b')), { ...overrides, iters: 2 }, () => {});
  await runFinetune(device, { ...options(join(root, 'ft-b')), base: undefined, data: undefined, resume: join(root, 'ft-b-last') }, { iters: 4 }, () => {});
  const [a, b] = await Promise.all([readFile(join(root, 'ft-a-last', 'adapter_model.safetensors')), readFile(join(root, 'ft-b-last', 'adapter_model.safetensors'))]);
  assert.ok(a.equals(b), 'interrupted and resumed training ends with the same adapter, byte for byte');
  const start = JSON.parse(lines[0]!);
  assert.is(start.trainable_params, 2 * (2 * 16 + 48 * 2) + 2 * (2 * 16 + 64 * 2));
  assert.ok(Math.abs(start.trainable_fraction - start.trainable_params / start.total_params) < 1e-12);
  const final = JSON.parse(lines[lines.length - 1]!);
  assert.is(final.event, 'final');
  assert.ok(final.val_loss < final.base_val_loss, `fine-tuning lowered the validation loss: ${final.base_val_loss} → ${final.val_loss}`);

  await writeFile(data, `${text}"(x)"`);
  await assertRejects(() => runFinetune(device, options(join(root, 'ft-c')), { ...overrides, iters: 1 }, () => {}), TokenizerError, "'\"' U+0022 × 2", "'(' U+0028 × 1", 'x', '--unknown replace', '--tokenizer bpe');
});

test('--unknown replace substitutes and reports every unknown character; a byte-level tokenizer needs none', () => {
  const tok = CharTokenizer.fromCorpus('abc \'');
  const { tokens, replaced } = encodeWithPolicy('a `b` (c)', tok, 'replace', "'");
  assert.is(tok.decode(tokens), "a 'b' 'c'");
  assert.equal(replaced.map((u) => [u.char, u.count]), [['`', 2], ['(', 1], [')', 1]]);
  assert.ok(describeReplacements(replaced, "'").startsWith('replaced 4 characters'));
  assertThrows(() => encodeWithPolicy('a `b`', tok, 'replace', 'z'), TokenizerError, 'not one character of the base vocabulary');
  assertThrows(() => encodeWithPolicy('a `b`', tok, 'error', ' '), TokenizerError, "'`' U+0060 × 2", '--unknown replace');
  const bpe = BpeTokenizer.train('abc abc abd', 260);
  const text = 'a `b` (c) — ü';
  assert.is(bpe.decode(encodeWithPolicy(text, bpe, 'error', ' ').tokens), text);
});

test.run();
