/**
 * Model checkpoints on disk (Node only): the files of src/io/model-files.ts written as an atomic
 * checkpoint directory (src/io/checkpoint-dir.ts), and read back with every file's SHA-256 verified.
 */
import type { Device } from '../gpu/device.js';
import { readCheckpointDir, writeCheckpointDir } from './checkpoint-dir.js';
import { checkpointFiles, checkpointFromFiles, type Checkpoint, type CheckpointParts } from './model-files.js';

export { gpt2Config, loadWeights, modelSafetensors, type Checkpoint, type CheckpointParts } from './model-files.js';

/** Write a checkpoint directory atomically: the weights (HF GPT-2 names), config.json, tokenizer.json and, with an optimizer and training state, what resuming needs. A crash leaves the previous checkpoint intact. */
export async function saveCheckpoint(dir: string, parts: CheckpointParts): Promise<void> {
  await writeCheckpointDir(dir, await checkpointFiles(parts));
}

/** Read a checkpoint directory (every file's SHA-256 verified) into a model on `device`; throws CheckpointError when it is missing, incomplete or corrupt. */
export async function loadCheckpoint(dir: string, device: Device): Promise<Checkpoint> {
  const { files } = await readCheckpointDir(dir);
  return checkpointFromFiles(files, device, dir);
}
