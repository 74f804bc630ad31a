/**
 * The GPT-2 tokenizer (r50k_base: 50,257 tokens, the last being `<|endoftext|>`), for training on
 * GPT-2's vocabulary or importing GPT-2 weights.
 *
 * Encoding uses the npm package `gpt-tokenizer` (pure JavaScript, no dependencies, ships the ranks, works
 * offline and in browsers). Text is encoded as ordinary text, like tiktoken's `encode_ordinary` that
 * nanoGPT's data preparation uses: a literal "<|endoftext|>" in a corpus becomes the tokens of those
 * characters; append `eotToken` yourself to separate documents.
 *
 * Decoding is done here from the package's token table rather than with its `decode`, which shares one
 * streaming UTF-8 decoder across calls (an incomplete character at the end of one call leaks into the
 * next, bytes can be reordered around string tokens, and a leading U+FEFF is dropped).
 */
import { encode as r50kEncode } from 'gpt-tokenizer/encoding/r50k_base';
import r50kRanks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { TokenizerError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';
import { assertWellFormed, checkIds, describeValue } from './text.js';

/** A Gpt2Tokenizer as tokenizer.json stores it (the vocabulary is GPT-2's, not stored). */
export interface Gpt2TokenizerJSON {
  type: 'gpt2';
}

const VOCAB_SIZE = 50257;
const EOT = 50256;
const NO_SPECIAL = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** The bytes of every token, built on first decode. */
let tokenBytes: Uint8Array[] | null = null;

function table(): Uint8Array[] {
  if (!tokenBytes) {
    if (r50kRanks.length !== EOT) {
      throw new TokenizerError('Gpt2Tokenizer', `the installed gpt-tokenizer package has ${r50kRanks.length} r50k_base ranks, expected ${EOT}`, 'reinstall the dependencies (npm ci); the package layout may have changed');
    }
    tokenBytes = r50kRanks.map((t) => (typeof t === 'string' ? utf8.encode(t) : Uint8Array.from(t)));
    tokenBytes.push(utf8.encode('<|endoftext|>'));
  }
  return tokenBytes;
}

/** GPT-2's own byte-level BPE (50,257 tokens), from the gpt-tokenizer package. */
export class Gpt2Tokenizer implements Tokenizer {
  readonly type = 'gpt2' as const;
  readonly vocabSize = VOCAB_SIZE;
  /** `<|endoftext|>`, the document separator (50256). */
  readonly eotToken = EOT;

  /** Rebuild from toJSON() output; throws TokenizerError when it is malformed. */
  static fromJSON(json: unknown): Gpt2Tokenizer {
    const j = json as Partial<Gpt2TokenizerJSON> | null;
    if (j === null || typeof j !== 'object' || j.type !== 'gpt2') {
      throw new TokenizerError('Gpt2Tokenizer.fromJSON', `expected { type: 'gpt2' }, got ${describeValue(json)}${j && typeof j === 'object' ? ` of type ${describeValue(j.type)}` : ''}`, 'pass the object Gpt2Tokenizer.toJSON() returned (tokenizer.json)');
    }
    return new Gpt2Tokenizer();
  }

  /** Text → ids, as ordinary text (special-token strings are not special). Throws on a lone surrogate. */
  encode(text: string): Int32Array {
    assertWellFormed('Gpt2Tokenizer.encode', text);
    return Int32Array.from(r50kEncode(text, NO_SPECIAL));
  }

  /** Ids → text (UTF-8; invalid byte sequences, e.g. a character cut between two ids, become U+FFFD). */
  decode(ids: ArrayLike<number>): string {
    checkIds('Gpt2Tokenizer.decode', ids, VOCAB_SIZE);
    const t = table();
    let total = 0;
    for (let i = 0; i < ids.length; i++) total += t[ids[i]!]!.length;
    const bytes = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < ids.length; i++) {
      const b = t[ids[i]!]!;
      bytes.set(b, at);
      at += b.length;
    }
    return utf8Decoder.decode(bytes);
  }

  /** `{ type: 'gpt2' }`, for tokenizer.json. */
  toJSON(): Gpt2TokenizerJSON {
    return { type: 'gpt2' };
  }
}
