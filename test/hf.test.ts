import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertRejects, testDevice } from './helpers.js';
import { CheckpointError } from '../src/errors.js';
import { GPT, type GPTConfig } from '../src/nn/gpt.js';
import { CharTokenizer } from '../src/data/char-tokenizer.js';
import { tensor } from '../src/tensor/create.js';
import { loadCheckpoint, saveCheckpoint } from '../src/io/checkpoint.js';
import { exportHF, importHF } from '../src/io/hf-dir.js';
import { gpt2ParameterShapes } from '../src/io/hf.js';
import { decodeSafetensors, encodeSafetensors, toFloat32Array, type SafetensorsInput } from '../src/io/safetensors.js';
import { f16BitsToNumber, f32ToF16Bits } from '../src/reference/quant.js';
import { Rng } from '../src/tensor/random.js';

const test = suite('hf');
const tokenizer = CharTokenizer.fromCorpus('hello world'); // 8 distinct characters

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'wgrad-hf-'));
}

function param(model: GPT, name: string) {
  return new Map(model.namedParameters()).get(name)!;
}

async function logits(model: GPT, ids: number[]): Promise<Float32Array> {
  model.eval();
  const idx = tensor(Int32Array.from(ids), [1, ids.length], { device: model.parameters()[0]!.device, dtype: 'int32' });
  return (await model.forward(idx).logits.toArray()) as Float32Array;
}

for (const bias of [true, false]) {
  test(`export-hf then import-hf gives back the same model (bias ${bias}): config, tokenizer, weights, logits`, async () => {
    const device = await testDevice();
    const dir = await tempDir();
    const config: GPTConfig = { vocabSize: 8, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 8, dropout: 0, bias };
    const model = new GPT(config, { device, seed: 11 });
    await saveCheckpoint(join(dir, 'ckpt'), { model, tokenizer });

    const exported = await exportHF(join(dir, 'ckpt'), join(dir, 'hf'));
    assert.is(exported.parameters, model.numParameters());
    // The directory transformers would load: prefixed names, every GPT-2 tensor (zero biases when the model has none), F32.
    const st = decodeSafetensors(new Uint8Array(await readFile(join(dir, 'hf', 'model.safetensors'))));
    const expected = gpt2ParameterShapes({ ...config, bias: true });
    assert.equal(Object.keys(st.tensors).sort(), [...expected.keys()].sort());
    for (const [name, shape] of expected) {
      assert.equal(st.tensors[name]!.shape, shape, name);
      assert.is(st.tensors[name]!.dtype, 'F32');
    }
    if (!bias) assert.ok(toFloat32Array(st.tensors['transformer.h.0.attn.c_attn.bias']!).every((v) => v === 0));
    const hfConfig = JSON.parse(await readFile(join(dir, 'hf', 'config.json'), 'utf8'));
    assert.equal([hfConfig.model_type, hfConfig.n_layer, hfConfig.n_head, hfConfig.n_embd, hfConfig.n_positions, hfConfig.vocab_size], ['gpt2', 2, 2, 8, 8, 8]);
    assert.equal((await readdir(join(dir, 'hf'))).sort(), ['DONE', 'config.json', 'model.safetensors', 'wgrad_tokenizer.json']);

    const imported = await importHF(join(dir, 'hf'), join(dir, 'back'), device);
    assert.equal(imported.config, config);
    const back = await loadCheckpoint(join(dir, 'back'), device);
    assert.equal(back.model.config, config);
    assert.equal(back.tokenizer.toJSON(), tokenizer.toJSON());
    for (const [name, p] of model.namedParameters()) assert.equal(await param(back.model, name).toArray(), await p.toArray(), name);
    assert.equal(await logits(back.model, [1, 2, 3, 4, 5]), await logits(model, [1, 2, 3, 4, 5]));
    model.dispose();
    back.model.dispose();
    await rm(dir, { recursive: true });
  });
}

