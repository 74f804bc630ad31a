// `npm run docs`: the API reference from the doc comments, into docs/api (see typedoc.json).
// TypeDoc runs on the TypeScript 5 compiler API, which the native TypeScript 7 that builds wgrad does
// not offer, so it lives in this folder with its own lockfile and is installed here on first use.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const installed = join(here, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(join(here, 'package-lock.json')).mtimeMs > statSync(installed).mtimeMs) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: here, stdio: 'inherit' });
}
try {
  execFileSync(process.execPath, [join(here, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--options', join(root, 'typedoc.json')], { cwd: root, stdio: 'inherit' });
} catch (err) {
  // TypeDoc has printed its warnings; a stack trace of this script would only bury them.
  process.exit(err.status ?? 1);
}
