/**
 * Byte-level BPE trained from a corpus: the algorithm of Karpathy's minbpe `RegexTokenizer`.
 *
 * Training splits the text into chunks with a regex (by default GPT-2's pattern), encodes each chunk
 * to UTF-8 bytes (ids 0..255), then repeatedly merges the most frequent adjacent pair within chunks
 * into a new id 256, 257, … until the vocabulary has `vocabSize` tokens. Ties go to the pair
 * encountered first in the text, as Python's `max` over a dict filled in text order does, so the
 * merges are the ones minbpe learns. Pairs are counted over the distinct chunks weighted by their
 * frequency, and after each merge only the chunks holding the merged pair are recounted.
 *
 * Encoding splits the same way and applies the merges in order of rank; decoding concatenates the
 * tokens' bytes and decodes UTF-8 (invalid sequences, e.g. a multi-byte character cut between two
 * ids, become U+FFFD). Every byte is a token, so every well-formed string is encoded without loss.
 *
 * Differences from minbpe: no special tokens; JavaScript's `\s` and `\p{…}` classes follow the
 * engine's Unicode tables, which may differ from Python's `regex` module on rare characters (the
 * tokenizer is self-consistent either way); a string holding a lone surrogate (which has no UTF-8
 * encoding, so Python would raise too) throws a TokenizerError rather than being altered.
 */
