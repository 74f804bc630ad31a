/** Helpers shared by the tokenizers: describing characters and values in messages, checking ids and text. */
import { TokenizerError } from './errors.js';

/** A short description of a JSON value for error messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\', "'": "\\'" };
// Characters shown as \u{…}: controls, format characters, separators other than the space, combining
// marks (they would combine with the quote), surrogates, private use and unassigned code points.
const INVISIBLE = /^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{M}\p{Cs}\p{Co}\p{Cn}]$|^(?! )\p{Zs}$/u;

/** One character (code point) for a message: the character quoted and escaped, then U+XXXX, e.g. `'"' U+0022`. */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const shown = ESCAPES[ch] ?? (INVISIBLE.test(ch) ? `\\u{${cp.toString(16).toUpperCase()}}` : ch);
  return `'${shown}' ${codePointLabel(cp)}`;
}

/** `U+0022`, `U+1F600`. */
export function codePointLabel(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** 1-based line and column (in code points) of a UTF-16 index, for messages. */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  let column = 1;
  for (let i = lineStart; i < index; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < index) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    column++;
  }
  return { line, column };
}

/** Format an integer with thousands separators (stable across locales). */
export function fmtInt(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Throws a TokenizerError when `text` holds a lone surrogate (a UTF-16 half with no partner): such a
 * string is not Unicode text and has no UTF-8 encoding, so a byte-level tokenizer cannot keep it.
 */
export function assertWellFormed(where: string, text: string): void {
  LONE_SURROGATE.lastIndex = 0;
  const first = LONE_SURROGATE.exec(text);
  if (!first) return;
  let count = 1;
  while (LONE_SURROGATE.exec(text)) count++;
  const { line, column } = lineColumn(text, first.index);
  throw new TokenizerError(
    where,
    `the text holds ${count === 1 ? 'a lone surrogate' : `${fmtInt(count)} lone surrogates`} (first ${codePointLabel(first[0].charCodeAt(0))} at UTF-16 index ${fmtInt(first.index)}, line ${line} column ${column}): it is not well-formed Unicode and has no UTF-8 encoding`,
    'the string was probably cut between the two halves of a surrogate pair (slice by code points), or built from bad data; replace them explicitly with text.toWellFormed() (U+FFFD) if that is acceptable',
  );
}

/**
 * Checks that every id is an integer in [0, vocabSize); throws a TokenizerError naming the first bad
 * one and how many there are.
 */
export function checkIds(where: string, ids: ArrayLike<number>, vocabSize: number): void {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    throw new TokenizerError(
      where,
      `${bad === 1 ? 'one id is' : `${fmtInt(bad)} ids are`} not a token of this vocabulary (ids are integers in [0, ${fmtInt(vocabSize)})): the first is ${String(ids[first])} at position ${fmtInt(first)} of ${fmtInt(ids.length)}`,
      'decode ids with the tokenizer that produced them (the one saved with the checkpoint as tokenizer.json), and check that the model\'s vocabSize matches the tokenizer\'s',
    );
  }
}
