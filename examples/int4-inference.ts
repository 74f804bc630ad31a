/**
 * Inference from a checkpoint with int4 weights: load a model checkpoint, hold every linear layer's
 * weight in 4 bits (NF4 or Q4_0), then measure what that costs and generate text with the KV cache.
 *
 *   npx tsx examples/int4-inference.ts --ckpt out/tiny            # a checkpoint of `wgrad train`
 *   npx tsx examples/int4-inference.ts                            # trains a small one first (seconds)
 *   options: --format nf4|q4_0  --prompt TEXT  --tokens N  --json
 *
 * What it shows: `loadCheckpoint` (wgrad/node) gives a float32 model; `quantizeLinearLayers` replaces
 * each linear layer by one whose weight lives in 4 bits and runs through the fused int4 matmul
 * kernel, freeing each float32 weight as soon as its int4 copy exists. The same text is scored with
 * both models (`evaluateText`), so the cost of 4 bits is a number, not an impression.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AdamW, CharTokenizer, GPT, Rng, WgradError, baseWeightBytes, evaluateText, generate, init, loadCheckpoint, quantizeLinearLayers,
  sampleBatch, saveCheckpoint, scope, tensor, type Device,
} from 'wgrad/node';

/** A small corpus with enough structure for a tiny model to learn in a few dozen steps. */
const CORPUS = Array.from({ length: 40 }, (_, i) => `the ${['cat', 'dog', 'fox', 'owl'][i % 4]} sat on the ${['mat', 'log', 'rug', 'box', 'hill'][i % 5]}. `).join('');

/** Train a small GPT on CORPUS for `steps` steps and save it as a checkpoint in `dir`. */
async function makeCheckpoint(device: Device, dir: string, steps: number): Promise<void> {
  const tokenizer = CharTokenizer.fromCorpus(CORPUS);
  const tokens = tokenizer.encode(CORPUS);
  const model = new GPT({ vocabSize: tokenizer.vocabSize, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 64, dropout: 0, bias: true }, { device, seed: 1 });
  const optimizer = new AdamW(model, { lr: 3e-3, weightDecay: 0 });
  const rng = new Rng(2);
  for (let step = 0; step < steps; step++) {
    const batch = sampleBatch(tokens, 8, 32, rng);
    scope(() => {
      const { loss } = model.forward(tensor(batch.x, [8, 32], { device, dtype: 'int32' }), tensor(batch.y, [8, 32], { device, dtype: 'int32' }));
      loss!.backward();
      optimizer.step();
      optimizer.zeroGrad();
    });
  }
  await saveCheckpoint(dir, { model, tokenizer });
  optimizer.dispose();
  model.dispose();
}

interface InferenceReport {
  format: string;
  /** Mean cross-entropy (nats per token) of the prompt text under the float32 and the int4 model. */
  loss: { float32: number; int4: number };
  /** GPU bytes of the linear layers' weights, before and after. */
  linearBytes: { float32: number; int4: number };
  text: string;
}

async function run(device: Device, ckpt: string, format: 'nf4' | 'q4_0', prompt: string, count: number): Promise<InferenceReport> {
  const { model, tokenizer } = await loadCheckpoint(ckpt, device);
  try {
    model.eval();
    // Score a text at least one context long: the prompt repeated, as far as the tokenizer knows it.
    const promptIds = tokenizer.encode(prompt);
    const scored = tokenizer.encode(prompt.repeat(Math.ceil((2 * model.config.blockSize + 2) / Math.max(1, prompt.length))));
    const before = baseWeightBytes(model).linear;
    const float32 = (await evaluateText(model, scored, 8)).loss;
    quantizeLinearLayers(model, format);
    const after = baseWeightBytes(model).linear;
    const int4 = (await evaluateText(model, scored, 8)).loss;
    const ids = await generate(model, Array.from(promptIds), count, { temperature: 0 });
    return { format, loss: { float32, int4 }, linearBytes: { float32: before, int4: after }, text: tokenizer.decode(ids) };
  } finally {
    model.dispose();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ckpt: { type: 'string' },
      format: { type: 'string', default: 'nf4' },
      prompt: { type: 'string', default: 'the cat sat on the ' },
      tokens: { type: 'string', default: '40' },
      steps: { type: 'string', default: '80' },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.format !== 'nf4' && values.format !== 'q4_0') {
    console.error(`int4-inference: --format must be nf4 or q4_0, got ${values.format}`);
    return 2;
  }
  const device = await init();
  const scratch = values.ckpt ? null : mkdtempSync(join(tmpdir(), 'wgrad-int4-'));
  try {
    const ckpt = values.ckpt ?? join(scratch!, 'ckpt');
    if (!values.ckpt) await makeCheckpoint(device, ckpt, Number(values.steps));
    const report = await run(device, ckpt, values.format, values.prompt, Number(values.tokens));
    if (values.json) {
      console.log(JSON.stringify(report));
    } else {
      const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
      console.log(`linear weights: ${kib(report.linearBytes.float32)} float32 → ${kib(report.linearBytes.int4)} ${report.format}`);
      console.log(`loss on the prompt text: ${report.loss.float32.toFixed(4)} float32, ${report.loss.int4.toFixed(4)} ${report.format}`);
      console.log(`greedy continuation (${report.format}): ${JSON.stringify(report.text)}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof WgradError) {
      console.error(`int4-inference: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    device.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main();
