/**
 * Training and using a model in the page, with the library's own pieces: the character tokenizer, the
 * train/validation split of `wgrad train`, the Trainer (AdamW, warmup + cosine, clipping), generation
 * with a KV cache, and evaluation on the validation split.
 */
import {
  CharTokenizer, Trainer, ValueError, encodeCorpus, evaluateText, generate, resolveConfig, splitTokens,
  type Device, type GPT, type StepInfo, type Tokenizer, type TrainConfig,
} from 'wgrad';

/** What the page lets one choose; everything else is the `tiny` preset. */
export type TrainSettings = Pick<TrainConfig, 'nLayer' | 'nHead' | 'nEmbd' | 'blockSize' | 'batchSize' | 'iters' | 'lr'>;

export interface TrainHooks {
  onStep(info: StepInfo): void;
  onEval(step: number, losses: { train: number; val: number }): void;
  /** Checked between steps: true ends training early (the model trained so far is kept). */
  shouldStop(): boolean;
}

/** The fraction of a corpus, at its end, held out for validation (`wgrad train`'s default). */
export const VAL_FRACTION = 0.1;

/** Trains a new model on `text`; the returned trainer owns the model (dispose it when done). */
export async function trainOnText(device: Device, text: string, settings: TrainSettings, hooks: TrainHooks): Promise<{ trainer: Trainer; tokenizer: Tokenizer }> {
  const config = resolveConfig('tiny', {
    ...settings,
    minLr: settings.lr / 10,
    warmup: Math.min(20, Math.floor(settings.iters / 10)),
    evalInterval: Math.max(1, Math.round(settings.iters / 6)),
    evalIters: 4,
    valFraction: VAL_FRACTION,
  });
  const tokenizer = CharTokenizer.fromCorpus(text);
  const { train, val } = splitTokens(encodeCorpus(text, tokenizer), config.valFraction, config.blockSize);
  const trainer = new Trainer(config, device, tokenizer.vocabSize, train, val);
  try {
    while (trainer.step < config.iters && !hooks.shouldStop()) {
      const info = await trainer.trainStep();
      hooks.onStep(info);
      if (info.step % config.evalInterval === 0 || info.step === config.iters) hooks.onEval(info.step, await trainer.evaluate());
      await nextFrame(); // let the chart paint
    }
  } catch (err) {
    trainer.dispose();
    throw err;
  }
  return { trainer, tokenizer };
}

/** Samples `count` tokens after `prompt` (an empty prompt starts from the first token of the vocabulary). */
export async function sampleText(model: GPT, tokenizer: Tokenizer, prompt: string, count: number, temperature: number, seed: number, onText: (text: string) => void): Promise<string> {
  const promptIds = prompt ? Array.from(tokenizer.encode(prompt)) : [0];
  const context = promptIds.slice(-model.config.blockSize);
  const ids: number[] = [];
  let painted = performance.now();
  await generate(model, context, count, { temperature, topK: 40, seed }, (id) => {
    ids.push(id);
    if (performance.now() - painted > 50) {
      onText(prompt + tokenizer.decode(ids));
      painted = performance.now();
    }
  });
  const text = prompt + tokenizer.decode(ids);
  onText(text);
  return text;
}

/** Mean loss on the validation split of `text` (the same split and windows as `wgrad eval` on that split). */
export async function validationLoss(model: GPT, tokenizer: Tokenizer, text: string): Promise<{ loss: number; tokens: number }> {
  const { val } = splitTokens(encodeCorpus(text, tokenizer), VAL_FRACTION, model.config.blockSize);
  return evaluateText(model, val, 16);
}

/** Reads a positive number from an <input>, naming it when it is not one. */
export function numberField(input: HTMLInputElement, label: string, integer = true): number {
  const n = Number(input.value);
  if (input.value.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new ValueError('demo', `${label} is '${input.value}', not a ${integer ? 'whole number ≥ 1' : 'positive number'}`, `enter a valid ${label}`);
  }
  return n;
}

/** Yields to the browser so it can paint (a timer, not requestAnimationFrame: that stops in a background tab). */
function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
