import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, mkdir, readdir, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ValueError } from '../src/errors.js';
import { writeFileAtomic } from '../src/io/atomic.js';
import {
  CheckpointError,
  DONE_FILE,
  isLeftoverName,
  listCheckpointDirs,
  readCheckpointDir,
  recoverCheckpointDir,
  writeCheckpointDir,
  type CheckpointStage,
} from '../src/io/checkpoint-dir.js';
import { decodeSafetensors, encodeSafetensors, toFloat32Array } from '../src/io/safetensors.js';

// No GPU here: this file only exercises the file system.
const test = suite('checkpoint-dir');
let root = '';
let case_ = 0;
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'wgrad-checkpoint-test-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh parent directory for one test. */
async function fresh(): Promise<string> {
  const dir = join(root, `case-${case_++}`);
  await mkdir(dir);
  return dir;
}

async function rejects(promise: Promise<unknown>, type: new (...args: never[]) => Error, ...fragments: string[]): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, type, `expected ${type.name}, got ${(err as Error).name}: ${(err as Error).message}`);
    for (const f of fragments) assert.ok((err as Error).message.includes(f), `message lacks "${f}": ${(err as Error).message}`);
    assert.ok((err as Error).message.includes('HINT:'), 'message has a HINT');
    return err as Error;
  }
  assert.unreachable(`expected ${type.name} to be rejected`);
  throw new Error('unreachable');
}

/** A checkpoint's files for version v: safetensors weights, JSON state, an empty file and a lazily produced one. */
function files(v: number) {
  return {
    'model.safetensors': encodeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: new Float32Array([v, v + 1, v + 2, v + 3]) } }, { step: String(v) }),
    'state.json': JSON.stringify({ step: v }),
    'empty.bin': new Uint8Array(0),
    'rng.bin': async () => new Uint8Array([v, v, v]),
  };
}

async function assertVersion(dir: string, v: number): Promise<void> {
  const { files: got, manifest } = await readCheckpointDir(dir);
  assert.equal(Object.keys(got).sort(), ['empty.bin', 'model.safetensors', 'rng.bin', 'state.json']);
  const st = decodeSafetensors(got['model.safetensors']!);
  assert.equal([...toFloat32Array(st.tensors['w']!)], [v, v + 1, v + 2, v + 3], 'weights');
  assert.equal(st.metadata, { step: String(v) });
  assert.equal(JSON.parse(new TextDecoder().decode(got['state.json'])), { step: v });
  assert.equal([...got['rng.bin']!], [v, v, v]);
  assert.is(got['empty.bin']!.length, 0);
  assert.equal(manifest.files.map((f) => f.name), ['empty.bin', 'model.safetensors', 'rng.bin', 'state.json']);
}

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

test('round trip: files, DONE manifest with sizes and SHA-256, listing, nothing left behind', async () => {
  const parent = await fresh();
  const dir = join(parent, 'step-1');
  const manifest = await writeCheckpointDir(dir, files(1));
  await assertVersion(dir, 1);
  const done = JSON.parse(await readFile(join(dir, DONE_FILE), 'utf8'));
  assert.equal(done, manifest);
  assert.is(done.format, 'wgrad-checkpoint');
  const model = await readFile(join(dir, 'model.safetensors'));
  const entry = done.files.find((f: { name: string }) => f.name === 'model.safetensors');
  assert.equal(entry, { name: 'model.safetensors', size: model.length, sha256: createHash('sha256').update(model).digest('hex') });
  assert.equal((await readdir(dir)).sort(), ['DONE', 'empty.bin', 'model.safetensors', 'rng.bin', 'state.json']);
  assert.equal(await readdir(parent), ['step-1'], 'no temporary directory left');
  assert.equal(await listCheckpointDirs(parent), ['step-1']);
  // The parent is created when missing.
  await writeCheckpointDir(join(parent, 'a', 'b', 'step-2'), { 'x.txt': 'hi' });
  assert.equal(new TextDecoder().decode((await readCheckpointDir(join(parent, 'a', 'b', 'step-2'))).files['x.txt']), 'hi');
});

test('overwriting an existing checkpoint keeps exactly one valid checkpoint', async () => {
  const parent = await fresh();
  const dir = join(parent, 'latest');
  for (let v = 1; v <= 4; v++) {
    await writeCheckpointDir(dir, files(v));
    await assertVersion(dir, v);
    assert.equal(await readdir(parent), ['latest'], `after write ${v}`);
  }
  // A smaller set of files replaces the larger one entirely (no stale files survive).
  await writeCheckpointDir(dir, { 'only.txt': 'x' });
  assert.equal((await readdir(dir)).sort(), ['DONE', 'only.txt']);
  assert.equal(await listCheckpointDirs(parent), ['latest']);
});

