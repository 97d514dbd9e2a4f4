#!/usr/bin/env node
/**
 * A static file server on localhost (node:http) for the browser build: `npm run playground` builds it and
 * serves dist/ here, and the Chromium test serves its own build with {@link serveStatic}. WebGPU needs a secure
 * context, which http://localhost (and 127.0.0.1) is.
 *
 * @example
 *   node scripts/serve.mjs dist 8080     # http://localhost:8080/playground/
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.map': 'application/json', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
};

/**
 * Serves the files under `root` on 127.0.0.1:`port` (0: any free port); resolves with the server and its base URL.
 * Paths outside `root` are refused (403), missing files are 404, a folder serves its index.html.
 *
 * @example
 * const { url, server } = await serveStatic('dist', 0); // url 'http://127.0.0.1:40123/'
 * server.close();
 */
export function serveStatic(root, port = 0) {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    let file = path.resolve(base, `.${pathname}`);
    if (file !== base && !file.startsWith(base + path.sep)) { res.writeHead(403).end('forbidden'); return; }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    fs.readFile(file, (err, body) => {
      if (err) { res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${pathname}`); return; }
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}/` }));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2] ?? 'dist';
  const { url } = await serveStatic(root, Number(process.argv[3] ?? 8080));
  console.log(`serving ${root} at ${url} — the playground: ${url}playground/ (Ctrl-C to stop)`);
}
