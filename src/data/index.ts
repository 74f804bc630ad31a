/** The data pipeline: tokenizers (character, byte-level BPE, GPT-2), tokenizer.json, corpus splits and batches. */
export { TokenizerError, CorpusError } from './errors.js';
export { tokenizerFromJSON, type Tokenizer, type TokenizerJSON, type TokenizerType } from './tokenizer.js';
export { CharTokenizer, type CharTokenizerJSON, type UnknownCharacter } from './char-tokenizer.js';
export { BpeTokenizer, GPT2_SPLIT_PATTERN, MAX_BPE_VOCAB, type BpeTokenizerJSON, type BpeTrainOptions } from './bpe-tokenizer.js';
export { Gpt2Tokenizer, type Gpt2TokenizerJSON } from './gpt2-tokenizer.js';
export { encodeCorpus, splitTokens, sampleBatch, uniformInt, type Batch, type TokenSplit } from './batches.js';
