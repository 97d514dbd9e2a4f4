/**
 * A/B of two checkouts of darboux on the LAMMPS `lj` benchmark state (fcc ρ* = 0.8442, 32 000 atoms, r_c = 2.5,
 * leapfrog dt = 0.005, `shift: false`), whole steps through compile() on 1 and 2 threads, same process,
 * interleaved (A, B, B, A, …), medians of CPU time (process.cpuUsage: every thread counts) and wall time per
 * step, the median of the rounds' paired ratios B/A (robust to a load that drifts), and whether both end in the
 * same state bit for bit. A: this checkout; B: the checkout at `--base <dir>`
 * (its repository root; e.g. `git worktree add /tmp/base <commit>` or `git archive <commit> | tar -x -C /tmp/base`,
 * with node_modules linked), or, without `--base`, this checkout with the JS pair loop (`wasmPairLoops` off).
 * With `--unroll 2,3,4` instead: the pair loop alone (the module's call, CPU time, one thread, the same list and
 * coordinates every evaluation) of this checkout at each unroll (`wasmPairLoops.unroll`), interleaved, medians.
 * Run: npx tsx bench/wasm-pair-memory.ts [--base <dir>] [--runs 7] [--steps 40] [--threads 1,2] [--unroll 2,3,4]
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as here from '../src/index.js';
import { gradient } from '../src/autodiff/vjp.js';
import { compileJs } from '../src/codegen/emit-js.js';
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

/** The force function of the system with `unroll` entry pairs a pass, a CPU-time timer around the module's call. */
function timedForce(unroll: number) {
  const h = here.particles({ n, dim: 3, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: false } }).hamiltonian;
  wasmPairLoops.unroll = unroll;
  const source = compileJs([h.q, ...h.params], [gradient(h.H, [h.q])[0]!]).source;
  wasmPairLoops.unroll = 4;
  const timer = { ms: 0, now: () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e3; } };
  const patched = source.replace(/^(\s*)(\w*h\d+\(.*\.o, .*\));$/m, (_, indent, call) => `${indent}const __t = __timer.now(); ${call}; __timer.ms += __timer.now() - __t;`);
  if (patched === source) throw new Error('no WebAssembly pair loop in the generated source');
  const fn = new Function('__timer', patched)(timer) as (inputs: ArrayLike<number>[], outputs: Float64Array[]) => void;
  const out = [new Float64Array(3 * n)];
  // Two coordinate sets 1e-9 apart, alternately (the same list; equal inputs would return the remembered forces).
  const qs = [q, q.map((x) => x + 1e-9)];
  let turn = 0;
  return { timer, evaluate: (at = turn++ & 1) => (fn([qs[at]!, [1], [1]], out), out[0]!) };
}

const unrolls = option('unroll');
if (unrolls !== undefined) {
  const variants = unrolls.split(',').map((u) => ({ unroll: Number(u), ...timedForce(Number(u)), ms: [] as number[] }));
  const reference = variants[0]!.evaluate(0).slice();
  for (const v of variants) for (let w = 0; w < 20; w++) v.evaluate();
  for (let r = 0; r < runs; r++) {
    for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
      v.timer.ms = 0;
      for (let e = 0; e < steps; e++) v.evaluate();
      v.ms.push(v.timer.ms / steps);
    }
  }
  console.log(`pair loop alone, LJ 32 000 atoms, ${steps} evaluations a run, ${runs} runs; load ${load()}`);
  for (const v of variants) {
    const same = v.evaluate(1) && v.evaluate(0).every((x, k) => x === reference[k]);
    console.log(`  unroll ${v.unroll}: ${median(v.ms).toFixed(3)} ms CPU per call   (${v.ms.map((x) => x.toFixed(2)).join(' ')})  forces equal to unroll ${variants[0]!.unroll}'s bit for bit: ${same}`);
  }
  process.exit(0);
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
  // Paired ratios (each round's B over its A, run next to each other: the same load), their median.
  const paired = (xs: { A: number[]; B: number[] }) => median(xs.A.map((a, r) => xs.B[r]! / a)).toFixed(3);
  console.log(`  CPU B/A ${(median(cpu.B) / median(cpu.A)).toFixed(3)}× (paired ${paired(cpu)}×), wall B/A ${(median(wall.B) / median(wall.A)).toFixed(3)}× (paired ${paired(wall)}×); final states equal bit for bit: ${same}`);
  for (const s of Object.values(steppers)) s.dispose();
}
console.log(`load after: ${load()}`);
