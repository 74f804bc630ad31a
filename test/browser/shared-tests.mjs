// The Node test files that also run inside Chromium (bundled by scripts/build-web.mjs into
// web/dist/tests.js): every op and gradient test, unchanged. Files that need node:fs or child
// processes (checkpoints, tokenizer corpora) stay Node-only.
export const SHARED_TEST_FILES = [
  'test/elementwise.test.ts',
  'test/layout.test.ts',
  'test/reduce.test.ts',
  'test/softmax.test.ts',
  'test/matmul.test.ts',
  'test/layernorm.test.ts',
  'test/cross-entropy.test.ts',
  'test/attention.test.ts',
  'test/autograd.test.ts',
  'test/gradcheck.test.ts',
];
