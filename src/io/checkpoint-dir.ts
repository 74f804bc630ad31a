/**
 * Checkpoint directories (Node only: node:fs). A checkpoint is a directory of files plus a `DONE`
 * marker holding a JSON manifest of every file's name, size and SHA-256. It only ever appears
 * complete:
 *
 *   1. every file is written and fsynced into `<dir>.tmp-<pid>-<random>`, then DONE, then that
 *      directory is fsynced;
 *   2. if `<dir>` exists it is renamed to `<dir>.old-<pid>-<random>`, the new directory is renamed to
 *      `<dir>`, the parent directory is fsynced, and the old one is removed.
 *
 * A failure in step 1 or 2 (an exception: full disk, a throwing file producer) removes the temporary
 * directory and puts the previous checkpoint back, so `<dir>` is untouched. A crash leaves at worst
 * the previous checkpoint under its `.old-` name with no `<dir>`: recoverCheckpointDir (which
 * writeCheckpointDir runs first) renames it back and removes leftovers of dead processes. Temporary
 * and backup names never count as checkpoints (listCheckpointDirs skips them). One writer per
 * checkpoint path at a time.
 */
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { CheckpointError, WgradError } from '../errors.js';
import { fsyncDir, writeFileDurable } from './atomic.js';

// Defined with the other typed errors so that platform-neutral code (src/io/model-files.ts) can throw it.
export { CheckpointError };

/** The marker file written last; its content is the manifest. */
export const DONE_FILE = 'DONE';

export interface CheckpointManifest {
  format: 'wgrad-checkpoint';
  version: 1;
  /** Sorted by name. */
  files: { name: string; size: number; sha256: string }[];
}

/** A file's content, or a function producing it (called once, in name order, while writing). */
export type CheckpointFile = Uint8Array | string | (() => Uint8Array | string | Promise<Uint8Array | string>);

/** The points where writeCheckpointDir calls `onStage` (a test hook: throwing there simulates a failure). */
export type CheckpointStage = 'file' | 'done' | 'backup' | 'install';

export interface WriteCheckpointOptions {
  /** Called before each file ('file', its name), before DONE ('done'), before moving the previous checkpoint aside ('backup') and before renaming the new one into place ('install'). */
  onStage?: (stage: CheckpointStage, detail: string) => void | Promise<void>;
}

export interface CheckpointContents {
  manifest: CheckpointManifest;
  /** Every file listed in the manifest, verified. */
  files: Record<string, Uint8Array>;
}

const CORRUPT_HINT = 'the checkpoint is incomplete or corrupt; resume from an earlier one';
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const LEFTOVER = /\.(tmp|old)-(\d{1,10})-[0-9a-f]+$/;

/**
 * Writes a checkpoint directory atomically (see the module comment) and returns its manifest. File
 * names must be plain names (letters, digits, `._-`, not starting with a dot; not `DONE`). Throws
 * CheckpointError when the write fails (fs errors are its `cause`); typed wgrad errors thrown by a file
 * producer propagate unchanged. Either way the previous checkpoint at `dir` is left as it was.
 */
