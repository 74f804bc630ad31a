// A tiny static server for the browser demo and the browser tests, on 127.0.0.1 only (browsers offer
// WebGPU only to secure contexts; http on 127.0.0.1 is one). Serves web/ at /, and data/ at /data/
// (the embedded corpora). Usage: node scripts/serve-web.mjs [--port N] (0 picks a free port).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MOUNTS = [
  ['/data/', join(root, 'data')],
  ['/', join(root, 'web')],
];
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Starts the server; resolves to { url, close() }. */
export async function serveWeb(port = 0) {
  const server = createServer(async (req, res) => {
    const file = resolveFile(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const info = file ? await stat(file).catch(() => null) : null;
    if (!file || !info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${req.url}\n`);
      return;
    }
    // No caching: a rebuilt bundle must be picked up by the next reload.
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(await readFile(file));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** The file a URL path names, or null when it escapes its mount. `/` and directories give index.html. */
function resolveFile(path) {
  for (const [prefix, dir] of MOUNTS) {
    if (!path.startsWith(prefix)) continue;
    let file = normalize(join(dir, path.slice(prefix.length)));
    if (file !== dir && !file.startsWith(dir + sep)) return null;
    if (path.endsWith('/')) file = join(file, 'index.html');
    return file;
  }
  return null;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--port');
  const { url } = await serveWeb(i > 0 ? Number(process.argv[i + 1]) : 8080);
  console.log(`wgrad demo: ${url}  (open it in a browser with WebGPU; Ctrl-C stops the server)`);
}