import { ValueError } from '../errors.js';
import { CorpusError, TokenizerError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';
import { assertWellFormed, checkIds, describeValue, fmtInt } from './text.js';

/** GPT-2's pre-tokenization pattern (compiled with the `gu` flags). */
export const GPT2_SPLIT_PATTERN = String.raw`'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** Largest vocabulary (pair keys a·2^24 + b stay exact in a double). */
export const MAX_BPE_VOCAB = 1 << 24;
const KEY = 1 << 24;

/** A BpeTokenizer as tokenizer.json stores it: the split pattern and the merges in order. */
export interface BpeTokenizerJSON {
  type: 'bpe';
  /** 256 + merges.length. */
  vocabSize: number;
  /** The regex splitting text into chunks before merging (compiled with the `gu` flags). */
  pattern: string;
  /** merges[i] = [a, b]: the pair of ids merged into id 256 + i (its rank: merges apply in this order). */
  merges: [number, number][];
}

/** Options of BPE training. */
export interface BpeTrainOptions {
  /** The split pattern (default GPT2_SPLIT_PATTERN). It must match every character of the text. */
  pattern?: string;
  /** Called after each merge, e.g. to print progress. */
  onMerge?: (merge: { rank: number; id: number; pair: [number, number]; count: number }) => void;
}

const utf8 = new TextEncoder();
// ignoreBOM: keep a leading U+FEFF instead of stripping it, so decode(encode(text)) === text.
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Byte-level BPE trained on your text (as minbpe): 256 byte tokens plus learned merges. */
export class BpeTokenizer implements Tokenizer {
  readonly type = 'bpe' as const;
  readonly pattern: string;
  /** merges[i] is the pair merged into id 256 + i. */
  readonly merges: ReadonlyArray<readonly [number, number]>;
  private readonly regex: RegExp;
  /** Pair key → rank (the merged id is 256 + rank). */
  private readonly ranks = new Map<number, number>();
  /** The bytes of every token. */
  private readonly vocab: Uint8Array[];
  /** Chunk → ids, for repeated words. Cleared when it grows past CACHE_LIMIT entries. */
  private cache = new Map<string, Int32Array>();

  /**
   * A tokenizer from learned merges (merges[i] = the pair merged into id 256 + i). Use
   * `BpeTokenizer.train(text, vocabSize)` to learn them.
   */
  constructor(merges: ReadonlyArray<readonly [number, number]>, pattern: string = GPT2_SPLIT_PATTERN) {
    const where = 'BpeTokenizer';
    this.regex = compilePattern(where, pattern);
    this.pattern = pattern;
    if (!Array.isArray(merges)) {
      throw new TokenizerError(where, `merges must be an array of [a, b] id pairs, got ${describeValue(merges)}`, 'learn them with BpeTokenizer.train(text, vocabSize)');
    }
    if (256 + merges.length > MAX_BPE_VOCAB) {
      throw new TokenizerError(where, `${fmtInt(merges.length)} merges give more than ${fmtInt(MAX_BPE_VOCAB)} tokens`, 'use a smaller vocabulary');
    }
    this.vocab = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    const pairs: [number, number][] = [];
    for (let rank = 0; rank < merges.length; rank++) {
      const m: unknown = merges[rank];
      const id = 256 + rank;
      const ok = Array.isArray(m) && m.length === 2 && m.every((x) => Number.isInteger(x) && x >= 0 && x < id);
      if (!ok) {
        throw new TokenizerError(
          where,
          `merge ${rank} (making id ${id}) is ${Array.isArray(m) ? JSON.stringify(m) : describeValue(m)}; expected a pair [a, b] of ids below ${id}`,
          'each merge joins two tokens that exist before it (bytes 0..255 or earlier merges); tokenizer.json is malformed or was edited',
        );
      }
      const [a, b] = m as [number, number];
      const key = a * KEY + b;
      if (this.ranks.has(key)) {
        throw new TokenizerError(where, `merges ${this.ranks.get(key)} and ${rank} both merge the pair [${a}, ${b}]`, 'each pair is merged once; tokenizer.json is malformed or was edited');
      }
      this.ranks.set(key, rank);
      const va = this.vocab[a]!;
      const vb = this.vocab[b]!;
      const bytes = new Uint8Array(va.length + vb.length);
      bytes.set(va);
      bytes.set(vb, va.length);
      this.vocab.push(bytes);
      pairs.push([a, b]);
    }
    this.merges = Object.freeze(pairs.map((p) => Object.freeze(p) as readonly [number, number]));
  }

  /**
   * Learn `vocabSize − 256` merges from `text` (minbpe's RegexTokenizer.train). Throws a CorpusError
   * when the text runs out of pairs before the vocabulary is full.
   */
  static train(text: string, vocabSize: number, options: BpeTrainOptions = {}): BpeTokenizer {
    const where = 'BpeTokenizer.train';
    if (!Number.isInteger(vocabSize) || vocabSize < 256 || vocabSize > MAX_BPE_VOCAB) {
      throw new ValueError(where, `vocabSize must be an integer in [256, ${fmtInt(MAX_BPE_VOCAB)}], got ${vocabSize}`, 'a byte-level BPE has the 256 byte tokens plus one token per merge; 512 to 8192 suit a small model');
    }
    if (typeof text !== 'string') throw new TokenizerError(where, `expected the corpus text, got ${describeValue(text)}`, 'pass the training text as a string');
    const pattern = options.pattern ?? GPT2_SPLIT_PATTERN;
    const numMerges = vocabSize - 256;
    assertWellFormed(where, text);

    // Distinct chunks in order of first appearance, with their frequencies.
    const regex = compilePattern(where, pattern);
    const chunkIndex = new Map<string, number>();
    const seqs: Int32Array[] = [];
    const lens: number[] = [];
    const freq: number[] = [];
    for (const chunk of splitChunks(where, regex, text)) {
      const c = chunkIndex.get(chunk);
      if (c !== undefined) {
        freq[c]!++;
        continue;
      }
      chunkIndex.set(chunk, seqs.length);
      const bytes = utf8.encode(chunk);
      seqs.push(Int32Array.from(bytes));
      lens.push(bytes.length);
      freq.push(1);
    }
    chunkIndex.clear();

    // Pair counts (weighted by chunk frequency) and, per pair, the chunks that may hold it.
    const counts = new Map<number, number>();
    const chunksWith = new Map<number, number[]>();
    const addPairs = (c: number, sign: 1 | -1): void => {
      const s = seqs[c]!;
      const f = freq[c]! * sign;
      for (let j = 0, n = lens[c]! - 1; j < n; j++) {
        const key = s[j]! * KEY + s[j + 1]!;
        const v = (counts.get(key) ?? 0) + f;
        if (v > 0) counts.set(key, v);
        else counts.delete(key);
        if (sign > 0) {
          const list = chunksWith.get(key);
          if (!list) chunksWith.set(key, [c]);
          else if (list[list.length - 1] !== c) list.push(c);
        }
      }
    };
    for (let c = 0; c < seqs.length; c++) addPairs(c, 1);

    const merges: [number, number][] = [];
    const stamp = new Int32Array(seqs.length).fill(-1);
    for (let rank = 0; rank < numMerges; rank++) {
      // The most frequent pair; ties go to the pair met first in the text.
      let best = -1;
      let bestCount = 0;
      let ties: number[] | null = null;
      for (const [key, n] of counts) {
        if (n > bestCount) {
          best = key;
          bestCount = n;
          ties = null;
        } else if (n === bestCount) {
          (ties ??= [best]).push(key);
        }
      }
      if (best < 0) {
        throw new CorpusError(
          where,
          text.length === 0
            ? `the corpus is empty: no merges can be learned (${numMerges} asked for, vocabSize ${vocabSize})`
            : `the corpus has no adjacent pairs left after ${rank} merges (vocabSize ${vocabSize} asks for ${numMerges}): every chunk of the ${fmtInt(text.length)}-character text is already a single token`,
          `give more text, or ask for vocabSize ≤ ${256 + rank}`,
        );
      }
      if (ties) best = firstPairOf(new Set(ties), seqs, lens);
      const a = Math.floor(best / KEY);
      const b = best - a * KEY;
      const id = 256 + rank;

      // Merge the pair in every chunk that holds it, recounting those chunks' pairs.
      for (const c of chunksWith.get(best)!) {
        if (stamp[c] === rank) continue;
        stamp[c] = rank;
        const s = seqs[c]!;
        const n = lens[c]!;
        let holds = false;
        for (let j = 0; j < n - 1; j++) {
          if (s[j] === a && s[j + 1] === b) {
            holds = true;
            break;
          }
        }
        if (!holds) continue;
        addPairs(c, -1);
        let w = 0;
        for (let i = 0; i < n; ) {
          if (i < n - 1 && s[i] === a && s[i + 1] === b) {
            s[w++] = id;
            i += 2;
          } else {
            s[w++] = s[i++]!;
          }
        }
        lens[c] = w;
        addPairs(c, 1);
      }
      counts.delete(best);
      chunksWith.delete(best);
      merges.push([a, b]);
      options.onMerge?.({ rank, id, pair: [a, b], count: bestCount });
    }
    return new BpeTokenizer(merges, pattern);
  }

  /** Rebuild from toJSON() output; throws TokenizerError when it is malformed. */
  static fromJSON(json: unknown): BpeTokenizer {
    const where = 'BpeTokenizer.fromJSON';
    const j = json as Partial<BpeTokenizerJSON> | null;
    if (j === null || typeof j !== 'object' || j.type !== 'bpe') {
      throw new TokenizerError(where, `expected { type: 'bpe', pattern, merges }, got ${describeValue(json)}${j && typeof j === 'object' ? ` of type ${describeValue(j.type)}` : ''}`, 'pass the object BpeTokenizer.toJSON() returned (tokenizer.json)');
    }
    if (typeof j.pattern !== 'string') {
      throw new TokenizerError(where, `"pattern" must be a string, got ${describeValue(j.pattern)}`, 'tokenizer.json is malformed: save it again with toJSON()');
    }
    if (!Array.isArray(j.merges)) {
      throw new TokenizerError(where, `"merges" must be an array of [a, b] pairs, got ${describeValue(j.merges)}`, 'tokenizer.json is malformed: save it again with toJSON()');
    }
    if (j.vocabSize !== undefined && j.vocabSize !== 256 + j.merges.length) {
      throw new TokenizerError(where, `"vocabSize" is ${describeValue(j.vocabSize)} but there ${j.merges.length === 1 ? 'is 1 merge' : `are ${j.merges.length} merges`} (256 + ${j.merges.length} = ${256 + j.merges.length} tokens)`, 'tokenizer.json is malformed or was edited: save it again with toJSON()');
    }
    return new BpeTokenizer(j.merges, j.pattern);
  }

  get vocabSize(): number {
    return 256 + this.merges.length;
  }

  /** Text → ids. Throws a TokenizerError for a lone surrogate (no UTF-8 encoding exists). */
  encode(text: string): Int32Array {
    const where = 'BpeTokenizer.encode';
    assertWellFormed(where, text);
    let out = new Int32Array(Math.max(16, text.length >> 1));
    let n = 0;
    for (const chunk of splitChunks(where, this.regex, text)) {
      let ids = this.cache.get(chunk);
      if (!ids) {
        ids = this.encodeChunk(utf8.encode(chunk));
        if (this.cache.size >= CACHE_LIMIT) this.cache = new Map();
        this.cache.set(chunk, ids);
      }
      if (n + ids.length > out.length) {
        const grown = new Int32Array(Math.max(out.length * 2, n + ids.length));
        grown.set(out.subarray(0, n));
        out = grown;
      }
      out.set(ids, n);
      n += ids.length;
    }
    return out.slice(0, n);
  }

  /** Ids → text (UTF-8; invalid byte sequences become U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    checkIds('BpeTokenizer.decode', ids, this.vocabSize);
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += this.vocab[ids[i]!]!.length;
    const bytes = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const v = this.vocab[ids[i]!]!;
      bytes.set(v, at);
      at += v.length;
    }
    return utf8Decoder.decode(bytes);
  }

  /** The bytes of one token (a copy). */
  tokenBytes(id: number): Uint8Array {
    checkIds('BpeTokenizer.tokenBytes', [id], this.vocabSize);
    return this.vocab[id]!.slice();
  }

  /** The pattern and merges as plain JSON, for tokenizer.json. */
  toJSON(): BpeTokenizerJSON {
    return { type: 'bpe', vocabSize: this.vocabSize, pattern: this.pattern, merges: this.merges.map(([a, b]) => [a, b]) };
  }

  /** minbpe's _encode_chunk: merge the lowest-ranked adjacent pair (all its occurrences) until none is mergeable. */
  private encodeChunk(bytes: Uint8Array): Int32Array {
    const s = Int32Array.from(bytes);
    let n = s.length;
    while (n >= 2) {
      let bestRank = Infinity;
      for (let j = 0; j < n - 1; j++) {
        const r = this.ranks.get(s[j]! * KEY + s[j + 1]!);
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Infinity) break;
      const [a, b] = this.merges[bestRank]!;
      const id = 256 + bestRank;
      let w = 0;
      for (let i = 0; i < n; ) {
        if (i < n - 1 && s[i] === a && s[i + 1] === b) {
          s[w++] = id;
          i += 2;
        } else {
          s[w++] = s[i++]!;
        }
      }
      n = w;
    }
    return s.slice(0, n);
  }
}

const CACHE_LIMIT = 1 << 16;

function compilePattern(where: string, pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'gu');
  } catch (err) {
    throw new TokenizerError(where, `the split pattern ${describeValue(pattern)} is not a valid JavaScript regular expression with the 'u' flag: ${(err as Error).message}`, 'use GPT2_SPLIT_PATTERN, or a pattern valid in JavaScript (\\p{L}-style classes need no escaping beyond that)');
  }
}

/** The pattern's matches over `text`; throws when the pattern skips characters (they would be lost). */
function* splitChunks(where: string, regex: RegExp, text: string): Generator<string> {
  let end = 0;
  for (const m of text.matchAll(regex)) {
    if (m.index !== end) throw gap(where, regex, text, end);
    const s = m[0];
    end += s.length;
    if (s.length > 0) yield s;
  }
  if (end !== text.length) throw gap(where, regex, text, end);
}

function gap(where: string, regex: RegExp, text: string, at: number): TokenizerError {
  return new TokenizerError(
    where,
    `the split pattern ${describeValue(regex.source)} skips the text at UTF-16 index ${fmtInt(at)} (${JSON.stringify(text.slice(at, at + 12))}…): those characters would be lost`,
    'use a pattern whose alternatives cover every character (GPT2_SPLIT_PATTERN ends with \\s+ and [^\\s\\p{L}\\p{N}]+ for this)',
  );
}

/** The pair, among `pairs`, that occurs first when scanning the chunks in order. */
function firstPairOf(pairs: Set<number>, seqs: Int32Array[], lens: number[]): number {
  for (let c = 0; c < seqs.length; c++) {
    const s = seqs[c]!;
    for (let j = 0, n = lens[c]! - 1; j < n; j++) {
      const key = s[j]! * KEY + s[j + 1]!;
      if (pairs.has(key)) return key;
    }
  }
  throw new Error('unreachable: a counted pair occurs in no chunk');
}
