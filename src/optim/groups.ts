/**
 * Default parameter groups: weight decay applies to matrices (rank ≥ 2) only, not to biases, norm
 * scales or embedding tables (unless asked), as nanoGPT and most transformer recipes do. Parameters
 * that do not require grad are left out.
 */
import { Embedding, parseShardName } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import type { ParamGroup } from './optimizer.js';

/** Split a model's parameters into a group with weight decay (matrices) and one without (biases, LayerNorm gains; embeddings too unless `decayEmbeddings`), as nanoGPT does. */
export function parameterGroups(model: Module, weightDecay: number, { decayEmbeddings = false } = {}): ParamGroup[] {
  const embeddingPrefixes = model.namedModules().filter(([, m]) => m instanceof Embedding).map(([name]) => (name ? `${name}.` : ''));
  const decay: ParamGroup = { params: [], names: [], weightDecay };
  const noDecay: ParamGroup = { params: [], names: [], weightDecay: 0 };
  for (const [name, p] of model.namedParameters()) {
    // Frozen parameters (a LoRA base) get neither updates nor optimizer state.
    if (!p.requiresGrad) continue;
    const isEmbedding = embeddingPrefixes.some((prefix) => name.startsWith(prefix) && (parseShardName(name)?.name ?? name).slice(prefix.length) === 'weight');
    const group = p.rank >= 2 && (decayEmbeddings || !isEmbedding) ? decay : noDecay;
    group.params.push(p);
    group.names!.push(name);
  }
  return [decay, noDecay].filter((g) => g.params.length > 0);
}
