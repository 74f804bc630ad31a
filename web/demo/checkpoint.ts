/**
 * Loading a checkpoint written by `wgrad train` from files the user picks: the same platform-neutral
 * code as Node's loadCheckpoint (src/io/model-files.ts), fed with the files' bytes instead of a
 * directory. Only the files a model needs are read; optimizer state is ignored here.
 */
import { CheckpointError, checkpointFromFiles, type Checkpoint, type Device } from 'wgrad';

const NEEDED = ['model.safetensors', 'config.json', 'tokenizer.json'];

export async function loadPickedCheckpoint(picked: FileList, device: Device): Promise<Checkpoint> {
  const byName = new Map([...picked].map((f) => [f.name, f]));
  const missing = NEEDED.filter((n) => !byName.has(n));
  if (missing.length > 0) {
    throw new CheckpointError(
      'demo',
      `the selection lacks ${missing.join(', ')} (got ${[...byName.keys()].join(', ') || 'nothing'})`,
      'select model.safetensors, config.json and tokenizer.json together, or pick the checkpoint directory that `wgrad train --out` wrote',
    );
  }
  const files: Record<string, Uint8Array> = {};
  for (const name of NEEDED) files[name] = new Uint8Array(await byName.get(name)!.arrayBuffer());
  return checkpointFromFiles(files, device, `the selected checkpoint (${NEEDED.join(', ')})`);
}
