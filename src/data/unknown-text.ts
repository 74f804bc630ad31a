/**
 * Text outside a base model's vocabulary, as fine-tuning meets it. A byte-level tokenizer (bpe,
 * gpt2) encodes every byte, so nothing is ever unknown to it. A character-level vocabulary is
 * closed: its model has no embedding for a character it never saw. Such text is never dropped or
 * altered silently: by default it is an error listing the characters; `replace` substitutes one
 * chosen in-vocabulary character for each unknown one, and reports every substitution it made.
 */
import { TokenizerError } from './errors.js';
import { CharTokenizer, type UnknownCharacter } from './char-tokenizer.js';
import { describeChar, fmtInt } from './text.js';
import type { Tokenizer } from './tokenizer.js';

export type UnknownPolicy = 'error' | 'replace';

export interface EncodedText {
  tokens: Int32Array;
  /** The characters replaced (empty unless policy is 'replace' and some were unknown). */
  replaced: UnknownCharacter[];
}

/** Encode text for fine-tuning under an explicit policy for characters the vocabulary lacks. */
export function encodeWithPolicy(text: string, tokenizer: Tokenizer, policy: UnknownPolicy, replacement: string): EncodedText {
  if (!(tokenizer instanceof CharTokenizer)) return { tokens: tokenizer.encode(text), replaced: [] };
  const unknown = tokenizer.unknownCharacters(text);
  if (unknown.length === 0) return { tokens: tokenizer.encode(text), replaced: [] };
  if (policy === 'error') {
    const listed = unknown.slice(0, 12).map((u) => `${describeChar(u.char)} × ${fmtInt(u.count)}`).join(', ');
    throw new TokenizerError(
      'finetune',
      `the text has ${unknown.length} distinct characters the base model's character vocabulary (${tokenizer.vocabSize}) lacks: ${listed}${unknown.length > 12 ? `, and ${unknown.length - 12} more` : ''}`,
      'a character-level model has no embedding for them. Either pass --unknown replace (with --replacement C, a character of the vocabulary) to substitute them explicitly, or pretrain the base with --tokenizer bpe (byte-level: every text encodes)',
    );
  }
  if ([...replacement].length !== 1 || tokenizer.unknownCharacters(replacement).length > 0) {
    throw new TokenizerError('finetune', `the replacement ${JSON.stringify(replacement)} is not one character of the base vocabulary`, 'pass --replacement with a single character the base model knows, e.g. a space');
  }
  const missing = new Set(unknown.map((u) => u.char));
  let out = '';
  for (const ch of text) out += missing.has(ch) ? replacement : ch;
  return { tokens: tokenizer.encode(out), replaced: unknown };
}

/** One line saying what `replace` changed, e.g. "replaced 1,109 × '`' U+0060, 113 × '"' U+0022 by ' '". */
export function describeReplacements(replaced: UnknownCharacter[], replacement: string): string {
  const total = replaced.reduce((n, u) => n + u.count, 0);
  return `replaced ${fmtInt(total)} characters outside the base vocabulary by ${describeChar(replacement)}: ${replaced.map((u) => `${describeChar(u.char)} × ${fmtInt(u.count)}`).join(', ')}`;
}
