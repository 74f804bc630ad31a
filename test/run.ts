/**
 * Runs every test/**\/*.test.ts file in one process, so the files share one GPU device, then destroys
 * it (Dawn keeps Node alive while a device exists) and prints a closing "N passed, N failed" line.
 * Usage: tsx test/run.ts [pattern]   (pattern filters file names)
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
const pattern = process.argv[2];
const files = walk(join(root, 'test')).filter((f) => f.endsWith('.test.ts') && (!pattern || f.includes(pattern))).sort();

// uvu's deferred mode: suites register on import and run together at exec().
(globalThis as { UVU_DEFER?: number }).UVU_DEFER = 1;
const uvu = await import('uvu');
const queue = (globalThis as unknown as { UVU_QUEUE: unknown[][] }).UVU_QUEUE;
let output = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

for (const [index, file] of files.entries()) {
  (globalThis as { UVU_INDEX?: number }).UVU_INDEX = index;
  queue.push([relative(root, file)]);
  await import(pathToFileURL(file).href);
}
await uvu.exec();

const { closeTestDevice } = await import('./helpers.js');
closeTestDevice();
const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
process.stdout.write = write;
console.log(`\n${passed} passed, ${total - passed - skipped} failed, ${skipped} skipped`);
process.exit(process.exitCode ?? (total === 0 ? 1 : 0));

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}
