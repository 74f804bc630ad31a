/**
 * Typed errors of the data pipeline (tokenizers, corpora, batching). Like every wgrad error they name
 * the component and what went wrong, and end with a `HINT:` line.
 */
import { WgradError } from '../errors.js';

/**
 * Text a tokenizer cannot encode (a character outside a character-level vocabulary, a lone surrogate),
 * token ids outside the vocabulary, or a saved tokenizer (`tokenizer.json`) that is malformed.
 */
export class TokenizerError extends WgradError {}

/** A corpus or token split that is empty, or too short for the context length asked for. */
export class CorpusError extends WgradError {}
