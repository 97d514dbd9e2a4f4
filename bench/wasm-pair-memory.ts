/**
 * A/B of two checkouts of darboux on the LAMMPS `lj` benchmark state (fcc ρ* = 0.8442, 32 000 atoms, r_c = 2.5,
 * leapfrog dt = 0.005, `shift: false`), whole steps through compile() on 1 and 2 threads, same process,
 * interleaved (A, B, A, B, …), medians of CPU time (process.cpuUsage: every thread counts) and wall time per
 * step, and whether both end in the same state bit for bit. A: this checkout; B: the checkout at `--base <dir>`
 * (its repository root; e.g. `git worktree add /tmp/base <commit>` or `git archive <commit> | tar -x -C /tmp/base`,
 * with node_modules linked), or, without `--base`, this checkout with the JS pair loop (`wasmPairLoops` off).
 * Run: npx tsx bench/wasm-pair-memory.ts [--base <dir>] [--runs 7] [--steps 40] [--threads 1,2]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as here from '../src/index.js';
import { wasmPairLoops } from '../src/ir/ops/pair-wasm.js';
import { median } from './timing.js';

const option = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const runs = Number(option('runs') ?? 7), steps = Number(option('steps') ?? 40);
const threadCounts = (option('threads') ?? '1,2').split(',').map(Number);
const baseDir = option('base');
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

type Library = typeof here;
const base: Library | null = baseDir === undefined ? null : await import(pathToFileURL(resolve(baseDir, 'src/index.ts')).href);

const { q, box } = here.fcc({ cells: [20, 20, 20], density: 0.8442 });
const n = q.length / 3;
const p = here.maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 0 });

/** A stepper of library `lib` (with the JS pair loop when `js`). */
async function stepper(lib: Library, threads: number, js: boolean) {
  const sys = lib.particles({ n, dim: 3, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: false } });
  wasmPairLoops.enabled = !js;
  try {
    return await lib.compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu', threads });
  } finally {
    wasmPairLoops.enabled = true;
  }
}

const row = (label: string, xs: number[]) => console.log(`  ${label.padEnd(30)} ${median(xs).toFixed(3).padStart(8)} ms/step   (${xs.map((x) => x.toFixed(2)).join(' ')})`);
const labels = { A: 'A (this checkout)', B: base === null ? 'B (this checkout, JS pair loop)' : `B (${baseDir})` };

console.log(`LJ 32 000 atoms, ${steps} steps a run, ${runs} runs a side, interleaved; load ${load()}`);
for (const threads of threadCounts) {
  const steppers = { A: await stepper(here, threads, false), B: base === null ? await stepper(here, threads, true) : await stepper(base, threads, false) };
  for (const k of ['A', 'B'] as const) await steppers[k].run({ q0: q, p0: p, steps: 40 }); // warm up (tiers up the code, builds the lists)
  const cpu = { A: [] as number[], B: [] as number[] }, wall = { A: [] as number[], B: [] as number[] };
  const finals: Record<string, Float64Array> = {};
  for (let r = 0; r < runs; r++) {
    for (const k of (r % 2 === 0 ? ['A', 'B'] : ['B', 'A']) as ('A' | 'B')[]) {
      const t0 = performance.now(), c0 = process.cpuUsage();
      const out = await steppers[k].run({ q0: q, p0: p, steps });
      const c = process.cpuUsage(c0);
      wall[k].push((performance.now() - t0) / steps);
      cpu[k].push((c.user + c.system) / 1e3 / steps);
      finals[k] = out.q;
    }
  }
  console.log(`${threads} thread${threads > 1 ? 's' : ''}:`);
  for (const k of ['A', 'B'] as const) {
    row(`${labels[k]}, CPU`, cpu[k]);
    row(`${labels[k]}, wall`, wall[k]);
  }
  const same = finals.A!.every((x, k) => x === finals.B![k]);
  console.log(`  CPU B/A ${(median(cpu.B) / median(cpu.A)).toFixed(3)}×, wall B/A ${(median(wall.B) / median(wall.A)).toFixed(3)}×; final states equal bit for bit: ${same}`);
  for (const s of Object.values(steppers)) s.dispose();
}
console.log(`load after: ${load()}`);
