/**
 * Hugging Face GPT-2 directories on disk (Node only): `importHF` turns one into a wgrad checkpoint,
 * `exportHF` writes a checkpoint as one (src/io/hf.ts converts the files). Exported directories are
 * written atomically like checkpoints (with a DONE manifest, which transformers ignores); a directory
 * without DONE (downloaded from the hub) is read as plain files.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CheckpointError } from '../errors.js';
import type { Device } from '../gpu/device.js';
import type { GPTConfig } from '../nn/gpt.js';
import { readCheckpointDir, readFilesOrCheckpoint, readPlainFiles, writeCheckpointDir } from './checkpoint-dir.js';
import { checkpointFromFiles, gptConfigFromJSON, parseJSON } from './model-files.js';
import { WGRAD_TOKENIZER_FILE, checkpointFilesFromHF, gpt2ParameterShapes, hfFilesFromCheckpoint } from './hf.js';

const SHARD_INDEX = 'model.safetensors.index.json';

/** What an import or export wrote. */
export interface HFConversion {
  config: GPTConfig;
  /** The tokenizer's type (`gpt2` for models from the hub). */
  tokenizer: string;
  parameters: number;
}

/**
 * Convert the HF GPT-2 directory `dir` (config.json, model.safetensors or its shards, tokenizer files)
 * into the wgrad checkpoint `out`. The converted model is loaded on `device` before anything is
 * written, so a model the device cannot hold fails here, not at the first `wgrad sample`.
 */
export async function importHF(dir: string, out: string, device: Device): Promise<HFConversion> {
  if (resolve(out) === resolve(dir)) throw new CheckpointError('importHF', `--out ${out} is the directory being imported`, 'write the checkpoint to a new directory');
  const { files, weightFiles } = await readHFDir(dir);
  const converted = checkpointFilesFromHF(files, weightFiles, dir);
  const { model, tokenizer } = checkpointFromFiles(converted, device, dir);
  const result = { config: { ...model.config }, tokenizer: tokenizer.type, parameters: model.numParameters() };
  model.dispose();
  await writeCheckpointDir(out, converted);
  return result;
}

/** Write the wgrad checkpoint `ckpt` as the HF GPT-2 directory `out` (`GPT2LMHeadModel.from_pretrained(out)` loads it). */
export async function exportHF(ckpt: string, out: string): Promise<HFConversion> {
  if (resolve(out) === resolve(ckpt)) throw new CheckpointError('exportHF', `the output ${out} is the checkpoint being exported`, 'write the Hugging Face directory to a new path');
  const { files } = await readCheckpointDir(ckpt);
  const exported = hfFilesFromCheckpoint(files, ckpt);
  await writeCheckpointDir(out, exported);
  const config = gptConfigFromJSON(parseJSON(files['config.json']!, 'config.json', ckpt), ckpt);
  const tokenizer = (parseJSON(exported[WGRAD_TOKENIZER_FILE]!, WGRAD_TOKENIZER_FILE, out) as { type: string }).type;
  const parameters = [...gpt2ParameterShapes(config).values()].reduce((n, shape) => n + shape.reduce((a, b) => a * b, 1), 0);
  return { config, tokenizer, parameters };
}

/** The files of an HF directory that the import reads, and which of them hold weights. */
async function readHFDir(dir: string): Promise<{ files: Record<string, Uint8Array>; weightFiles: string[] }> {
  const where = 'importHF';
  const { files, checkpoint } = await readFilesOrCheckpoint(dir, ['config.json', 'model.safetensors', SHARD_INDEX, WGRAD_TOKENIZER_FILE, 'tokenizer.json', 'vocab.json'], where);
  if (checkpoint) return { files, weightFiles: ['model.safetensors'] }; // exported by wgrad: verified against its manifest
  if (!files['config.json']) throw new CheckpointError(where, `${dir} has no config.json`, 'point import-hf at a Hugging Face GPT-2 model directory (e.g. one `huggingface-cli download gpt2` fetched)');
  if (files['model.safetensors']) return { files, weightFiles: ['model.safetensors'] };
  if (files[SHARD_INDEX]) {
    const index = parseJSON(files[SHARD_INDEX], SHARD_INDEX, dir) as { weight_map?: Record<string, string> };
    const shards = [...new Set(Object.values(index.weight_map ?? {}))].sort();
    Object.assign(files, await readPlainFiles(dir, shards, where));
    const missing = shards.find((shard) => !files[shard]);
    if (missing) throw new CheckpointError(where, `${dir} has no ${missing}, which ${SHARD_INDEX} lists`, 'download every shard of the model');
    return { files, weightFiles: shards };
  }
  const hasPickle = await access(join(dir, 'pytorch_model.bin')).then(() => true, () => false);
  const hint = hasPickle
    ? 'only pytorch_model.bin is there; wgrad reads safetensors (download model.safetensors, which the hub has for gpt2, or convert with transformers\' save_pretrained(safe_serialization=True))'
    : 'download the weights (model.safetensors) with config.json';
  throw new CheckpointError(where, `${dir} has no model.safetensors`, hint);
}
