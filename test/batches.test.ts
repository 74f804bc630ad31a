/** Corpus → tokens → train/validation split → seeded random batches (CPU only, no GPU). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows } from './helpers.js';
import { LimitError, ValueError } from '../src/errors.js';
import { Rng } from '../src/tensor/random.js';
import { CorpusError } from '../src/data/errors.js';
import { CharTokenizer } from '../src/data/char-tokenizer.js';
import { encodeCorpus, sampleBatch, splitTokens, uniformInt } from '../src/data/batches.js';

const test = suite('batches');
const shakespeare = readFileSync(join(import.meta.dirname, '..', 'data/tinyshakespeare.txt'), 'utf8');

/** tokens[i] = i, so x[b·T] is the offset of row b. */
function iota(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

test('Tiny Shakespeare, character level: nanoGPT\'s 1,003,854 train and 111,540 validation tokens', () => {
  const tok = CharTokenizer.fromCorpus(shakespeare);
  const tokens = encodeCorpus(shakespeare, tok);
  const { train, val } = splitTokens(tokens, 0.1, 256);
  assert.is(train.length, 1_003_854);
  assert.is(val.length, 111_540);
  assert.is(train.buffer, tokens.buffer, 'views, not copies');
  assert.is(val[0], tokens[1_003_854]);
  assert.is(tok.decode(train) + tok.decode(val), shakespeare);
  const none = splitTokens(tokens, 0);
  assert.is(none.train.length, tokens.length);
  assert.is(none.val.length, 0);
});

test('x is a window of the tokens and y is x shifted by one', () => {
  const rng = new Rng(1);
  const tokens = Int32Array.from({ length: 500 }, () => rng.int(65));
  const B = 8;
  const T = 16;
  const { x, y } = sampleBatch(tokens, B, T, new Rng(2));
  assert.is(x.length, B * T);
  assert.is(y.length, B * T);
  // Re-derive the offsets from the same seed: one draw per row.
  const draws = new Rng(2);
  for (let b = 0; b < B; b++) {
    const off = uniformInt(draws, tokens.length - T);
    for (let t = 0; t < T; t++) {
      assert.is(x[b * T + t], tokens[off + t]);
      assert.is(y[b * T + t], tokens[off + t + 1]);
      if (t < T - 1) assert.is(y[b * T + t], x[b * T + t + 1]);
    }
  }
});

test('offsets are uniform over [0, len − T − 1]: every offset occurs, none beyond', () => {
  const T = 4;
  const tokens = iota(T + 5); // offsets 0..4
  const rng = new Rng(3);
  const hist = new Array<number>(5).fill(0);
  const draws = 5000;
  for (let i = 0; i < draws / 10; i++) {
    const { x, y } = sampleBatch(tokens, 10, T, rng);
    for (let b = 0; b < 10; b++) {
      hist[x[b * T]!]!++;
      assert.is(y[b * T + T - 1], x[b * T]! + T); // the last target is the token after the window
    }
  }
  assert.is(hist.reduce((s, h) => s + h, 0), draws);
  for (const h of hist) assert.ok(Math.abs(h - draws / 5) < 5 * Math.sqrt(draws / 5), `histogram ${hist}`);
  // The shortest possible corpus (T + 1 tokens) has the single offset 0.
  const { x } = sampleBatch(iota(T + 1), 3, T, new Rng(0));
  assert.equal([...x], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
});

test('deterministic given a seed, and after saving and restoring the Rng state (resumed training)', () => {
  const tokens = iota(10_000);
  const run = (rng: Rng, steps: number): Int32Array[] => Array.from({ length: steps }, () => sampleBatch(tokens, 4, 32, rng).x);
  const a = run(new Rng(42), 6);
  const b = run(new Rng(42), 6);
  assert.equal(a.map((t) => [...t]), b.map((t) => [...t]));
  assert.not.equal([...run(new Rng(43), 1)[0]!], [...a[0]!]);
  // Interrupt after 3 steps, save the state (as a checkpoint would, through JSON), resume in a new Rng.
  const first = new Rng(42);
  run(first, 3);
  const saved = JSON.parse(JSON.stringify(first.state.map((v) => (Number.isNaN(v) ? null : v)))) as (number | null)[];
  const resumed = new Rng(0);
  resumed.state = saved.map((v) => v ?? NaN);
  assert.equal(run(resumed, 3).map((t) => [...t]), a.slice(3).map((t) => [...t]));
  // Interleaving normal() draws (e.g. dropout masks) with a spare value pending also restores exactly.
  const c = new Rng(5);
  c.normal();
  const state = c.state;
  const after = run(c, 2).map((t) => [...t]);
  const d = new Rng(9);
  d.state = state;
  assert.equal(run(d, 2).map((t) => [...t]), after);
});

test('uniformInt: in range, n = 1 and n = 2^32, unbiased for a range that does not divide 2^32', () => {
  const rng = new Rng(8);
  assert.is(uniformInt(rng, 1), 0);
  const big = uniformInt(rng, 2 ** 32);
  assert.ok(big >= 0 && big < 2 ** 32 && Number.isInteger(big));
  const n = 3;
  const hist = [0, 0, 0];
  for (let i = 0; i < 30_000; i++) hist[uniformInt(rng, n)]!++;
  for (const h of hist) assert.ok(Math.abs(h - 10_000) < 500, `histogram ${hist}`);
  assertThrows(() => uniformInt(rng, 0), ValueError, 'n must be an integer in [1, 2^32]');
  assertThrows(() => uniformInt(rng, 2 ** 32 + 1), LimitError, 'n must be an integer in [1, 2^32]');
});

test('typed errors: empty corpus, corpus or split shorter than blockSize + 1, bad sizes and fractions', () => {
  const tok = CharTokenizer.fromCorpus('abc');
  assertThrows(() => encodeCorpus('', tok), CorpusError, 'encodeCorpus', 'the corpus is empty');
  assertThrows(() => splitTokens(new Int32Array(0)), CorpusError, 'no tokens');
  assertThrows(() => sampleBatch(new Int32Array(0), 2, 8, new Rng(0)), CorpusError, 'the token array is empty');
  assertThrows(() => sampleBatch(iota(10), 2, 16, new Rng(0)), CorpusError, 'the token array has 10 tokens, fewer than blockSize + 1 = 17', 'smaller context (blockSize ≤ 9) or more text');
  assertThrows(() => sampleBatch(iota(16), 2, 16, new Rng(0)), CorpusError, 'has 16 tokens');
  assertThrows(() => splitTokens(iota(1000), 0.1, 256), CorpusError, 'the validation split (the last 10% of 1,000 tokens) has 100 tokens, fewer than blockSize + 1 = 257', 'blockSize ≤ 99');
  assertThrows(() => splitTokens(iota(300), 0.5, 200), CorpusError, 'the training split (the first 150 of 300 tokens) has 150 tokens');
  assertThrows(() => splitTokens(iota(100), 1), ValueError, 'valFraction must be in [0, 1), got 1');
  assertThrows(() => splitTokens(iota(100), -0.1), ValueError, 'valFraction');
  assertThrows(() => splitTokens(iota(100), NaN), ValueError, 'valFraction');
  assertThrows(() => sampleBatch(iota(100), 0, 8, new Rng(0)), ValueError, 'batchSize must be a positive integer, got 0');
  assertThrows(() => sampleBatch(iota(100), 2, 2.5, new Rng(0)), ValueError, 'blockSize must be a positive integer, got 2.5');
  assertThrows(() => splitTokens(iota(100), 0.1, 0), ValueError, 'blockSize');
});

test.run();
