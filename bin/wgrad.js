#!/usr/bin/env node
// The `wgrad` command. In a clone (src/ present, tsx installed as a devDependency) it runs the
// TypeScript sources, so a stale dist/ can never shadow an edit; an installed package ships only the
// compiled dist/src/ and runs that.
import { existsSync } from 'node:fs';

const fromSource = new URL('../src/cli/main.ts', import.meta.url);
const tsx = existsSync(fromSource) ? await import('tsx/esm/api').catch(() => null) : null;
if (tsx) {
  tsx.register();
  await import(fromSource.href);
} else {
  await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
}
