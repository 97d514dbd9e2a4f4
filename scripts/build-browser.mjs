#!/usr/bin/env node
/**
 * The browser build: the library as one ES module for pages (`<out>/browser/darboux.js`, with the plotting
 * libraries in a chunk loaded by `await plot.load()`), and the playground (`<out>/playground/index.html` and
 * `main.js`, which imports the library bundle). The same sources as the Node build, with the Node-only modules
 * swapped out (BROWSER_SWAPS): the adapter search uses `navigator.gpu` instead of dawn.node
 * (src/runtime/adapter.browser.ts), and node:fs, node:os, node:worker_threads and linkedom become stand-ins
 * (src/runtime/node-only.browser.ts). Any other Node built-in reaching the bundle is a build error.
 *
 * @example
 *   node scripts/build-browser.mjs            # → dist/browser/, dist/playground/
 *   node scripts/build-browser.mjs /tmp/web   # → /tmp/web/browser/, /tmp/web/playground/
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODE_ONLY = path.join(repo, 'src/runtime/node-only.browser.ts');

/** Module specifiers the browser build resolves elsewhere: Node-only modules and the dawn.node adapter search. */
export const BROWSER_SWAPS = {
  'node:fs': NODE_ONLY,
  'node:os': NODE_ONLY,
  'node:worker_threads': NODE_ONLY,
  linkedom: NODE_ONLY,
  'src/runtime/adapter.ts': path.join(repo, 'src/runtime/adapter.browser.ts'),
};

/** The esbuild plugin that applies BROWSER_SWAPS and refuses dawn.node (`webgpu`) outright. */
const browserSwaps = {
  name: 'darboux-browser-swaps',
  setup(b) {
    b.onResolve({ filter: /^(node:)?(fs|os|worker_threads)$|^linkedom$/ }, () => ({ path: NODE_ONLY }));
    b.onResolve({ filter: /^\.\/adapter\.js$/ }, (args) => (
      path.resolve(args.resolveDir) === path.join(repo, 'src/runtime') ? { path: BROWSER_SWAPS['src/runtime/adapter.ts'] } : undefined));
    b.onResolve({ filter: /^webgpu$/ }, (args) => ({ errors: [{ text: `dawn.node ('webgpu') must not reach the browser bundle (imported by ${args.importer})` }] }));
  },
};

/** The playground's import of the library (`../src/index.js`) becomes the library bundle, loaded at run time. */
const libraryAsBundle = {
  name: 'darboux-library-bundle',
  setup(b) {
    b.onResolve({ filter: /\/src\/index\.js$/ }, () => ({ path: '../browser/darboux.js', external: true }));
  },
};

const COMMON = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, logLevel: 'warning', metafile: true };

/**
 * Builds the library bundle and the playground under `outdir`; returns the esbuild metafiles (inputs and outputs).
 *
 * @example
 * const { library } = await buildBrowser('dist');
 * Object.keys(library.inputs).some((f) => f.includes('node_modules/webgpu')); // false
 */
export async function buildBrowser(outdir = 'dist') {
  const libraryDir = path.join(outdir, 'browser'), playgroundDir = path.join(outdir, 'playground');
  fs.rmSync(libraryDir, { recursive: true, force: true });
  fs.rmSync(playgroundDir, { recursive: true, force: true });
  const library = await build({
    ...COMMON,
    absWorkingDir: repo,
    entryPoints: { darboux: 'src/index.ts' },
    outdir: path.resolve(libraryDir),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [browserSwaps],
  });
  const playground = await build({
    ...COMMON,
    absWorkingDir: repo,
    entryPoints: { main: 'playground/main.ts' },
    outdir: path.resolve(playgroundDir),
    plugins: [libraryAsBundle],
  });
  for (const file of ['index.html', 'playground.css']) fs.copyFileSync(path.join(repo, 'playground', file), path.join(playgroundDir, file));
  return { library: library.metafile, playground: playground.metafile };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ?? 'dist';
  await buildBrowser(out);
  console.error(`browser build: ${path.join(out, 'browser', 'darboux.js')}, playground: ${path.join(out, 'playground', 'index.html')}`);
}
