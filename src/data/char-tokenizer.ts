/**
 * Character-level tokenizer: one token per Unicode code point, the vocabulary being the sorted distinct
 * characters of a corpus (sorted by code point, as Python's `sorted(set(text))`, so Tiny Shakespeare
 * gives nanoGPT's 65-character vocabulary and ids, and its published losses apply).
 *
 * Text is iterated by code points, not UTF-16 units: an emoji is one character. (A lone surrogate,
 * which `for…of` also yields as one "character", is treated the same way, so it too round-trips.)
 * Characters outside the vocabulary are never dropped or replaced: encode() throws a TokenizerError
 * listing them, and unknownCharacters() reports them up front.
 */
import { TokenizerError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';
import { checkIds, describeChar, describeValue, fmtInt } from './text.js';

/** A CharTokenizer as tokenizer.json stores it. */
export interface CharTokenizerJSON {
  type: 'char';
  /** The vocabulary: chars[id] is the character (one code point) of token `id`. */
  chars: string[];
}

/** A character of some text that is not in the vocabulary. */
export interface UnknownCharacter {
  /** The character (one code point). */
  char: string;
  codePoint: number;
  /** Occurrences in the text. */
  count: number;
  /** Position of the first occurrence, counted in characters (code points). */
  firstIndex: number;
  /** 1-based line and column (in characters) of the first occurrence. */
  line: number;
  column: number;
}

/** How many unknown characters an error message lists before "and N more". */
const LISTED = 12;

/** One token per distinct character of the training text (as nanoGPT's Shakespeare-char). */
export class CharTokenizer implements Tokenizer {
  readonly type = 'char' as const;
  /** chars[id] is the character of token `id`. */
  readonly chars: readonly string[];
  /** Code point → id for the Basic Multilingual Plane (-1: not in the vocabulary). */
  private readonly bmp = new Int32Array(0x10000).fill(-1);
  /** Code point → id above U+FFFF. */
  private readonly astral = new Map<number, number>();

  /**
   * A tokenizer over an explicit vocabulary: `chars[id]` is the character of token `id`. Each entry
   * must be exactly one code point, and distinct. Use `CharTokenizer.fromCorpus(text)` to build the
   * vocabulary from a corpus.
   */
  constructor(chars: readonly string[]) {
    const where = 'CharTokenizer';
    if (!Array.isArray(chars)) {
      throw new TokenizerError(where, `the vocabulary must be an array of characters, got ${describeValue(chars)}`, 'build it with CharTokenizer.fromCorpus(text)');
    }
    if (chars.length === 0) {
      throw new TokenizerError(where, 'the vocabulary is empty', 'build it from a non-empty corpus with CharTokenizer.fromCorpus(text)');
    }
    for (let id = 0; id < chars.length; id++) {
      const ch: unknown = chars[id];
      const cp = typeof ch === 'string' ? ch.codePointAt(0) : undefined;
      if (typeof ch !== 'string' || cp === undefined || String.fromCodePoint(cp) !== ch) {
        throw new TokenizerError(
          where,
          `vocabulary entry ${id} is ${describeValue(ch)}, not a single character (one code point)`,
          'each entry of a character vocabulary is one Unicode code point; build it with CharTokenizer.fromCorpus(text)',
        );
      }
      const prev = this.lookup(cp);
      if (prev >= 0) {
        throw new TokenizerError(where, `the character ${describeChar(ch)} appears twice in the vocabulary (ids ${prev} and ${id})`, 'a character vocabulary lists each character once; build it with CharTokenizer.fromCorpus(text)');
      }
      if (cp < 0x10000) this.bmp[cp] = id;
      else this.astral.set(cp, id);
    }
    this.chars = Object.freeze([...chars]);
  }

  /** The vocabulary of a corpus: its distinct characters sorted by code point (as `sorted(set(text))`). */
  static fromCorpus(text: string): CharTokenizer {
    if (typeof text !== 'string' || text.length === 0) {
      throw new TokenizerError('CharTokenizer.fromCorpus', `cannot build a vocabulary from ${typeof text === 'string' ? 'an empty corpus' : describeValue(text)}`, 'pass the text of the training corpus');
    }
    const seen = new Uint8Array(0x10000);
    const astral = new Set<number>();
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          astral.add(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
          i++;
          continue;
        }
      }
      seen[c] = 1;
    }
    const cps: number[] = [];
    for (let cp = 0; cp < 0x10000; cp++) if (seen[cp]) cps.push(cp);
    cps.push(...[...astral].sort((a, b) => a - b));
    return new CharTokenizer(cps.map((cp) => String.fromCodePoint(cp)));
  }

  /** Rebuild from toJSON() output; throws TokenizerError when it is malformed. */
  static fromJSON(json: unknown): CharTokenizer {
    const j = json as Partial<CharTokenizerJSON> | null;
    if (j === null || typeof j !== 'object' || j.type !== 'char') {
      throw new TokenizerError('CharTokenizer.fromJSON', `expected { type: 'char', chars: [...] }, got ${describeValue(json)}${j && typeof j === 'object' ? ` of type ${describeValue(j.type)}` : ''}`, 'pass the object CharTokenizer.toJSON() returned (tokenizer.json)');
    }
    if (!Array.isArray(j.chars)) {
      throw new TokenizerError('CharTokenizer.fromJSON', `"chars" must be an array of characters, got ${describeValue(j.chars)}`, 'tokenizer.json is malformed: save it again with toJSON()');
    }
    return new CharTokenizer(j.chars);
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  /** Text → ids. Throws a TokenizerError listing every character not in the vocabulary. */
  encode(text: string): Int32Array {
    const out = new Int32Array(text.length);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      let cp = text.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          i++;
        }
      }
      const id = cp < 0x10000 ? this.bmp[cp]! : (this.astral.get(cp) ?? -1);
      if (id < 0) this.throwUnknown(text);
      out[n++] = id;
    }
    return n === out.length ? out : out.slice(0, n);
  }

  /** Ids → text. Throws a TokenizerError for ids outside [0, vocabSize). */
  decode(ids: ArrayLike<number>): string {
    checkIds('CharTokenizer.decode', ids, this.chars.length);
    const parts: string[] = [];
    for (let i = 0; i < ids.length; i++) parts.push(this.chars[ids[i]!]!);
    return parts.join('');
  }

  /** The characters of `text` not in the vocabulary, in order of first appearance (empty when all are known). */
  unknownCharacters(text: string): UnknownCharacter[] {
    const found = new Map<number, UnknownCharacter>();
    let index = 0;
    let line = 1;
    let column = 1;
    for (let i = 0; i < text.length; i++, index++, column++) {
      let cp = text.charCodeAt(i);
      if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          i++;
        }
      }
      if (this.lookup(cp) < 0) {
        const entry = found.get(cp);
        if (entry) entry.count++;
        else found.set(cp, { char: String.fromCodePoint(cp), codePoint: cp, count: 1, firstIndex: index, line, column });
      }
      if (cp === 10) {
        line++;
        column = 0;
      }
    }
    return [...found.values()];
  }

  /** The vocabulary as plain JSON, for tokenizer.json. */
  toJSON(): CharTokenizerJSON {
    return { type: 'char', chars: [...this.chars] };
  }

  private lookup(cp: number): number {
    return cp < 0x10000 ? this.bmp[cp]! : (this.astral.get(cp) ?? -1);
  }

  private throwUnknown(text: string): never {
    const unknown = this.unknownCharacters(text);
    const total = unknown.reduce((s, u) => s + u.count, 0);
    const listed = unknown
      .slice(0, LISTED)
      .map((u) => `${describeChar(u.char)} (${u.count === 1 ? 'once' : `${fmtInt(u.count)} times`}, first at character ${fmtInt(u.firstIndex)}, line ${fmtInt(u.line)} column ${fmtInt(u.column)})`);
    const more = unknown.length > LISTED ? `, and ${unknown.length - LISTED} more` : '';
    throw new TokenizerError(
      'CharTokenizer.encode',
      `${unknown.length === 1 ? '1 character is' : `${unknown.length} distinct characters are`} not in the vocabulary of ${this.chars.length} (${fmtInt(total)} occurrence${total === 1 ? '' : 's'} in all): ${listed.join(', ')}${more}`,
      'this character-level vocabulary was built from another corpus; fine-tune a byte-level BPE model instead, or rebuild the vocabulary (CharTokenizer.fromCorpus over all the text; unknownCharacters(text) lists what is missing)',
    );
  }
}
