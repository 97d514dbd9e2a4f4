#!/usr/bin/env node
/**
 * Bundles the two entry points, src/index.ts (`darboux`) and src/internals.ts (`darboux/internals`), into
 * dist/index.js and dist/internals.js (ESM). Code splitting puts the modules both use into shared chunks, so
 * there is one copy of every module (one intern table, one `Expr` and `DarbouxError` class) whichever entry
 * point a program imports. Declarations come from `tsc -p tsconfig.build.json` (dist/index.d.ts,
 * dist/internals.d.ts and the files they refer to).
 *
 * @example
 *   node scripts/build.mjs              # → dist/
 *   node scripts/build.mjs /tmp/out     # → /tmp/out (the build test uses this)
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

export const ENTRY_POINTS = { index: 'src/index.ts', internals: 'src/internals.ts', cli: 'src/cli/main.ts' };

const outdir = process.argv[2] ?? 'dist';
// Chunk names carry content hashes: drop the previous build's, so dist/ holds only what the entries import.
fs.rmSync(path.join(outdir, 'chunks'), { recursive: true, force: true });

await build({
  entryPoints: ENTRY_POINTS,
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // @resvg/resvg-js (native, an optional peer dependency) is imported only when a PNG is asked for.
  external: ['webgpu', '@resvg/resvg-js'],
  logLevel: 'warning',
});
