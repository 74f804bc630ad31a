/**
 * Tokenizers (CPU only, no GPU): character-level, byte-level BPE (minbpe's algorithm), GPT-2, and the
 * tokenizer.json round trip.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { assertThrows } from './helpers.js';
import { ValueError } from '../src/errors.js';
import { Rng } from '../src/tensor/random.js';
import { CorpusError, TokenizerError } from '../src/data/errors.js';
import { CharTokenizer } from '../src/data/char-tokenizer.js';
import { BpeTokenizer, GPT2_SPLIT_PATTERN } from '../src/data/bpe-tokenizer.js';
import { Gpt2Tokenizer } from '../src/data/gpt2-tokenizer.js';
import { tokenizerFromJSON, type Tokenizer } from '../src/data/tokenizer.js';

const root = join(import.meta.dirname, '..');
const shakespeare = readFileSync(join(root, 'data/tinyshakespeare.txt'), 'utf8');
const alice = readFileSync(join(root, 'data/alice.txt'), 'utf8');

/** Merges minbpe's RegexTokenizer (Python, GPT-2 pattern) learns on Tiny Shakespeare with vocab_size=300. */
const MINBPE_SHAKESPEARE_300 = [
  [32, 116], [104, 101], [32, 97], [111, 117], [32, 115], [32, 109], [105, 110], [32, 119], [114, 101], [104, 97], [110, 100],
  [256, 257], [32, 98], [105, 115], [111, 114], [32, 102], [101, 114], [108, 108], [105, 116], [111, 110], [32, 100], [32, 99],
  [101, 115], [101, 110], [32, 110], [32, 108], [32, 121], [256, 104], [97, 114], [32, 104], [32, 111], [256, 111], [282, 259],
  [32, 112], [265, 116], [32, 73], [32, 257], [118, 101], [111, 116], [115, 116], [258, 266], [111, 119], [262, 103], [97, 110],
];
/** minbpe on alice.txt with vocab_size=512: the first merges, and FNV-1a of all 256 as compact JSON. */
const MINBPE_ALICE_512_FIRST = [[32, 116], [104, 101], [32, 97], [32, 32], [32, 115], [105, 110], [256, 257], [111, 117], [32, 119], [105, 116], [110, 100], [101, 114]];
const MINBPE_ALICE_512_FNV = 0x0bc8f1d5;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

/** Random well-formed text: code points from several ranges (ASCII, Latin, combining, CJK, emoji, astral), no surrogates. */
function randomText(rng: Rng, length: number): string {
  const ranges: [number, number][] = [[0x20, 0x7e], [0x0, 0x1f], [0xa0, 0x24f], [0x300, 0x36f], [0x590, 0x6ff], [0x4e00, 0x9fff], [0xe000, 0xfffd], [0x1f300, 0x1faff], [0x10000, 0x10ffff]];
  let s = '';
  for (let i = 0; i < length; i++) {
    const [lo, hi] = ranges[rng.int(ranges.length)]!;
    s += String.fromCodePoint(lo + rng.int(hi - lo + 1));
  }
  return s;
}

const UNICODE_SAMPLES = [
  'héllo wörld — naïve café',
  'e\u0301 a\u0308\u0323 combining marks, Z\u0335\u0321a\u0336l\u0337g\u0338o',
  '👩‍👩‍👧‍👦 family, 🇫🇷 flag, 👍🏽 skin tone, 😀😃😄',
  '日本語のテキスト、中文文本，한국어 텍스트',
  'עברית וערבית: مرحبا بالعالم',
  '\uFEFFleading byte order mark',
  'nul \u0000 and controls \u0001\u001f\u007f, CRLF\r\nline',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral 𐍈 \u{10FFFF}',
  '   leading and trailing whitespace   \n\n\t',
  "it's they're we'll I'd you've 123 4567.89",
  '',
];

// ---------------------------------------------------------------------------------------------------
const char = suite('tokenizers: CharTokenizer');

