/**
 * The training loop: seeded random batches, AdamW with warmup and cosine decay, gradient accumulation
 * and clipping, periodic evaluation on a fixed number of validation batches, and a state that can be
 * saved and restored so that resumed training is identical to uninterrupted training.
 */
import type { Device } from '../gpu/device.js';
import { ValueError } from '../errors.js';
import { add, mul } from '../ops/elementwise.js';
import { noGrad } from '../autograd/tape.js';
import { keep, scope } from '../tensor/scope.js';
import { tensor } from '../tensor/create.js';
import { Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { GPT } from '../nn/gpt.js';
import { AdamW } from '../optim/adamw.js';
import { parameterGroups } from '../optim/groups.js';
import { warmupCosine, type Schedule } from '../optim/schedule.js';
import { sampleBatch } from '../data/batches.js';
import { modelConfig, type TrainConfig } from './config.js';

/** What one training step reports. */
export interface StepInfo {
  step: number;
  loss: number;
  lr: number;
  tokensPerSecond: number;
}

/** Everything besides the weights that resuming needs, as plain data. */
export interface TrainState {
  step: number;
  batchRng: number[];
  evalSeed: number;
  dropoutRng: number[];
  bestValLoss: number | null;
}

/** The training loop of `wgrad train`: seeded batches, AdamW with warmup and cosine decay, gradient accumulation and clipping, evaluation, and a state that resumes exactly. */
export class Trainer {
  readonly model: GPT;
  readonly optimizer: AdamW;
  step = 0;
  bestValLoss: number | null = null;
  private readonly schedule: Schedule;
  private readonly batchRng: Rng;

  constructor(
    readonly config: TrainConfig,
    readonly device: Device,
    readonly vocabSize: number,
    private readonly train: Int32Array,
    private readonly val: Int32Array,
    model?: GPT,
  ) {
    this.model = model ?? new GPT(modelConfig(config, vocabSize), { device, seed: config.seed });
    // As nanoGPT: every matrix decays, embeddings included (the LM head shares wte).
    this.optimizer = new AdamW(parameterGroups(this.model, config.weightDecay, { decayEmbeddings: true }), {
      lr: config.lr, beta1: config.beta1, beta2: config.beta2, weightDecay: config.weightDecay, maxGradNorm: config.gradClip,
    });
    this.schedule = warmupCosine({ lr: config.lr, minLr: config.minLr, warmup: config.warmup, total: config.decaySteps });
    this.batchRng = new Rng(config.seed ^ 0xba7c4);
  }

  /** One optimizer step (gradAccum micro-batches). Returns the mean loss; throws on NaN/Inf. */
  async trainStep(): Promise<StepInfo> {
    const { batchSize, blockSize, gradAccum } = this.config;
    const started = performance.now();
    const lr = this.schedule(this.step);
    this.model.train();
    const lossTensor = scope(() => {
      let total: Tensor | null = null;
      for (let micro = 0; micro < gradAccum; micro++) {
        const { x, y } = this.batch(this.train, this.batchRng);
        const { loss } = this.model.forward(x, y);
        mul(loss!, 1 / gradAccum).backward();
        total = total ? noGrad(() => mulAdd(total!, loss!, gradAccum)) : noGrad(() => mul(loss!, 1 / gradAccum));
      }
      this.optimizer.lr = lr;
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return keep(total!);
    });
    const loss = await lossTensor.item();
    lossTensor.dispose();
    if (!Number.isFinite(loss)) {
      throw new ValueError('train', `the loss became ${loss} at step ${this.step + 1}`, 'lower the learning rate (--lr), raise warmup, or enable clipping (--grad-clip 1); the last checkpoint is untouched');
    }
    this.step++;
    const seconds = (performance.now() - started) / 1000;
    return { step: this.step, loss, lr, tokensPerSecond: (batchSize * blockSize * gradAccum) / seconds };
  }

  /**
   * Mean loss over `evalIters` batches of each split, drawn from a generator seeded the same way at
   * every evaluation, so evaluations are comparable across steps and runs.
   */
  async evaluate(): Promise<{ train: number; val: number }> {
    this.model.eval();
    const result = { train: 0, val: 0 };
    for (const split of ['train', 'val'] as const) {
      const rng = new Rng(this.config.seed ^ 0xe7a1);
      let sum = 0;
      for (let i = 0; i < this.config.evalIters; i++) {
        const loss = noGrad(() => scope(() => this.model.loss(...xy(this.batch(split === 'train' ? this.train : this.val, rng)))));
        sum += await loss.item();
        loss.dispose();
      }
      result[split] = sum / this.config.evalIters;
    }
    this.model.train();
    return result;
  }

  get state(): TrainState {
    return { step: this.step, batchRng: this.batchRng.state, evalSeed: this.config.seed, dropoutRng: this.model.rngState, bestValLoss: this.bestValLoss };
  }

  /** Continue from a saved TrainState (with the optimizer state loaded separately). */
  restore(state: TrainState): void {
    this.step = state.step;
    this.batchRng.state = state.batchRng;
    this.model.rngState = state.dropoutRng;
    this.bestValLoss = state.bestValLoss;
  }

  /** Free the model and the optimizer state. */
  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }

  private batch(tokens: Int32Array, rng: Rng): { x: Tensor; y: Tensor } {
    const { batchSize, blockSize } = this.config;
    const b = sampleBatch(tokens, batchSize, blockSize, rng);
    return {
      x: tensor(b.x, [batchSize, blockSize], { device: this.device, dtype: 'int32' }),
      y: tensor(b.y, [batchSize, blockSize], { device: this.device, dtype: 'int32' }),
    };
  }
}

function xy(b: { x: Tensor; y: Tensor }): [Tensor, Tensor] {
  return [b.x, b.y];
}

/** total + loss / n */
function mulAdd(total: Tensor, loss: Tensor, n: number): Tensor {
  return add(total, mul(loss, 1 / n));
}
