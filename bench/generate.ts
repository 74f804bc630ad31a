/**
 * The generation benchmark: tokens per second of greedy decoding with the KV cache (one position per
 * step after a one-token prompt, the logits read back each step), batch 1, for the baby preset's
 * model: wgrad's generate() against the PyTorch twin decoding the same weights the same way.
 *
 * Before timing, each contender's logits for a fixed 8-token prompt are checked against the float64
 * GPT. The int4 case quantizes every linear layer (Q4_0, as `wgrad finetune` does for QLoRA) and is
 * checked against the float64 GPT on the dequantized weights; its PyTorch reference decodes those
 * same dequantized weights in float32 (torch has no like-for-like int4 kernel on the CPU).
 */
import { noGrad } from '../src/autograd/tape.js';
import { GPT } from '../src/nn/gpt.js';
import { tensor } from '../src/tensor/create.js';
import { scope } from '../src/tensor/scope.js';
import { modelConfig } from '../src/train/config.js';
import { generate } from '../src/train/generate.js';
import { Int4Conv1D, linearLayers, quantizeLinearLayers } from '../src/lora/index.js';
import { LABELS, type BenchContext, type SuitePart } from './context.js';
import { benchConfigs, loadCorpus, oracleForward, readWeights, twinConfig, type Weights } from './gpt-common.js';
import { runCase, sampleByHand, type AnyContender, type BenchCase, type Row, type SelfTimedContender } from './harness.js';
import { tokensPerSecond } from './train.js';

const PROMPT_TOKENS = 8;

export async function generateSuite(ctx: BenchContext): Promise<SuitePart> {
  const { name, config } = benchConfigs()[0]!;
  // Stay within the context, so the cache is never rebuilt mid-run.
  const tokens = ctx.quick ? 32 : config.blockSize - 1;
  const counts = ctx.quick ? { warmup: 1, samples: 3 } : { warmup: 1, samples: 7 };
  const rows: Row[] = [];
  for (const format of [null, 'q4_0'] as const) rows.push(await runCase(await generateCase(ctx, name, tokens, counts, format)));
  return {
    title: 'generation: tokens/s, greedy, KV cache, batch 1',
    references: { torch: LABELS.torch },
    notes: [
      'int4: every linear layer in Q4_0 through the fused int4 matmul; PyTorch decodes the same dequantized weights in float32.',
      `A sample generates ${tokens} tokens after a one-token prompt; each step runs the model on one position against the cached keys and values and reads the logits back.`,
      'Correctness: logits for a fixed 8-token prompt are checked against the float64 GPT before timing.',
    ],
    rows,
    environment: { config: { name, ...config }, tokens, promptTokensChecked: PROMPT_TOKENS },
  };
}

async function generateCase(ctx: BenchContext, name: string, tokens: number, counts: { warmup: number; samples: number }, format: 'q4_0' | null): Promise<BenchCase> {
  const { config } = benchConfigs()[0]!;
  const { vocabSize, train } = loadCorpus();
  const model = new GPT(modelConfig(config, vocabSize), { device: ctx.device, seed: config.seed });
  if (format) quantizeLinearLayers(model, format);
  const weights = format ? await readWeightsDequantized(model) : await readWeights(model);
  const prompt = train.slice(0, PROMPT_TOKENS);
  const expected = oracleForward(config, vocabSize, weights, prompt, train.slice(1, PROMPT_TOKENS + 1)).logits;
  const tolerance = { rtol: 1e-3, atol: 1e-4 };
  const wgrad: SelfTimedContender = {
    async result() {
      model.eval();
      const logits = noGrad(() => scope(() => model.forward(tensor(prompt, [1, PROMPT_TOKENS], { device: ctx.device, dtype: 'int32' })).logits));
      const out = await logits.toArray();
      logits.dispose();
      return out;
    },
    async samples() {
      try {
        return await sampleByHand(async () => void (await generate(model, [0], tokens, { temperature: 0 })), counts.warmup, counts.samples);
      } finally {
        model.dispose();
      }
    },
    units: 1,
  };
  const torch: AnyContender | string = typeof ctx.torch === 'string'
    ? ctx.torch
    : ctx.torch.contender({ kind: 'gpt_generate', config: twinConfig(config, vocabSize), weights: weights.manifest, tokens, units: 1, ...counts }, [...weights.arrays, prompt], { expected, ...tolerance });
  return { name: `generate ${name} ${format ?? 'float32'}`, unit: tokensPerSecond(tokens), expected, tolerance, wgrad, references: { torch } };
}

/** The model's weights with every int4 layer expanded back to float32, (in, out) as Conv1D stores them. */
async function readWeightsDequantized(model: GPT): Promise<Weights> {
  const w = await readWeights(model);
  for (const [path, layer] of linearLayers(model)) {
    if (!(layer instanceof Int4Conv1D)) continue;
    const wide = layer.weight.dequantize(); // (out, in)
    const rows = (await wide.toArray()) as Float32Array;
    wide.dispose();
    const [n, k] = [layer.outFeatures, layer.inFeatures];
    const data = new Float32Array(n * k);
    for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) data[i * n + o] = rows[o * k + i]!;
    const name = `${path}.weight`;
    w.manifest.push({ name, shape: [k, n] });
    w.arrays.push(data);
    w.float64[name] = { shape: [k, n], data: Float64Array.from(data) };
  }
  return w;
}
