/**
 * The training benchmark: tokens per second of whole optimizer steps (forward, backward, clipping,
 * AdamW, and the loss read back) for the baby preset and a larger configuration, wgrad's Trainer
 * against the PyTorch twin training the same model from the same initial weights on the same corpus.
 *
 * Before timing, each contender's loss on one fixed sequence (the corpus's first blockSize tokens,
 * at most 32) with the initial weights is checked against the float64 GPT (src/reference/gpt.ts).
 * Then a few warm-up steps, then timed steps; tokens/s = batchSize·blockSize / median step time.
 */
import { noGrad } from '../src/autograd/tape.js';
import { tensor } from '../src/tensor/create.js';
import { scope } from '../src/tensor/scope.js';
import { Trainer } from '../src/train/trainer.js';
import { LABELS, type BenchContext, type SuitePart } from './context.js';
import { benchConfigs, loadCorpus, oracleForward, readWeights, twinConfig, type BenchConfig } from './gpt-common.js';
import { runCase, sampleByHand, type AnyContender, type BenchCase, type Row, type SelfTimedContender, type Unit } from './harness.js';

/** Checking the loss on this many positions keeps the float64 model to seconds. */
const CHECK_TOKENS = 32;

export function tokensPerSecond(tokensPerUnit: number): Unit {
  return { label: 'tokens/s', better: 'higher', fromSeconds: (s) => tokensPerUnit / s, digits: 0 };
}

/** Warm-up and timed steps, by configuration (the larger one takes seconds per step). */
function stepCounts(ctx: BenchContext, index: number): { warmup: number; samples: number } {
  if (ctx.quick) return index === 0 ? { warmup: 3, samples: 6 } : { warmup: 1, samples: 2 };
  return index === 0 ? { warmup: 5, samples: 20 } : { warmup: 1, samples: 5 };
}

export async function trainSuite(ctx: BenchContext): Promise<SuitePart> {
  const rows: Row[] = [];
  const configs = benchConfigs();
  for (const [i, c] of configs.entries()) rows.push(await runCase(await trainCase(ctx, c, stepCounts(ctx, i))));
  return {
    title: 'training: tokens/s of whole optimizer steps',
    references: { torch: LABELS.torch },
    notes: [
      'One step: forward and backward on batchSize × blockSize tokens, gradient clipping to norm 1, AdamW (weight decay on matrices), and the loss read back; dropout 0, no gradient accumulation.',
      'Both contenders start from the same weights (wgrad\'s initialisation, seeded) and sample batches from the same Tiny Shakespeare training split, character-level.',
      'Correctness: each contender\'s initial loss on one fixed sequence is checked against the float64 GPT before any step is timed.',
    ],
    rows,
    environment: { configs: configs.map((c) => ({ name: c.name, ...c.config })), checkTokens: CHECK_TOKENS },
  };
}

async function trainCase(ctx: BenchContext, { name, config }: BenchConfig, counts: { warmup: number; samples: number }): Promise<BenchCase> {
  const { vocabSize, train } = loadCorpus();
  const trainer = new Trainer(config, ctx.device, vocabSize, train, train);
  const weights = await readWeights(trainer.model);
  const t = Math.min(config.blockSize, CHECK_TOKENS);
  const idx = train.slice(0, t);
  const targets = train.slice(1, t + 1);
  const expected = Float64Array.of(oracleForward(config, vocabSize, weights, idx, targets).loss);
  // A mean of float32 log-probabilities through a few dozen ops: 1e-4 absolute is ample and still catches a wrong kernel.
  const tolerance = { rtol: 0, atol: 1e-4 };

  const wgrad: SelfTimedContender = {
    async result() {
      const loss = noGrad(() => scope(() => trainer.model.forward(tensor(idx, [1, t], { device: ctx.device, dtype: 'int32' }), tensor(targets, [1, t], { device: ctx.device, dtype: 'int32' })).loss!));
      const value = await loss.item();
      loss.dispose();
      return [value];
    },
    async samples() {
      try {
        return await sampleByHand(async () => void (await trainer.trainStep()), counts.warmup, counts.samples);
      } finally {
        trainer.dispose();
      }
    },
    units: 1,
  };
  const torch: AnyContender | string = typeof ctx.torch === 'string'
    ? ctx.torch
    : ctx.torch.contender(
      { kind: 'gpt_train', config: twinConfig(config, vocabSize), weights: weights.manifest, units: 1, ...counts },
      [...weights.arrays, idx, targets, Int32Array.from(train)],
      { expected, ...tolerance },
    );
  return {
    name: `train ${name}`,
    unit: tokensPerSecond(config.batchSize * config.blockSize),
    expected,
    tolerance,
    wgrad,
    references: { torch },
  };
}
