// Builds the installable package: tsc emits JavaScript and .d.ts files into dist/, mirroring the
// repository's layout (dist/src/…; `wgrad bench` loads bench/ lazily, which lands in dist/bench/ but is
// not packed: it needs the devDependencies). dist/ is removed first so that a renamed or deleted
// source file cannot leave a stale module behind.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
} catch (err) {
  // tsc has printed the type errors; a package built from code that does not type-check is not shipped.
  process.exit(err.status ?? 1);
}
