#!/usr/bin/env node
/**
 * Checks the import graph of src/: no cycles (except among the files of src/ir, where builders and op records
 * refer to each other), and every import goes down the layer order
 *   errors → ir → autodiff → system → integrators → codegen → runtime → backends → models → train → io → plot → root → cli
 * (a layer may import its own files and any layer before it; the CLI, src/cli, is a client of the entry points). Prints the offending edges and exits 1.
 *
 * @example
 *   node scripts/check-imports.mjs        # "import graph: 123 files, no cycles, layers respected"
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
export const LAYERS = ['errors', 'ir', 'autodiff', 'system', 'integrators', 'codegen', 'runtime', 'backends', 'models', 'train', 'io', 'plot', '', 'cli'];

/** The layer of a file: its first folder under src/ (files at the root of src/ sit on top, except errors.ts). */
function layerOf(file) {
  const rel = path.relative(root, file).split(path.sep);
  if (rel.length === 1) return rel[0] === 'errors.ts' ? 'errors' : '';
  return rel[0];
}

function listFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const full = path.join(dir, d.name);
    return d.isDirectory() ? listFiles(full) : d.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports of a file (type-only ones included: they are still a dependency between concepts). */
function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(path.resolve(path.dirname(file), m[1].replace(/\.js$/, '.ts')));
  }
  return out;
}

export function checkImports() {
  const files = listFiles(root);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const problems = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (!graph.has(to)) problems.push(`${rel(from)} imports a missing file ${rel(to)}`);
      const a = LAYERS.indexOf(layerOf(from)), b = LAYERS.indexOf(layerOf(to));
      if (a < 0) problems.push(`${rel(from)} is in no known layer (${LAYERS.filter(Boolean).join(', ')})`);
      else if (b > a) problems.push(`layer order: ${rel(from)} (${layerOf(from) || 'root'}) imports ${rel(to)} (${layerOf(to) || 'root'})`);
    }
  }
  // Cycles: Tarjan's strongly connected components, iteratively.
  const index = new Map(), low = new Map(), onStack = new Set(), stack = [];
  let counter = 0;
  for (const start of files) {
    if (index.has(start)) continue;
    const work = [[start, 0]];
    index.set(start, counter); low.set(start, counter++); stack.push(start); onStack.add(start);
    while (work.length > 0) {
      const top = work[work.length - 1];
      const [v, k] = top;
      const edges = graph.get(v).filter((w) => graph.has(w));
      if (k < edges.length) {
        top[1]++;
        const w = edges[k];
        if (!index.has(w)) {
          index.set(w, counter); low.set(w, counter++); stack.push(w); onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
        continue;
      }
      work.pop();
      if (work.length > 0) { const u = work[work.length - 1][0]; low.set(u, Math.min(low.get(u), low.get(v))); }
      if (low.get(v) === index.get(v)) {
        const component = [];
        let w;
        do { w = stack.pop(); onStack.delete(w); component.push(w); } while (w !== v);
        const allowed = component.every((f) => layerOf(f) === 'ir');
        if (component.length > 1 && !allowed) problems.push(`import cycle: ${component.map(rel).sort().join(' ↔ ')}`);
      }
    }
  }
  return { files: files.length, problems };
}

function rel(f) {
  return path.relative(path.dirname(root), f);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, problems } = checkImports();
  if (problems.length > 0) {
    console.error(problems.join('\n'));
    console.error(`import graph: ${problems.length} problem(s) in ${files} files`);
    process.exit(1);
  }
  console.log(`import graph: ${files} files, no cycles, layers respected`);
}
