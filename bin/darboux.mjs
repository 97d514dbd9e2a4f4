#!/usr/bin/env node
/**
 * The `darboux` command (package.json `bin`). In a clone of the repository (src/ present, after `npm ci`) it
 * runs the TypeScript source of the CLI through tsx (a dev dependency), so `npx darboux` always runs the code
 * in the tree, with no build step to forget; an installed package (no src/) runs the bundle dist/cli.js that
 * `npm run build` writes, with no dev dependency.
 *
 * @example
 *   npx darboux --version
 *   npx darboux run --model henon-heiles --steps 1000 --save-every 10 --out out.npz
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const source = path.join(root, 'src', 'cli', 'main.ts');

const cli = fs.existsSync(source)
  ? await (await import('tsx/esm/api')).tsImport(pathToFileURL(source).href, import.meta.url)
  : await import(pathToFileURL(path.join(root, 'dist', 'cli.js')).href);
process.exitCode = await cli.runCli(process.argv.slice(2), version);