char('Tiny Shakespeare: nanoGPT\'s 65-character vocabulary, in sorted(set(text)) order', () => {
  const tok = CharTokenizer.fromCorpus(shakespeare);
  assert.is(tok.vocabSize, 65);
  assert.equal(tok.chars.slice(0, 4), ['\n', ' ', '!', '$']);
  assert.is(tok.chars.join(''), "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  // The example from nanoGPT / "Let's build GPT": encode("hii there").
  assert.equal([...tok.encode('hii there')], [46, 47, 47, 1, 58, 46, 43, 56, 43]);
});

char('round trips Tiny Shakespeare and alice.txt exactly (one id per character)', () => {
  for (const text of [shakespeare, alice]) {
    const tok = CharTokenizer.fromCorpus(text);
    const ids = tok.encode(text);
    assert.instance(ids, Int32Array);
    assert.is(ids.length, text.length);
    assert.ok(ids.every((id) => id >= 0 && id < tok.vocabSize));
    assert.ok(tok.decode(ids) === text, 'decode(encode(text)) === text');
    assert.equal(tok.unknownCharacters(text), []);
  }
});

char('iterates by code points and sorts by code point, not by UTF-16 unit', () => {
  // U+FF01 sorts before U+1F600 by code point, but after it by UTF-16 unit (0xD83D).
  const tok = CharTokenizer.fromCorpus('😀！a😀e\u0301');
  assert.equal(tok.chars, ['a', 'e', '\u0301', '！', '😀']);
  const ids = tok.encode('😀a！');
  assert.equal([...ids], [4, 0, 3]);
  assert.is(tok.decode(ids), '😀a！');
  // A lone surrogate is one character too, and round-trips.
  const lone = CharTokenizer.fromCorpus('x\uD800y');
  assert.is(lone.vocabSize, 3);
  assert.is(lone.decode(lone.encode('\uD800xy')), '\uD800xy');
});

char('unknown characters: encode throws a TokenizerError naming them, their counts and first positions', () => {
  const tok = CharTokenizer.fromCorpus(shakespeare);
  const unknown = tok.unknownCharacters(alice);
  // alice.txt has 8 characters Tiny Shakespeare lacks; listed in order of first appearance.
  assert.equal(unknown.map((u) => u.char), ['[', '_', '(', ')', '0', '`', '"', ']'].sort((a, b) => alice.indexOf(a) - alice.indexOf(b)));
  for (const u of unknown) {
    assert.is(u.count, alice.split(u.char).length - 1, `count of ${u.char}`);
    assert.is(u.firstIndex, alice.indexOf(u.char), `first index of ${u.char}`); // alice.txt is ASCII: UTF-16 index = character index
    assert.is(u.codePoint, u.char.codePointAt(0));
    const before = alice.slice(0, u.firstIndex);
    assert.is(u.line, before.split('\n').length);
    assert.is(u.column, u.firstIndex - before.lastIndexOf('\n'));
  }
  assertThrows(
    () => tok.encode(alice),
    TokenizerError,
    'CharTokenizer.encode',
    '8 distinct characters are not in the vocabulary of 65',
    `'"' U+0022 (113 times, first at character 8,020`,
    `'0' U+0030 (once, first at character 173`,
    "'`' U+0060 (1,109 times",
    'this character-level vocabulary was built from another corpus; fine-tune a byte-level BPE model instead, or rebuild the vocabulary',
  );
});

char('unknown characters are escaped in the message (newline, quote, combining mark, emoji)', () => {
  const tok = CharTokenizer.fromCorpus('abc');
  const err = thrown(() => tok.encode("a\nb'c\u0301😀"));
  assert.instance(err, TokenizerError);
  for (const frag of ["'\\n' U+000A (once, first at character 1, line 1 column 2)", "'\\'' U+0027", "'\\u{301}' U+0301", "'😀' U+1F600 (once, first at character 6, line 2 column 5)"]) {
    assert.ok(err.message.includes(frag), `message lacks ${frag}: ${err.message}`);
  }
  // Many unknown characters: the message lists the first 12 and counts the rest.
  assertThrows(() => tok.encode('0123456789ABCDEFGH'), TokenizerError, '18 distinct characters', 'and 6 more');
});

char('decode rejects ids outside the vocabulary; toJSON/fromJSON round trip; malformed JSON is rejected', () => {
  const tok = CharTokenizer.fromCorpus(alice);
  assertThrows(() => tok.decode([0, 1, tok.vocabSize]), TokenizerError, `the first is ${tok.vocabSize} at position 2`, 'HINT');
  assertThrows(() => tok.decode([1.5]), TokenizerError, 'not a token');
  assertThrows(() => tok.decode([-1, -2]), TokenizerError, '2 ids are');
  const back = CharTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
  assert.equal(back.chars, tok.chars);
  assert.equal([...back.encode(alice.slice(0, 1000))], [...tok.encode(alice.slice(0, 1000))]);
  assertThrows(() => CharTokenizer.fromJSON({ type: 'char', chars: ['a', 'a'] }), TokenizerError, "'a' U+0061 appears twice");
  assertThrows(() => CharTokenizer.fromJSON({ type: 'char', chars: ['a', 'bc'] }), TokenizerError, 'entry 1 is "bc", not a single character');
  assertThrows(() => CharTokenizer.fromJSON({ type: 'char', chars: [] }), TokenizerError, 'empty');
  assertThrows(() => CharTokenizer.fromJSON({ type: 'char' }), TokenizerError, '"chars" must be an array');
  assertThrows(() => CharTokenizer.fromJSON({ type: 'bpe' }), TokenizerError, "expected { type: 'char'");
  assertThrows(() => CharTokenizer.fromCorpus(''), TokenizerError, 'empty corpus');
});

// ---------------------------------------------------------------------------------------------------
const bpe = suite('tokenizers: BpeTokenizer');

bpe('hand-checked merges: "aaabdaaabac" (minbpe\'s test and Wikipedia\'s example)', () => {
  // aa:4 → 256; then (256,a):2 and (a,b):2 tie, the first met wins → 257 = (256,a); then (257,b):2 → 258.
  const tok = BpeTokenizer.train('aaabdaaabac', 256 + 3);
  assert.equal(tok.merges.map((p) => [...p]), [[97, 97], [256, 97], [257, 98]]);
  const ids = tok.encode('aaabdaaabac');
  assert.equal([...ids], [258, 100, 258, 97, 99]);
  assert.is(tok.decode(ids), 'aaabdaaabac');
  assert.equal([...tok.tokenBytes(258)], [97, 97, 97, 98]);
});

bpe('hand-checked merges across chunks: frequencies count, ties go to the pair met first, exhaustion throws', () => {
  // Chunks "ba", " ab", " ab": (b,a):1, (' ',a):2, (a,b):2 → tie, (' ',a) met first → 256;
  // then (256,b):2 → 257; then (b,a):1 → 258; then no pair is left.
  const text = 'ba ab ab';
  const tok = BpeTokenizer.train(text, 259);
  assert.equal(tok.merges.map((p) => [...p]), [[32, 97], [256, 98], [98, 97]]);
  assert.equal([...tok.encode(text)], [258, 257, 257]);
  assert.equal([...tok.encode('abba')], [97, 98, 258]); // one chunk: merges apply by rank, (b,a) is the only one present
  // Pairs never cross chunk boundaries: "xy ab" has no (y,' ') pair.
  assert.equal(BpeTokenizer.train('xy ab', 258).merges.map((p) => [...p]), [[120, 121], [32, 97]]);
  assertThrows(() => BpeTokenizer.train(text, 260), CorpusError, 'no adjacent pairs left after 3 merges', 'vocabSize ≤ 259');
  assertThrows(() => BpeTokenizer.train('', 300), CorpusError, 'the corpus is empty');
  assert.is(BpeTokenizer.train('', 256).vocabSize, 256);
  assertThrows(() => BpeTokenizer.train(text, 255), ValueError, 'vocabSize must be an integer in [256');
  assertThrows(() => BpeTokenizer.train(text, 300.5), ValueError, 'vocabSize');
});

bpe('learns exactly minbpe\'s merges on Tiny Shakespeare (vocab 300) and alice.txt (vocab 512)', () => {
  const t0 = performance.now();
  const tok = BpeTokenizer.train(shakespeare, 300);
  const ms = performance.now() - t0;
  assert.equal(tok.merges.map((p) => [...p]), MINBPE_SHAKESPEARE_300);
  const a = BpeTokenizer.train(alice, 512);
  assert.equal(a.merges.slice(0, 12).map((p) => [...p]), MINBPE_ALICE_512_FIRST);
  assert.is(fnv1a(JSON.stringify(a.merges)), MINBPE_ALICE_512_FNV, 'all 256 merges match minbpe');
  assert.ok(ms < 10_000, `training took ${ms.toFixed(0)} ms`);
});

bpe('round trips Tiny Shakespeare and alice.txt (alice has characters Shakespeare lacks: bytes cover them)', () => {
  const tok = BpeTokenizer.train(shakespeare, 512);
  assert.is(tok.vocabSize, 512);
  for (const text of [shakespeare, alice]) {
    const ids = tok.encode(text);
    assert.instance(ids, Int32Array);
    assert.ok(ids.length < text.length * 0.6, `compresses: ${ids.length} ids for ${text.length} characters`);
    assert.ok(ids.every((id) => id >= 0 && id < 512));
    assert.ok(tok.decode(ids) === text, 'decode(encode(text)) === text');
  }
  // Encoding is chunk-local and deterministic: a piece encodes the same inside and outside a cache hit.
  assert.equal([...tok.encode('First Citizen:')], [...tok.encode(shakespeare.slice(0, 14))]);
});

bpe('round trips arbitrary Unicode: emoji sequences, combining marks, RTL, CJK, BOM, NUL, astral, random text', () => {
  const tok = BpeTokenizer.train(shakespeare.slice(0, 200_000) + UNICODE_SAMPLES.join(' '), 400);
  for (const s of UNICODE_SAMPLES) assert.ok(tok.decode(tok.encode(s)) === s, `round trip of ${JSON.stringify(s)}`);
  const rng = new Rng(7);
  for (let i = 0; i < 200; i++) {
    const s = randomText(rng, 1 + rng.int(40));
    assert.ok(tok.decode(tok.encode(s)) === s, `round trip of ${JSON.stringify(s)}`);
  }
  // A multi-byte character cut between ids decodes to U+FFFD, without throwing.
  const ids = tok.encode('😀');
  assert.is(ids.length, 4);
  assert.is(tok.decode(ids.subarray(0, 2)), '\uFFFD');
  assert.is(tok.decode([0xe2, 0x82]), '\uFFFD'); // an incomplete 3-byte sequence
  assert.is(tok.decode([]), '');
});

bpe('lone surrogates (no UTF-8 encoding) throw a TokenizerError instead of being altered', () => {
  const tok = BpeTokenizer.train('hello world', 260);
  assertThrows(() => tok.encode('ab\uD83D'), TokenizerError, 'a lone surrogate (first U+D83D at UTF-16 index 2, line 1 column 3)', 'toWellFormed');
  assertThrows(() => tok.encode('\uDE00x\nz\uD800'), TokenizerError, '2 lone surrogates (first U+DE00 at UTF-16 index 0');
  assertThrows(() => BpeTokenizer.train('a\uDC00b', 260), TokenizerError, 'BpeTokenizer.train', 'lone surrogate');
  assert.is(tok.decode(tok.encode('\uD83D\uDE00')), '😀'); // a proper pair is fine
});

bpe('toJSON/fromJSON round trip; malformed merges and patterns are rejected', () => {
  const tok = BpeTokenizer.train(alice, 300);
  const json = JSON.parse(JSON.stringify(tok));
  assert.is(json.type, 'bpe');
  assert.is(json.vocabSize, 300);
  assert.is(json.pattern, GPT2_SPLIT_PATTERN);
  assert.is(json.merges.length, 44);
  const back = BpeTokenizer.fromJSON(json);
  assert.equal([...back.encode(alice)], [...tok.encode(alice)]);
  assertThrows(() => BpeTokenizer.fromJSON({ ...json, merges: [[97, 256]], vocabSize: 257 }), TokenizerError, 'merge 0 (making id 256) is [97,256]');
  assertThrows(() => BpeTokenizer.fromJSON({ ...json, merges: [[97, 98], [97, 98]], vocabSize: 258 }), TokenizerError, 'both merge the pair [97, 98]');
  assertThrows(() => BpeTokenizer.fromJSON({ ...json, vocabSize: 301 }), TokenizerError, '"vocabSize" is number 301 but there are 44 merges');
  assertThrows(() => BpeTokenizer.fromJSON({ ...json, pattern: '(' }), TokenizerError, 'not a valid JavaScript regular expression');
  assertThrows(() => BpeTokenizer.fromJSON({ type: 'bpe', pattern: GPT2_SPLIT_PATTERN }), TokenizerError, '"merges" must be an array');
  assertThrows(() => back.decode([300]), TokenizerError, 'the first is 300');
  // A pattern that skips characters would lose text: encode refuses.
  const letters = new BpeTokenizer([], String.raw`\p{L}+`);
  assertThrows(() => letters.encode('ab cd'), TokenizerError, 'skips the text at UTF-16 index 2', 'would be lost');
  assertThrows(() => BpeTokenizer.train('ab cd', 257, { pattern: String.raw`\p{L}+` }), TokenizerError, 'skips');
  // A custom pattern that covers everything works (here: one chunk per line).
  const lines = BpeTokenizer.train('ab\nab\n', 258, { pattern: String.raw`[^\n]*\n?` });
  assert.equal(lines.merges.map((p) => [...p]), [[97, 98], [256, 10]]);
});

// ---------------------------------------------------------------------------------------------------
const gpt2 = suite('tokenizers: Gpt2Tokenizer');
const g = new Gpt2Tokenizer();

gpt2('known GPT-2 encodings', () => {
  assert.is(g.vocabSize, 50257);
  assert.is(g.eotToken, 50256);
  assert.equal([...g.encode('Hello world')], [15496, 995]);
  assert.equal([...g.encode(' Hello world')], [18435, 995]);
  assert.equal([...g.encode('Hello, world!')], [15496, 11, 995, 0]);
  assert.instance(g.encode('x'), Int32Array);
  // Special-token text is ordinary text (tiktoken's encode_ordinary, as nanoGPT's prepare.py).
  assert.equal([...g.encode('<|endoftext|>')], [27, 91, 437, 1659, 5239, 91, 29]);
  assert.is(g.decode([15496, 995, 50256]), 'Hello world<|endoftext|>');
});

gpt2('Tiny Shakespeare: nanoGPT\'s 301,966 train and 36,059 val tokens; exact round trip', () => {
  const n = shakespeare.length;
  const train = g.encode(shakespeare.slice(0, Math.floor(n * 0.9)));
  const val = g.encode(shakespeare.slice(Math.floor(n * 0.9)));
  assert.is(train.length, 301_966);
  assert.is(val.length, 36_059);
  assert.ok(g.decode(train) + g.decode(val) === shakespeare);
});

gpt2('round trips arbitrary Unicode; partial characters and a leading BOM decode correctly; errors', () => {
  for (const s of [...UNICODE_SAMPLES, alice.slice(0, 5000)]) assert.ok(g.decode(g.encode(s)) === s, `round trip of ${JSON.stringify(s.slice(0, 40))}`);
  const rng = new Rng(11);
  for (let i = 0; i < 100; i++) {
    const s = randomText(rng, 1 + rng.int(30));
    assert.ok(g.decode(g.encode(s)) === s, `round trip of ${JSON.stringify(s)}`);
  }
  const party = g.encode('🎉');
  assert.ok(party.length > 1);
  assert.is(g.decode(party.subarray(0, 1)), '\uFFFD'); // the cut character is visible, not swallowed …
  assert.is(g.decode(g.encode('hi')), 'hi'); // … and does not leak into the next call
  assertThrows(() => g.decode([50257]), TokenizerError, 'the first is 50257', 'HINT');
  assertThrows(() => g.encode('a\uD800'), TokenizerError, 'lone surrogate');
  assert.equal(g.toJSON(), { type: 'gpt2' });
  assertThrows(() => Gpt2Tokenizer.fromJSON({ type: 'char' }), TokenizerError, "expected { type: 'gpt2' }");
});

// ---------------------------------------------------------------------------------------------------
const json = suite('tokenizers: tokenizerFromJSON');

json('rebuilds each kind of tokenizer from its tokenizer.json', () => {
  const tokenizers: Tokenizer[] = [CharTokenizer.fromCorpus(alice), BpeTokenizer.train(alice, 280), new Gpt2Tokenizer()];
  const sample = alice.slice(2000, 3000);
  for (const tok of tokenizers) {
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    assert.is(back.type, tok.type);
    assert.is(back.vocabSize, tok.vocabSize);
    assert.equal([...back.encode(sample)], [...tok.encode(sample)]);
    assert.is(back.decode(back.encode(sample)), sample);
  }
});

json('unknown types and malformed JSON throw a TokenizerError', () => {
  assertThrows(() => tokenizerFromJSON({ type: 'wordpiece' }), TokenizerError, 'unknown tokenizer type "wordpiece"', "'char', 'bpe', 'gpt2'");
  assertThrows(() => tokenizerFromJSON({ chars: ['a'] }), TokenizerError, 'no "type" field');
  assertThrows(() => tokenizerFromJSON(null), TokenizerError, 'got null');
  assertThrows(() => tokenizerFromJSON([1, 2]), TokenizerError, 'got an array of 2');
  assertThrows(() => tokenizerFromJSON('{"type":"char"}'), TokenizerError, 'got a string', 'JSON.parse');
  assertThrows(() => tokenizerFromJSON({ type: 'bpe', pattern: 1, merges: [] }), TokenizerError, '"pattern" must be a string');
  assertThrows(() => tokenizerFromJSON({ type: 'char', chars: 'abc' }), TokenizerError, '"chars" must be an array');
});

char.run();
bpe.run();
gpt2.run();
json.run();
