/**
 * The whole GPT in float64 (the llm.c idea): the same architecture as src/nn/gpt.ts written with the
 * oracle ops on the reference tape, so a test can check logits, loss and every parameter gradient of
 * the GPU model against it.
 */
import * as E from './elementwise.js';
import * as L from './layout.js';
import { attention } from './attention.js';
import { crossEntropy } from './cross-entropy.js';
import { layerNorm } from './layernorm.js';
import { matmul } from './matmul.js';
import { apply, backwardRef, leaf, type RefVar } from './tape.js';
import { ndarray, type NDArray } from './ndarray.js';

export interface RefGPTConfig { vocabSize: number; blockSize: number; nLayer: number; nHead: number; nEmbd: number; bias: boolean }

/** Forward (and backward) of the GPT on float64 weights named as Hugging Face GPT-2 names them. */
export function referenceGPT(c: RefGPTConfig, weights: Record<string, NDArray>, idx: NDArray, targets: NDArray): { logits: NDArray; loss: number; grads: Record<string, NDArray> } {
  const p: Record<string, RefVar> = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, leaf(v)]));
  const [B, T] = [idx.shape[0]!, idx.shape[1]!];
  const C = c.nEmbd;
  const hs = C / c.nHead;
  const idxVar = leaf(idx);
  const pos = leaf(ndarray([T], Array.from({ length: T }, (_, i) => i)));
  const ln = (x: RefVar, name: string) => {
    const inputs = c.bias ? [x, p[`${name}.weight`]!, p[`${name}.bias`]!] : [x, p[`${name}.weight`]!];
    return apply('layerNorm', (v, w, b) => layerNorm(v!, w!, b ?? null), inputs);
  };
  const linear = (x: RefVar, name: string, activation?: 'gelu') => {
    const inputs = c.bias ? [x, p[`${name}.weight`]!, p[`${name}.bias`]!] : [x, p[`${name}.weight`]!];
    return apply('matmul', (v, w, b) => matmul(v!, w!, { bias: b, activation }), inputs, { bias: c.bias, activation });
  };
  const reshape = (x: RefVar, shape: number[]) => apply('reshape', (v) => ({ shape, data: v!.data }), [x]);
  const permute = (x: RefVar, dims: number[]) => apply('permute', (v) => L.permute(v!, dims), [x], { dims });
  const slice = (x: RefVar, start: number, end: number) => apply('slice', (v) => L.slice(v!, 2, start, end, 1), [x], { axis: 2, start, step: 1 });
  const add = (a: RefVar, b: RefVar) => apply('add', (u, v) => E.binary('add', u!, v!), [a, b]);

  let x = add(
    apply('gather', (t, i) => L.gather(t!, i!), [p['transformer.wte.weight']!, idxVar]),
    apply('gather', (t, i) => L.gather(t!, i!), [p['transformer.wpe.weight']!, pos]),
  ); // (B, T, C)
  for (let l = 0; l < c.nLayer; l++) {
    const h = `transformer.h.${l}`;
    const qkv = linear(ln(x, `${h}.ln_1`), `${h}.attn.c_attn`); // (B, T, 3C)
    const head = (part: number) => permute(reshape(slice(qkv, part * C, (part + 1) * C), [B, T, c.nHead, hs]), [0, 2, 1, 3]);
    const y = apply('attention', (q, k, v) => attention(q!, k!, v!, { causal: true }), [head(0), head(1), head(2)], { causal: true });
    x = add(x, linear(reshape(permute(y, [0, 2, 1, 3]), [B, T, C]), `${h}.attn.c_proj`));
    x = add(x, linear(linear(ln(x, `${h}.ln_2`), `${h}.mlp.c_fc`, 'gelu'), `${h}.mlp.c_proj`));
  }
  x = ln(x, 'transformer.ln_f');
  const logits = apply('matmul', (v, w) => matmul(v!, w!, { transB: true }), [x, p['transformer.wte.weight']!], { transB: true });
  const loss = apply('crossEntropy', (lg, t) => crossEntropy(lg!, t!), [reshape(logits, [B * T, c.vocabSize]), leaf(targets)]);
  backwardRef(loss);
  const grads = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.grad ?? ndarray(v.value.shape)]));
  return { logits: logits.value, loss: loss.value.data[0]!, grads };
}