/** A directory laid out like the hub's `gpt2`: unprefixed F16 names, mask buffers, lm_head, vocab.json. */
async function hubStyleDir(dir: string, config: GPTConfig, options: { lmHead?: 'tied' | 'untied'; drop?: string; extra?: string; activation?: string; vocab?: number } = {}): Promise<Map<string, Float32Array>> {
  await mkdir(dir, { recursive: true });
  const rng = new Rng(5);
  const values = new Map<string, Float32Array>();
  const tensors: Record<string, SafetensorsInput> = {};
  const asF16 = (name: string, shape: number[]) => {
    const bits = Uint16Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => f32ToF16Bits(0.05 * rng.normal()));
    values.set(name, Float32Array.from(bits, f16BitsToNumber));
    return { dtype: 'F16' as const, shape, data: bits };
  };
  for (const [name, shape] of gpt2ParameterShapes({ ...config, bias: true })) {
    const key = name.replace(/^transformer\./, '');
    if (key !== options.drop) tensors[key] = asF16(name, shape);
  }
  for (let i = 0; i < config.nLayer; i++) {
    tensors[`h.${i}.attn.bias`] = { dtype: 'F32', shape: [1, 1, config.blockSize, config.blockSize], data: new Float32Array(config.blockSize ** 2).fill(1) };
  }
  if (options.lmHead) {
    const wte = tensors['wte.weight']!;
    tensors['lm_head.weight'] = options.lmHead === 'tied' ? wte : { ...wte, data: (wte.data as Uint16Array).map((b, i) => (i === 0 ? b ^ 1 : b)) };
  }
  if (options.extra) tensors[options.extra] = { dtype: 'F32', shape: [2], data: new Float32Array(2) };
  await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    activation_function: options.activation ?? 'gelu_new', architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', layer_norm_epsilon: 1e-5,
    n_ctx: config.blockSize, n_positions: config.blockSize, n_embd: config.nEmbd, n_head: config.nHead, n_layer: config.nLayer, vocab_size: config.vocabSize,
    resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1, bos_token_id: 50256, eos_token_id: 50256,
  }));
  // vocab.json's shape; the import recognises GPT-2's by its size and two known entries.
  const vocab: Record<string, number> = {};
  for (let id = 0; id < (options.vocab ?? 50257); id++) vocab[`t${id}`] = id;
  if ((options.vocab ?? 50257) === 50257) {
    delete vocab.t262;
    delete vocab.t50256;
    Object.assign(vocab, { '\u0120the': 262, '<|endoftext|>': 50256 });
  }
  await writeFile(join(dir, 'vocab.json'), JSON.stringify(vocab));
  return values;
}

const HUB: GPTConfig = { vocabSize: 50257, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0.1, bias: true };

test('import-hf reads a hub-style GPT-2 directory: unprefixed names, F16 values, mask buffers and a tied lm_head; GPT-2 tokenizer', async () => {
  const device = await testDevice();
  const dir = await tempDir();
  const values = await hubStyleDir(join(dir, 'hub'), HUB, { lmHead: 'tied' });
  const result = await importHF(join(dir, 'hub'), join(dir, 'ckpt'), device);
  assert.equal(result.config, HUB);
  assert.is(result.tokenizer, 'gpt2');
  const { model, tokenizer: tok } = await loadCheckpoint(join(dir, 'ckpt'), device);
  assert.is(tok.type, 'gpt2');
  assert.equal([...tok.encode(' the')], [262]);
  for (const [name, v] of values) assert.equal(await param(model, name).toArray(), v, name); // F16 widened exactly
  assert.ok((await logits(model, [...tok.encode('Hello world')])).every(Number.isFinite));
  model.dispose();
  await rm(dir, { recursive: true });
});

