/**
 * The API reference builds without a warning: TypeDoc (run by `npm run docs`) warns about every
 * exported symbol without a doc comment, every link that does not resolve, and every type a public
 * signature names but the entry points do not export.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const test = suite('docs');
const root = join(import.meta.dirname, '..');

test('npm run docs: the API reference builds, every export documented, no warnings', () => {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'docs', 'run.mjs')], { cwd: root, encoding: 'utf8', timeout: 180_000, env: { ...process.env, NO_COLOR: '1' } });
  if (result.error) throw result.error;
  const output = `${result.stdout}\n${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
  const warnings = output.split('\n').filter((line) => /\[(warning|error)\]/.test(line));
  assert.equal(warnings, [], 'TypeDoc warnings');
  assert.is(result.status, 0, output);
  assert.ok(existsSync(join(root, 'docs', 'api', 'index.html')), 'docs/api/index.html written');
});

test.run();