test('a write failing midway leaves the previous checkpoint intact and no temporary directories', async () => {
  const parent = await fresh();
  const dir = join(parent, 'ckpt');
  await writeCheckpointDir(dir, files(1));

  // A file producer that throws after other files were written.
  const cause = new Error('GPU readback failed');
  const err = await rejects(writeCheckpointDir(dir, { ...files(2), 'state.json': () => { throw cause; } }), CheckpointError, 'writing state.json', 'GPU readback failed', 'previous checkpoint');
  assert.is(err.cause, cause, 'the original error is the cause');
  await assertVersion(dir, 1);
  assert.equal(await readdir(parent), ['ckpt']);

  // Injected failures at every stage, including after the previous checkpoint was moved aside.
  const stages: CheckpointStage[] = ['file', 'done', 'backup', 'install'];
  for (const failAt of stages) {
    const seen: string[] = [];
    await rejects(
      writeCheckpointDir(dir, files(3), {
        onStage: (stage, detail) => {
          seen.push(stage);
          if (stage === failAt && (stage !== 'file' || detail === 'rng.bin')) throw new Error(`injected at ${stage}`);
        },
      }),
      CheckpointError,
      `injected at ${failAt}`,
    );
    assert.ok(seen.includes(failAt), `reached ${failAt}`);
    await assertVersion(dir, 1);
    assert.equal(await readdir(parent), ['ckpt'], `nothing left after a failure at ${failAt}`);
    assert.equal(await listCheckpointDirs(parent), ['ckpt']);
  }

  // A producer returning something that is not bytes; a typed wgrad error propagates unchanged.
  await rejects(writeCheckpointDir(dir, { 'a.bin': (() => 42) as unknown as () => Uint8Array }), CheckpointError, '"a.bin"', 'not a Uint8Array');
  await rejects(writeCheckpointDir(dir, { 'a.bin': () => { throw new ValueError('model', 'loss is NaN', 'lower the learning rate'); } }), ValueError, 'loss is NaN');
  await assertVersion(dir, 1);
  assert.equal(await readdir(parent), ['ckpt']);

  // The stage order, on a successful write.
  const order: string[] = [];
  await writeCheckpointDir(dir, files(5), { onStage: (stage, detail) => void order.push(stage === 'file' ? `file:${detail}` : stage) });
  assert.equal(order, ['file:empty.bin', 'file:model.safetensors', 'file:rng.bin', 'file:state.json', 'done', 'backup', 'install']);
  await assertVersion(dir, 5);
});

test('invalid names and targets are rejected before anything is written', async () => {
  const parent = await fresh();
  const dir = join(parent, 'ckpt');
  for (const name of ['../escape', 'a/b', '.hidden', 'DONE', '', 'sp ace', 'x'.repeat(300)]) {
    await rejects(writeCheckpointDir(dir, { [name]: 'x' }), CheckpointError, 'invalid name');
  }
  await rejects(writeCheckpointDir(join(parent, 'ckpt.tmp-12-ab'), { a: 'x' }), CheckpointError, 'looks like a temporary');
  await writeFile(join(parent, 'file'), 'not a directory');
  await rejects(writeCheckpointDir(join(parent, 'file'), { a: 'x' }), CheckpointError, 'is not a directory');
  assert.equal(await readdir(parent), ['file']);
});

test('a missing DONE, a missing, truncated or modified file, or a bad manifest → CheckpointError naming it', async () => {
  const parent = await fresh();
  const make = async (name: string) => {
    const dir = join(parent, name);
    await writeCheckpointDir(dir, files(7));
    return dir;
  };
  const hint = 'the checkpoint is incomplete or corrupt; resume from an earlier one';

  let dir = await make('no-done');
  await rm(join(dir, DONE_FILE));
  await rejects(readCheckpointDir(dir), CheckpointError, 'no DONE marker', hint);
  assert.not.ok((await listCheckpointDirs(parent)).includes('no-done'), 'not listed without DONE');

  dir = await make('truncated');
  await truncate(join(dir, 'model.safetensors'), 10);
  await rejects(readCheckpointDir(dir), CheckpointError, '"model.safetensors" is 10 bytes', hint);

  dir = await make('flipped');
  const bytes = await readFile(join(dir, 'model.safetensors'));
  bytes[bytes.length - 1] ^= 0x01;
  await writeFile(join(dir, 'model.safetensors'), bytes);
  await rejects(readCheckpointDir(dir), CheckpointError, '"model.safetensors" has SHA-256', hint);

  dir = await make('missing');
  await rm(join(dir, 'state.json'));
  await rejects(readCheckpointDir(dir), CheckpointError, '"state.json"', 'missing', hint);

  dir = await make('bad-json');
  await writeFile(join(dir, DONE_FILE), '{"format": "wgrad-checkpoint", ');
  await rejects(readCheckpointDir(dir), CheckpointError, 'DONE is not valid JSON', hint);

  dir = await make('traversal');
  const manifest = JSON.parse(await readFile(join(dir, DONE_FILE), 'utf8'));
  manifest.files[0].name = '../flipped/model.safetensors';
  await writeFile(join(dir, DONE_FILE), JSON.stringify(manifest));
  await rejects(readCheckpointDir(dir), CheckpointError, 'invalid file entry', hint);

  dir = await make('bad-size');
  manifest.files[0] = { name: 'empty.bin', size: -1, sha256: '0'.repeat(64) };
  await writeFile(join(dir, DONE_FILE), JSON.stringify(manifest));
  await rejects(readCheckpointDir(dir), CheckpointError, '"empty.bin" with invalid size -1');

  dir = await make('version');
  await writeFile(join(dir, DONE_FILE), JSON.stringify({ format: 'wgrad-checkpoint', version: 2, files: [] }));
  await rejects(readCheckpointDir(dir), CheckpointError, 'version 2');

  await rejects(readCheckpointDir(join(parent, 'nowhere')), CheckpointError, 'no checkpoint at');
  // A file the manifest does not list is ignored.
  dir = await make('extra');
  await writeFile(join(dir, 'notes.txt'), 'hello');
  await assertVersion(dir, 7);
});