test('import-hf of a sharded model reads every shard the index lists', async () => {
  const device = await testDevice();
  const dir = await tempDir();
  const hub = join(dir, 'hub');
  const values = await hubStyleDir(hub, HUB);
  const { tensors } = decodeSafetensors(new Uint8Array(await readFile(join(hub, 'model.safetensors'))));
  const names = Object.keys(tensors).sort();
  const shards = [names.slice(0, 7), names.slice(7)];
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    await writeFile(join(hub, file), encodeSafetensors(Object.fromEntries(shard.map((n) => [n, tensors[n]!]))));
    for (const n of shard) weightMap[n] = file;
  }
  await rm(join(hub, 'model.safetensors'));
  await writeFile(join(hub, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  await importHF(hub, join(dir, 'ckpt'), device);
  const { model } = await loadCheckpoint(join(dir, 'ckpt'), device);
  for (const [name, v] of values) assert.equal(await param(model, name).toArray(), v, name);
  model.dispose();
  await rm(join(hub, 'model-00002-of-00002.safetensors'));
  await assertRejects(() => importHF(hub, join(dir, 'ckpt2'), device), CheckpointError, 'model-00002-of-00002.safetensors', 'every shard');
  await rm(dir, { recursive: true });
});

test('import-hf refuses what it cannot import faithfully, naming it; nothing is written', async () => {
  const device = await testDevice();
  const dir = await tempDir();
  const cases: [string, Parameters<typeof hubStyleDir>[2], string[]][] = [
    ['untied', { lmHead: 'untied' }, ['lm_head.weight differs', 'ties']],
    ['missing', { drop: 'h.0.mlp.c_fc.bias' }, ["'transformer.h.0.mlp.c_fc.bias'", 'incomplete']],
    ['extra', { extra: 'h.0.attn.lora_A.weight' }, ['h.0.attn.lora_A.weight', 'GPT-2 does not']],
    ['relu', { activation: 'relu' }, ['"relu"', 'gelu_new']],
    ['vocab', { vocab: 1000 }, ['not GPT-2\'s', '1000 tokens']],
  ];
  for (const [name, options, fragments] of cases) {
    await hubStyleDir(join(dir, name), HUB, options);
    await assertRejects(() => importHF(join(dir, name), join(dir, `${name}-out`), device), CheckpointError, ...fragments);
  }
  // Shapes that disagree with config.json.
  await hubStyleDir(join(dir, 'shape'), HUB);
  const cfg = JSON.parse(await readFile(join(dir, 'shape', 'config.json'), 'utf8'));
  await writeFile(join(dir, 'shape', 'config.json'), JSON.stringify({ ...cfg, n_embd: 16 }));
  await assertRejects(() => importHF(join(dir, 'shape'), join(dir, 'shape-out'), device), CheckpointError, 'config.json implies');
  // No weights but a PyTorch pickle; no tokenizer at all.
  await rm(join(dir, 'shape', 'model.safetensors'));
  await writeFile(join(dir, 'shape', 'pytorch_model.bin'), 'pickle');
  await assertRejects(() => importHF(join(dir, 'shape'), join(dir, 'shape-out'), device), CheckpointError, 'no model.safetensors', 'pytorch_model.bin', 'safe_serialization');
  await rm(join(dir, 'relu', 'vocab.json'));
  await writeFile(join(dir, 'relu', 'config.json'), JSON.stringify({ ...cfg, activation_function: 'gelu_new' }));
  await assertRejects(() => importHF(join(dir, 'relu'), join(dir, 'relu-out'), device), CheckpointError, 'no tokenizer');
  assert.equal((await readdir(dir)).filter((n) => n.endsWith('-out')), []);
  await rm(dir, { recursive: true });
});

test('export-hf refuses to write over its own checkpoint; a corrupt checkpoint is a CheckpointError', async () => {
  const device = await testDevice();
  const dir = await tempDir();
  const model = new GPT({ vocabSize: 8, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, dropout: 0, bias: true }, { device, seed: 1 });
  await saveCheckpoint(join(dir, 'ckpt'), { model, tokenizer });
  model.dispose();
  await assertRejects(() => exportHF(join(dir, 'ckpt'), join(dir, 'ckpt')), CheckpointError, 'is the checkpoint being exported');
  const path = join(dir, 'ckpt', 'model.safetensors');
  const bytes = await readFile(path);
  bytes[bytes.length - 1]! ^= 0xff;
  await writeFile(path, bytes);
  await assertRejects(() => exportHF(join(dir, 'ckpt'), join(dir, 'hf')), CheckpointError, 'model.safetensors', 'SHA-256');
  await rm(dir, { recursive: true });
});

test.run();
