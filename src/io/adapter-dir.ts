/**
 * Adapter directories (Node only: node:fs). wgrad writes them atomically as checkpoint directories
 * (src/io/checkpoint-dir.ts: a DONE manifest with every file's SHA-256), so a fine-tuning run that
 * dies mid-save leaves the previous adapter intact; the extra DONE file does not bother PEFT. A
 * directory without DONE (one PEFT wrote) is read as plain files.
 */
import { CheckpointError } from '../errors.js';
import type { Module } from '../nn/module.js';
import { readFilesOrCheckpoint, writeCheckpointDir, type CheckpointFile } from './checkpoint-dir.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, decodeAdapter, encodeAdapter, parseAdapterConfig, type AdapterMeta, type PeftLoraConfig } from './peft.js';

/** Write adapter `name` to `dir` (atomically), with any extra files (optimizer state for resuming). */
export async function saveAdapter(dir: string, model: Module, name: string, meta: AdapterMeta = {}, extraFiles: Record<string, CheckpointFile> = {}): Promise<PeftLoraConfig> {
  const { config, weights } = await encodeAdapter(model, name, meta);
  await writeCheckpointDir(dir, { ...extraFiles, [ADAPTER_CONFIG]: JSON.stringify(config, null, 2), [ADAPTER_WEIGHTS]: weights });
  return config;
}

/** Every file of an adapter directory (verified against DONE when there is one). */
export async function readAdapterDir(dir: string): Promise<{ config: PeftLoraConfig; weights: Uint8Array; files: Record<string, Uint8Array> }> {
  const where = 'loadAdapter';
  const { files } = await readFilesOrCheckpoint(dir, [ADAPTER_CONFIG, ADAPTER_WEIGHTS], where);
  const configBytes = files[ADAPTER_CONFIG];
  if (!configBytes) throw new CheckpointError(where, `${dir} has no ${ADAPTER_CONFIG}`, 'point --adapter at a directory written by `wgrad finetune` (or PEFT\'s save_pretrained)');
  const weights = files[ADAPTER_WEIGHTS];
  if (!weights) throw new CheckpointError(where, `${dir} has no ${ADAPTER_WEIGHTS}`, 'the adapter is incomplete; save it again (adapter_model.bin files are not read: convert them to safetensors)');
  return { config: parseAdapterConfig(configBytes, dir), weights, files };
}

/** Load the adapter in `dir` into a model under `name` (it becomes the active one). Returns its config. */
export async function loadAdapter(dir: string, model: Module, name: string, options: { trainable?: boolean } = {}): Promise<PeftLoraConfig> {
  const { config, weights } = await readAdapterDir(dir);
  decodeAdapter(model, name, config, weights, dir, options);
  return config;
}
