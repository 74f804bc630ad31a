// Builds the browser side into web/dist/ with esbuild (ES modules, platform "browser"):
//   wgrad.js  the library (src/index.ts) with its WGSL kernels embedded (src/gpu/kernel-sources.ts);
//             the build fails if platform-neutral code reaches a Node-only module
//   demo.js   the demo page's code (web/demo/); it imports the library bundle above at run time
//   tests.js  the shared op and gradient test files (test/browser/shared-tests.mjs), run in the page
//             by test/browser/page-runner.ts
// Usage: node scripts/build-web.mjs   (also run by the browser tests and by `npm run demo:web`)
import { build } from 'esbuild';
import { mkdir } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SHARED_TEST_FILES } from '../test/browser/shared-tests.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'web/dist');
const libraryEntry = join(root, 'src/index.ts');

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
};

/** Fails the build, naming the importer, when browser code reaches a Node built-in module. */
const noNodeBuiltins = {
  name: 'no-node-builtins',
  setup(b) {
    const builtins = new Set(builtinModules);
    b.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.replace(/^node:/, '').split('/')[0];
      if (args.path.startsWith('node:') || builtins.has(bare)) {
        return { errors: [{ text: `${relative(root, args.importer)} imports the Node-only module '${args.path}': the browser build must stay platform-neutral` }] };
      }
      return undefined;
    });
  },
};

/** The demo imports 'wgrad' as any user would (tsconfig maps it to src/ for types); at run time it is ./wgrad.js. */
const libraryAsExternal = {
  name: 'library-as-external',
  setup(b) {
    b.onResolve({ filter: /^wgrad$/ }, () => ({ path: './wgrad.js', external: true }));
  },
};

export async function buildWeb() {
  await mkdir(out, { recursive: true });
  const testEntry = [
    `import { runSharedTests } from './test/browser/page-runner.ts';`,
    `await runSharedTests([`,
    ...SHARED_TEST_FILES.map((f) => `  [${JSON.stringify(f)}, () => import(${JSON.stringify(`./${f}`)})],`),
    `]);`,
  ].join('\n');
  await Promise.all([
    build({ ...common, entryPoints: [libraryEntry], outfile: join(out, 'wgrad.js'), plugins: [noNodeBuiltins] }),
    build({ ...common, entryPoints: [join(root, 'web/demo/main.ts')], outfile: join(out, 'demo.js'), plugins: [libraryAsExternal, noNodeBuiltins] }),
    build({ ...common, stdin: { contents: testEntry, resolveDir: root, sourcefile: 'shared-tests-entry.ts', loader: 'ts' }, outfile: join(out, 'tests.js'), plugins: [noNodeBuiltins] }),
  ]);
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = await buildWeb();
  console.log(`build-web: wrote wgrad.js, demo.js and tests.js to ${relative(root, dir)}/`);
}