export async function writeCheckpointDir(dir: string, files: Record<string, CheckpointFile>, options: WriteCheckpointOptions = {}): Promise<CheckpointManifest> {
  const where = 'writeCheckpointDir';
  const target = checkTarget(dir, where);
  if (files === null || typeof files !== 'object' || Array.isArray(files)) {
    throw new CheckpointError(where, `files must be an object mapping file names to contents, got ${typeof files}`, 'pass e.g. { "model.safetensors": bytes, "state.json": text }');
  }
  const names = Object.keys(files).sort();
  for (const name of names) checkFileName(name, where, 'a file to write');
  const hook = options.onStage ?? (() => {});
  const parent = dirname(target);
  const base = basename(target);

  let stage = `creating ${parent}`;
  const tmp = join(parent, `${base}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const manifest: CheckpointManifest = { format: 'wgrad-checkpoint', version: 1, files: [] };
  try {
    await mkdir(parent, { recursive: true });
    stage = 'recovering from an earlier interrupted write';
    await recoverCheckpointDir(target);
    stage = `checking ${target}`;
    const existing = await statOrNull(target);
    if (existing && !existing.isDirectory()) {
      throw new CheckpointError(where, `${target} exists and is not a directory`, 'choose another checkpoint path, or move the file away');
    }
    stage = `creating ${tmp}`;
    await mkdir(tmp);
  } catch (err) {
    throw wrap(err, where, target, stage);
  }

  try {
    for (const name of names) {
      stage = `writing ${name}`;
      await hook('file', name);
      const entry = files[name];
      const content = typeof entry === 'function' ? await entry() : entry;
      if (!(content instanceof Uint8Array) && typeof content !== 'string') {
        throw new CheckpointError(where, `file "${name}" is ${describe(content)}, not a Uint8Array or string`, 'pass bytes, text, or a function returning either');
      }
      const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
      await writeFileDurable(join(tmp, name), bytes);
      manifest.files.push({ name, size: bytes.byteLength, sha256: sha256(bytes) });
    }
    stage = `writing ${DONE_FILE}`;
    await hook('done', tmp);
    await writeFileDurable(join(tmp, DONE_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await fsyncDir(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw wrap(err, where, target, stage);
  }

  let backup: string | null = null;
  let installed = false;
  try {
    stage = 'moving the previous checkpoint aside';
    if (await statOrNull(target)) {
      backup = join(parent, `${base}.old-${process.pid}-${randomBytes(6).toString('hex')}`);
      await hook('backup', backup);
      await rename(target, backup);
    }
    stage = 'renaming the new checkpoint into place';
    await hook('install', target);
    await rename(tmp, target);
    installed = true;
    stage = `syncing ${parent}`;
    await fsyncDir(parent);
  } catch (err) {
    if (!installed) {
      if (backup) await rename(backup, target).catch(() => {});
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
    }
    // When only the final fsync failed, the backup stays: recoverCheckpointDir removes it later.
    throw wrap(err, where, target, stage);
  }
  if (backup) {
    await rm(backup, { recursive: true, force: true }).catch(() => {});
    await fsyncDir(parent).catch(() => {});
  }
  return manifest;
}

/**
 * Reads a checkpoint directory, checking that DONE exists and that every file it lists has the
 * listed size and SHA-256; throws CheckpointError naming the first file that does not.
 */
export async function readCheckpointDir(dir: string): Promise<CheckpointContents> {
  const where = 'readCheckpointDir';
  const target = resolve(dir);
  const info = await statOrNull(target).catch((err) => {
    throw wrap(err, where, target, 'reading');
  });
  if (!info) {
    const leftovers = await leftoversOf(target).catch(() => []);
    const hint = leftovers.some((l) => l.kind === 'old')
      ? `a write was interrupted after moving the previous checkpoint aside; call recoverCheckpointDir("${target}") to restore it`
      : 'check the path; list the available checkpoints with listCheckpointDirs(parent)';
    throw new CheckpointError(where, `no checkpoint at ${target}`, hint);
  }
  if (!info.isDirectory()) throw new CheckpointError(where, `${target} is not a directory`, 'pass the checkpoint directory');
  const manifest = await readManifest(target, where);
  const files: Record<string, Uint8Array> = {};
  for (const file of manifest.files) {
    const path = join(target, file.name);
    let bytes: Uint8Array;
    try {
      const st = await statOrNull(path);
      if (!st || !st.isFile()) throw new CheckpointError(where, `checkpoint ${target}: file "${file.name}" listed in ${DONE_FILE} is missing`, CORRUPT_HINT);
      if (st.size !== file.size) throw new CheckpointError(where, `checkpoint ${target}: file "${file.name}" is ${st.size} bytes, ${DONE_FILE} says ${file.size}`, CORRUPT_HINT);
      const buf = await readFile(path);
      bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      throw wrap(err, where, target, `reading ${file.name}`, CORRUPT_HINT);
    }
    if (bytes.byteLength !== file.size) throw new CheckpointError(where, `checkpoint ${target}: file "${file.name}" is ${bytes.byteLength} bytes, ${DONE_FILE} says ${file.size}`, CORRUPT_HINT);
    const hash = sha256(bytes);
    if (hash !== file.sha256) {
      throw new CheckpointError(where, `checkpoint ${target}: file "${file.name}" has SHA-256 ${hash.slice(0, 16)}…, ${DONE_FILE} says ${file.sha256.slice(0, 16)}…`, CORRUPT_HINT);
    }
    Object.defineProperty(files, file.name, { value: bytes, enumerable: true, writable: true, configurable: true });
  }
  return { manifest, files };
}

/**
 * The files of a directory that another program may have written: when it has a DONE marker, every
 * file it lists, verified (readCheckpointDir); otherwise those of `names` that exist, read as plain
 * files (a missing one is left out; any other read error is a CheckpointError).
 */
export async function readFilesOrCheckpoint(dir: string, names: readonly string[], where: string): Promise<{ files: Record<string, Uint8Array>; checkpoint: boolean }> {
  if (await statOrNull(join(dir, DONE_FILE))) return { files: (await readCheckpointDir(dir)).files, checkpoint: true };
  return { files: await readPlainFiles(dir, names, where), checkpoint: false };
}

/** Those of `names` that exist in `dir`, as bytes. */
export async function readPlainFiles(dir: string, names: readonly string[], where: string): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const name of names) {
    try {
      files[name] = new Uint8Array(await readFile(join(dir, name)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new CheckpointError(where, `cannot read ${join(dir, name)} (${code ?? (err as Error).message})`, 'check the path and the directory\'s permissions');
    }
  }
  return files;
}

/**
 * The names of the complete-looking checkpoint directories in `parent` (those with a DONE marker,
 * skipping temporary and backup directories), sorted. Does not verify hashes: readCheckpointDir does.
 */
export async function listCheckpointDirs(parent: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(resolve(parent), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw wrap(err, 'listCheckpointDirs', resolve(parent), 'listing');
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || LEFTOVER.test(e.name)) continue;
    const done = await statOrNull(join(resolve(parent), e.name, DONE_FILE)).catch(() => null);
    if (done?.isFile()) out.push(e.name);
  }
  return out.sort();
}

/**
 * Repairs what a crashed writer left next to `dir`: when `dir` is missing and a verified backup
 * (`<dir>.old-*`) from a dead process exists, renames it back (the newest, if several); then removes
 * the temporary and backup directories of dead processes (backups only once `dir` has a DONE marker).
 * Leftovers of live processes, including this one, are left alone.
 */
export async function recoverCheckpointDir(dir: string): Promise<{ restored: string | null; removed: string[] }> {
  const target = resolve(dir);
  try {
    return await recover(target);
  } catch (err) {
    throw wrap(err, 'recoverCheckpointDir', target, 'recovering', 'check the permissions of the checkpoint directory and its parent, then retry');
  }
}

async function recover(target: string): Promise<{ restored: string | null; removed: string[] }> {
  const parent = dirname(target);
  const stale = (await leftoversOf(target)).filter((l) => !isAlive(l.pid));
  let restored: string | null = null;
  if (!(await statOrNull(target))) {
    const backups = [];
    for (const l of stale) {
      if (l.kind !== 'old') continue;
      const st = await statOrNull(l.path);
      if (st?.isDirectory()) backups.push({ ...l, mtime: st.mtimeMs });
    }
    backups.sort((a, b) => b.mtime - a.mtime);
    for (const b of backups) {
      const ok = await readCheckpointDir(b.path).then(() => true, () => false);
      if (!ok) continue;
      await rename(b.path, target);
      await fsyncDir(parent);
      restored = b.path;
      break;
    }
  }
  const done = await statOrNull(join(target, DONE_FILE));
  const removed: string[] = [];
  for (const l of stale) {
    if (l.path === restored || (l.kind === 'old' && !done)) continue;
    await rm(l.path, { recursive: true, force: true });
    removed.push(l.path);
  }
  if (removed.length > 0) await fsyncDir(parent).catch(() => {});
  return { restored, removed };
}

async function readManifest(target: string, where: string): Promise<CheckpointManifest> {
  let text: string;
  try {
    text = await readFile(join(target, DONE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CheckpointError(where, `checkpoint ${target} has no ${DONE_FILE} marker (its write never finished)`, CORRUPT_HINT);
    }
    throw wrap(err, where, target, `reading ${DONE_FILE}`, CORRUPT_HINT);
  }
  const bad = (what: string) => new CheckpointError(where, `checkpoint ${target}: ${DONE_FILE} ${what}`, CORRUPT_HINT);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('is not valid JSON');
  }
  if (!isRecord(parsed) || parsed['format'] !== 'wgrad-checkpoint') throw bad('is not a wgrad checkpoint manifest');
  if (parsed['version'] !== 1) throw bad(`has version ${JSON.stringify(parsed['version'])}; this wgrad reads version 1`);
  const list = parsed['files'];
  if (!Array.isArray(list)) throw bad('has no "files" list');
  const seen = new Set<string>();
  const files: CheckpointManifest['files'] = [];
  for (const f of list) {
    if (!isRecord(f) || typeof f['name'] !== 'string' || !FILE_NAME.test(f['name']) || f['name'] === DONE_FILE) throw bad(`lists an invalid file entry ${truncate(JSON.stringify(f), 80)}`);
    const name = f['name'];
    const size = f['size'];
    const hash = f['sha256'];
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(`lists "${name}" with invalid size ${JSON.stringify(size)}`);
    if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) throw bad(`lists "${name}" with invalid sha256 ${truncate(JSON.stringify(hash), 80)}`);
    if (seen.has(name)) throw bad(`lists "${name}" twice`);
    seen.add(name);
    files.push({ name, size, sha256: hash });
  }
  return { format: 'wgrad-checkpoint', version: 1, files };
}

/** Whether a directory name is a writer's temporary (`.tmp-<pid>-<hex>`) or backup (`.old-<pid>-<hex>`) name. */
export function isLeftoverName(name: string): boolean {
  return LEFTOVER.test(name);
}

function checkTarget(dir: string, where: string): string {
  if (typeof dir !== 'string' || dir === '') throw new CheckpointError(where, `the checkpoint path must be a non-empty string, got ${describe(dir)}`, 'pass a directory path such as "runs/gpt/step-1000"');
  const target = resolve(dir);
  if (dirname(target) === target) throw new CheckpointError(where, `the checkpoint path ${target} is a root directory`, 'pass a directory below the root');
  if (LEFTOVER.test(basename(target))) {
    throw new CheckpointError(where, `the checkpoint name "${basename(target)}" looks like a temporary or backup name (.tmp-<pid>-<hex> / .old-<pid>-<hex>)`, 'choose another name');
  }
  return target;
}

function checkFileName(name: string, where: string, what: string): void {
  if (!FILE_NAME.test(name) || name === DONE_FILE) {
    throw new CheckpointError(where, `${what} has the invalid name ${truncate(JSON.stringify(name), 80)}`, `use plain names of letters, digits, ".", "_" and "-" (not starting with "." and not "${DONE_FILE}"); subdirectories are not supported`);
  }
}

async function leftoversOf(target: string): Promise<{ path: string; kind: 'tmp' | 'old'; pid: number }[]> {
  const parent = dirname(target);
  const base = basename(target);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: { path: string; kind: 'tmp' | 'old'; pid: number }[] = [];
  for (const name of names) {
    const m = LEFTOVER.exec(name);
    if (!m || name.slice(0, m.index) !== base) continue;
    out.push({ path: join(parent, name), kind: m[1] as 'tmp' | 'old', pid: Number(m[2]) });
  }
  return out;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

function wrap(err: unknown, where: string, target: string, stage: string, hint?: string): Error {
  if (err instanceof WgradError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CheckpointError(
    where,
    `checkpoint ${target}: ${stage} failed: ${message}`,
    hint ?? `nothing changed at ${target}: the previous checkpoint, if any, is intact; fix the cause (disk space, permissions) and write again`,
    { cause: err },
  );
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return typeof v;
}
