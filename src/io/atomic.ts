/**
 * Durable, atomic file writes (Node only: node:fs). A reader sees either the old file or the new
 * one, never a mixture, and after the promise resolves the new contents survive a power failure:
 * the data go to a temporary file in the same directory, which is fsynced, renamed over the target
 * (rename is atomic within a file system), and then the directory itself is fsynced so the rename is
 * on disk too.
 */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Writes `data` to `path` atomically and durably (see the module comment). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await writeFileDurable(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await fsyncDir(dirname(path));
}

/**
 * Creates `path` (it must not exist yet), writes `data` and fsyncs the file before closing it. Not
 * atomic by itself: use it for files inside a directory that is renamed into place afterwards.
 */
export async function writeFileDurable(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Fsyncs a directory, making renames and creations inside it durable. A no-op on Windows, where
 * directories cannot be opened for fsync (NTFS journals metadata itself).
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
