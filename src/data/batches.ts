/**
 * Corpus → tokens → train/validation split → random batches, as nanoGPT's `get_batch`: a batch is
 * `batchSize` windows of `blockSize + 1` consecutive tokens at uniformly random offsets; x is the first
 * blockSize tokens of each window and y the next-token targets (x shifted by one).
 *
 * Offsets come from the engine's Rng (src/tensor/random.ts), whose state can be saved in a checkpoint,
 * so a resumed run draws exactly the batches the uninterrupted run would have.
 */
import { LimitError, ValueError } from '../errors.js';
import type { Rng } from '../tensor/random.js';
import { CorpusError } from './errors.js';
import { fmtInt } from './text.js';
import type { Tokenizer } from './tokenizer.js';

/** A batch of training windows: inputs and next-token targets, both (B, T) int32. */
export interface Batch {
  /** Inputs, row-major [batchSize, blockSize]. */
  x: Int32Array;
  /** Targets, row-major [batchSize, blockSize]: y[b, t] = x[b, t + 1] (the token after the window for t = T − 1). */
  y: Int32Array;
}

/** A corpus split into training and validation tokens. */
export interface TokenSplit {
  /** The first part of the tokens (a view, not a copy). */
  train: Int32Array;
  /** The last `valFraction` of the tokens (a view, not a copy). */
  val: Int32Array;
}

/** Encode a corpus; throws a CorpusError for an empty corpus. */
export function encodeCorpus(text: string, tokenizer: Tokenizer): Int32Array {
  if (text.length === 0) {
    throw new CorpusError('encodeCorpus', 'the corpus is empty', 'check the file path and that the file is not empty (and was read as UTF-8 text)');
  }
  return tokenizer.encode(text);
}

/**
 * Split tokens into train (the first part) and validation (the last `valFraction`), as nanoGPT does:
 * train = tokens[0 : floor(n · (1 − valFraction))]. With `blockSize`, both parts are checked to hold at
 * least blockSize + 1 tokens (validation is skipped when valFraction is 0).
 */
export function splitTokens(tokens: Int32Array, valFraction = 0.1, blockSize?: number): TokenSplit {
  const where = 'splitTokens';
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new ValueError(where, `valFraction must be in [0, 1), got ${valFraction}`, 'use e.g. 0.1 to keep the last 10% of the tokens for validation, or 0 for none');
  }
  if (tokens.length === 0) {
    throw new CorpusError(where, 'the corpus has no tokens', 'check that the corpus file is not empty');
  }
  if (blockSize !== undefined) checkBlockSize(where, blockSize);
  const n = tokens.length;
  const trainLen = Math.floor(n * (1 - valFraction));
  const split = { train: tokens.subarray(0, trainLen), val: tokens.subarray(trainLen) };
  if (blockSize !== undefined) {
    const pct = `${+(valFraction * 100).toFixed(2)}%`;
    checkLength(where, split.train, blockSize, `the training split (the first ${fmtInt(trainLen)} of ${fmtInt(n)} tokens)`);
    if (valFraction > 0) checkLength(where, split.val, blockSize, `the validation split (the last ${pct} of ${fmtInt(n)} tokens)`);
  }
  return split;
}

/**
 * A random batch: `batchSize` windows at offsets drawn uniformly from [0, tokens.length − blockSize − 1]
 * with `rng` (one draw per row, in row order). Throws a CorpusError when the tokens are fewer than
 * blockSize + 1.
 */
export function sampleBatch(tokens: Int32Array, batchSize: number, blockSize: number, rng: Rng): Batch {
  const where = 'sampleBatch';
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ValueError(where, `batchSize must be a positive integer, got ${batchSize}`, 'use e.g. 12 or 64');
  }
  checkBlockSize(where, blockSize);
  checkLength(where, tokens, blockSize, 'the token array');
  const x = new Int32Array(batchSize * blockSize);
  const y = new Int32Array(batchSize * blockSize);
  const offsets = tokens.length - blockSize; // offsets 0 .. len − T − 1
  for (let b = 0; b < batchSize; b++) {
    const i = uniformInt(rng, offsets);
    x.set(tokens.subarray(i, i + blockSize), b * blockSize);
    y.set(tokens.subarray(i + 1, i + 1 + blockSize), b * blockSize);
  }
  return { x, y };
}

/** An unbiased integer in [0, n), n ≤ 2^32, from rng.nextU32() (rejection sampling). */
export function uniformInt(rng: Rng, n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new ValueError('uniformInt', `n must be an integer in [1, 2^32], got ${n}`, 'pass the number of possible values (e.g. tokens.length − blockSize)');
  }
  if (n > 2 ** 32) {
    throw new LimitError('uniformInt', `n must be an integer in [1, 2^32], got ${n}`, 'draw from a smaller range (a corpus of more than 2^32 tokens needs sharding)');
  }
  const limit = 2 ** 32 - (2 ** 32 % n); // largest multiple of n ≤ 2^32
  for (;;) {
    const u = rng.nextU32();
    if (u < limit) return u % n;
  }
}

function checkBlockSize(where: string, blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new ValueError(where, `blockSize must be a positive integer, got ${blockSize}`, 'use the model\'s context length, e.g. 256');
  }
}

function checkLength(where: string, tokens: Int32Array, blockSize: number, what: string): void {
  if (tokens.length === 0) {
    throw new CorpusError(where, `${what} is empty`, 'give more text, or a smaller validation fraction');
  }
  if (tokens.length < blockSize + 1) {
    throw new CorpusError(
      where,
      `${what} has ${fmtInt(tokens.length)} tokens, fewer than blockSize + 1 = ${fmtInt(blockSize + 1)} (one window of context plus its next-token target)`,
      `use a smaller context (blockSize ≤ ${fmtInt(tokens.length - 1)}) or more text`,
    );
  }
}
