/**
 * The interface every tokenizer implements, and `tokenizerFromJSON`, which rebuilds a tokenizer saved
 * with a checkpoint (`tokenizer.json`, the object `toJSON()` returns) by dispatching on its `type`.
 *
 * Tokenizers are platform-neutral: they take and return strings and JSON objects; reading files is
 * the caller's job.
 */
import { TokenizerError } from './errors.js';
import { describeValue } from './text.js';
import { CharTokenizer, type CharTokenizerJSON } from './char-tokenizer.js';
import { BpeTokenizer, type BpeTokenizerJSON } from './bpe-tokenizer.js';
import { Gpt2Tokenizer, type Gpt2TokenizerJSON } from './gpt2-tokenizer.js';

/** The kinds of tokenizer: characters, byte-level BPE, GPT-2's. */
export type TokenizerType = 'char' | 'bpe' | 'gpt2';

/** What `toJSON()` returns: plain JSON, saved beside a checkpoint as `tokenizer.json`. */
export type TokenizerJSON = CharTokenizerJSON | BpeTokenizerJSON | Gpt2TokenizerJSON;

/** Text to token ids and back; every tokenizer also serialises itself for checkpoints. */
export interface Tokenizer {
  readonly type: TokenizerType;
  /** Number of token ids: every id is in [0, vocabSize). */
  readonly vocabSize: number;
  /** Text → token ids. Never drops or alters text: what cannot be encoded throws a TokenizerError. */
  encode(text: string): Int32Array;
  /** Token ids → text. Ids outside [0, vocabSize) throw a TokenizerError. */
  decode(ids: ArrayLike<number>): string;
  /** Plain JSON that tokenizerFromJSON() turns back into the same tokenizer. */
  toJSON(): TokenizerJSON;
}

/** Every tokenizer type, as tokenizer.json's `type` names it. */
export const TOKENIZER_TYPES: readonly TokenizerType[] = ['char', 'bpe', 'gpt2'];

/** Rebuild a tokenizer from `toJSON()` output (already parsed: pass an object, not a JSON string). */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  if (typeof json === 'string') {
    throw new TokenizerError('tokenizerFromJSON', 'got a string, expected the parsed object', 'pass JSON.parse(text) of tokenizer.json');
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TokenizerError('tokenizerFromJSON', `expected an object with a "type" field, got ${describeValue(json)}`, 'pass the object a tokenizer\'s toJSON() returned (the contents of tokenizer.json)');
  }
  const type = (json as { type?: unknown }).type;
  switch (type) {
    case 'char':
      return CharTokenizer.fromJSON(json);
    case 'bpe':
      return BpeTokenizer.fromJSON(json);
    case 'gpt2':
      return Gpt2Tokenizer.fromJSON(json);
    default:
      throw new TokenizerError(
        'tokenizerFromJSON',
        type === undefined ? 'the object has no "type" field' : `unknown tokenizer type ${describeValue(type)}`,
        `expected one of ${TOKENIZER_TYPES.map((t) => `'${t}'`).join(', ')}; the file may come from another program or a newer wgrad`,
      );
  }
}