test('crash recovery: a backup left without its checkpoint is restored; temporaries of dead processes are removed', async () => {
  const parent = await fresh();
  const dir = join(parent, 'ckpt');
  await writeCheckpointDir(dir, files(1));
  const dead = deadPid();
  // The state a crash between "move the old one aside" and "rename the new one in" leaves behind.
  await rename(dir, `${dir}.old-${dead}-abc123`);
  await mkdir(`${dir}.tmp-${dead}-def456`);
  await writeFile(join(`${dir}.tmp-${dead}-def456`, 'model.safetensors'), 'partial');
  // A live process's temporary directory (this one's) must be left alone.
  await mkdir(`${dir}.tmp-${process.pid}-fff`);

  await rejects(readCheckpointDir(dir), CheckpointError, 'no checkpoint at', 'recoverCheckpointDir');
  assert.equal(await listCheckpointDirs(parent), [], 'temporaries and backups are not checkpoints');
  assert.ok(isLeftoverName(`ckpt.old-${dead}-abc123`) && isLeftoverName(`ckpt.tmp-${dead}-def456`) && !isLeftoverName('ckpt'));

  const result = await recoverCheckpointDir(dir);
  assert.is(result.restored, `${dir}.old-${dead}-abc123`);
  assert.equal(result.removed, [`${dir}.tmp-${dead}-def456`]);
  await assertVersion(dir, 1);
  assert.equal((await readdir(parent)).sort(), ['ckpt', `ckpt.tmp-${process.pid}-fff`]);
  await rm(`${dir}.tmp-${process.pid}-fff`, { recursive: true });

  // A crash after the new one was renamed in but before the backup was removed: the backup goes.
  await writeCheckpointDir(join(parent, 'other'), files(2));
  await rename(join(parent, 'other'), `${dir}.old-${dead}-0a0a`);
  assert.equal(await recoverCheckpointDir(dir), { restored: null, removed: [`${dir}.old-${dead}-0a0a`] });
  await assertVersion(dir, 1);

  // writeCheckpointDir recovers first: with only a backup on disk, the next write still works and
  // leaves exactly one checkpoint.
  await rename(dir, `${dir}.old-${dead}-beef`);
  await writeCheckpointDir(dir, files(3));
  await assertVersion(dir, 3);
  assert.equal(await readdir(parent), ['ckpt']);

  // A corrupt backup is not restored.
  await rename(dir, `${dir}.old-${dead}-cafe`);
  await rm(join(`${dir}.old-${dead}-cafe`, 'state.json'));
  assert.equal(await recoverCheckpointDir(dir), { restored: null, removed: [] });
  await rm(`${dir}.old-${dead}-cafe`, { recursive: true });
  assert.equal(await recoverCheckpointDir(join(parent, 'absent', 'x')), { restored: null, removed: [] });
});

test('writeFileAtomic replaces a file in one step and leaves no temporary file, also on failure', async () => {
  const parent = await fresh();
  const path = join(parent, 'state.json');
  await writeFileAtomic(path, '{"v":1}');
  await writeFileAtomic(path, new TextEncoder().encode('{"v":2}'));
  assert.is(await readFile(path, 'utf8'), '{"v":2}');
  assert.equal(await readdir(parent), ['state.json']);
  // Renaming onto a directory fails: the temporary file is removed and the target untouched.
  await mkdir(join(parent, 'adir'));
  await writeFile(join(parent, 'adir', 'keep'), 'k');
  try {
    await writeFileAtomic(join(parent, 'adir'), 'x');
    assert.unreachable('should fail');
  } catch (err) {
    assert.ok((err as NodeJS.ErrnoException).code, `an fs error: ${(err as Error).message}`);
  }
  assert.equal((await readdir(parent)).sort(), ['adir', 'state.json']);
  assert.equal(await readdir(join(parent, 'adir')), ['keep']);
  const missing = await writeFileAtomic(join(parent, 'missing', 'f'), 'x').then(() => null, (e: NodeJS.ErrnoException) => e.code);
  assert.is(missing, 'ENOENT', 'a missing directory is an fs error');
});

test.run();
