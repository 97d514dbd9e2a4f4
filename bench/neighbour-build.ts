/**
 * The Verlet-list build of the JS pair loops (src/ir/ops/pair-list-build.ts) on the LAMMPS `lj` state at 32 000
 * atoms (fcc ρ* = 0.8442, T* = 1.44, r_c = 2.5, leapfrog dt = 0.005), not a test:
 *
 * 1. CPU ms of one build (the generated build function alone, after 200 steps melted the lattice): single-threaded,
 *    and each worker's share of a 2-thread build (every worker bins all sites; it lists and makes ghosts for its
 *    own bins only); with the row loop in WebAssembly (f64x2: the default; two f64x2 pairs; scalar) and in JS, in
 *    alternating rounds.
 * 2. ms per step of 100 steps from the lattice through compile() on 1 and 2 threads (medians of interleaved
 *    repeats), with the builds per 100 steps (the list's rule, replayed on the recorded states). On a shared
 *    machine the wall times say little: the 2-thread row also gives the longest thread's CPU time per step (Linux),
 *    what 2 free cores would take.
 *
 * Measured (this 2-core machine shared with other jobs; CPU ms, medians, A/B in one process: the runner source of
 * the previous checkout and of this one, their build functions, or their steppers, timed in alternation):
 * - per build, 1 thread: one WebAssembly call per bin (runs set up in JS) 15.06 ms → one call per grid row (runs
 *   made in the module, coordinates in planes, binning one pass shorter) 13.02 ms (1.16×, load 4–5; 17.19 → 15.45,
 *   1.11×, at load 2); 2 threads, each worker's share: 7.92 / 7.91 → 6.74 / 7.07 ms (1.12–1.17×). Parts of the new
 *   build (1 thread): binning ≈ 1.5 ms (was ≈ 1.8), row stencils and ghosts in JS ≈ 0.8 ms, the module ≈ 10 ms.
 *   The JS row loop (wasmListBuild off): 27–31 ms.
 * - whole steps, 100 steps from the lattice, 14 builds, load 1.8, 7 interleaved repeats: 1 thread 12.84 → 11.40 CPU
 *   ms/step; 2 threads 5.38 → 5.10 longest-thread CPU ms/step, wall 6.10 → 5.66 ms/step (the builds alone account
 *   for ≈ 0.3 ms/step of this; the rest is the machine's noise); the same trajectories bit for bit.
 * - tried and dropped: pruning each site's runs in the module (skip a stencil row, trim its bins along the last side
 *   by the site's place in its bin: 39 % fewer candidates) made the build 13.0 → 23.1 ms, the per-run arithmetic
 *   and bin-start lookups per site costing more than the candidates saved.
 *
 * Run: npx tsx bench/neighbour-build.ts     (REPEATS=5)
 */
import { loadavg } from 'node:os';
import { compile, fcc, maxwellBoltzmann, particles } from '../src/index.js';
import { threadedRunnerSource } from '../src/backends/cpu/threaded-runner.js';
import { JS_FIXED_POINT } from '../src/codegen/emit-js-stepper.js';
import { stepProgram } from '../src/integrators/methods.js';
import { SKIN_FRACTION } from '../src/ir/ops/pair-neighbours.js';
import { wasmListBuild } from '../src/ir/ops/pair-list-wasm.js';
import { median, timedRun } from './cpu-threads.js';

const REPEATS = Number(process.env.REPEATS ?? 5);
const CUTOFF = 2.5;
const { q, box } = fcc({ cells: [20, 20, 20], density: 0.8442 });
const n = q.length / 3;
const p = maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 0 });
const system = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*eps*((sig/r)^12 - (sig/r)^6)', params: { eps: 1, sig: 1 }, cutoff: CUTOFF, shift: false } });

/** CPU ms (median) of the build function of a generated runner `source`, run as worker `index` on `coordinates`. */
function buildMs(source: string, shared: { length: number }[], index: number, coordinates: Float64Array): number {
  const name = /function (vf\d+)\(coordinates, offset\)/.exec(source)?.[1];
  if (name === undefined) throw new Error('no build function in the generated source');
  const exposed = source.replace('return function run(', `globalThis.__listBuild = ${name}; return function run(`);
  new Function('thread', exposed)({ index, barrier: () => {}, shared: shared.map((s) => new Float64Array(s.length)) });
  const build = (globalThis as { __listBuild?: (q: Float64Array, offset: number) => void }).__listBuild!;
  for (let r = 0; r < 10; r++) build(coordinates, 0);
  const times: number[] = [];
  for (let r = 0; r < 10 * REPEATS; r++) {
    const start = process.cpuUsage();
    build(coordinates, 0);
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1e3);
  }
  return median(times);
}

/** Builds in `steps` steps from q0 under the list's rule (rebuilt once a site moved skin/2), from recorded states. */
function replayBuilds(q0: Float64Array, states: Float64Array, steps: number): number {
  const limit = (0.5 * SKIN_FRACTION * CUTOFF) ** 2;
  let builds = 1, reference = q0;
  for (let s = 0; s < steps; s++) {
    const state = states.subarray(s * 3 * n, (s + 1) * 3 * n);
    for (let i = 0; i < 3 * n; i += 3) {
      const d = (state[i]! - reference[i]!) ** 2 + (state[i + 1]! - reference[i + 1]!) ** 2 + (state[i + 2]! - reference[i + 2]!) ** 2;
      if (d >= limit) { builds++; reference = state.slice(); break; }
    }
  }
  return builds;
}

const one = await compile(system.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu', threads: 1 });
const melted = (await one.run({ q0: q, p0: p, steps: 200 })).q;
const recorded = await one.run({ q0: q, p0: p, steps: 100, record: 1 });
console.log(`32 000 LJ atoms, skin ${SKIN_FRACTION} r_c = ${(SKIN_FRACTION * CUTOFF).toFixed(3)}σ; builds per 100 steps from the lattice: ${replayBuilds(q, recorded.record!.q, 100)}; load ${loadavg()[0]!.toFixed(1)}`);
const program = stepProgram(system.hamiltonian, 'leapfrog');
for (const T of [1, 2]) {
  // The row loop in WebAssembly (f64x2, the default; two f64x2 pairs; scalar) and in JS (wasmListBuild off), in alternating rounds.
  const variants = [{ enabled: true, lanes: 2 }, { enabled: true, lanes: 4 }, { enabled: true, lanes: 1 }, { enabled: false, lanes: 2 }] as const;
  const runners = variants.map((v) => {
    Object.assign(wasmListBuild, v);
    const made = threadedRunnerSource(program, JS_FIXED_POINT, T);
    Object.assign(wasmListBuild, variants[0]);
    return made;
  });
  const times = runners.map(() => Array.from({ length: T }, () => [] as number[]));
  for (let round = 0; round < 3; round++) {
    runners.forEach(({ source, threads }, k) => times[k]!.forEach((list, t) => list.push(buildMs(source, threads.shared, t, melted))));
  }
  times.forEach((perWorker, k) => {
    console.log(`build, ${T} thread${T > 1 ? 's' : ''}, ${variants[k]!.enabled ? `WebAssembly (${variants[k]!.lanes} lane${variants[k]!.lanes > 1 ? 's' : ''})` : 'JS'} row loop: ${perWorker.map((ms, t) => `worker ${t} ${median(ms).toFixed(2)} ms`).join(', ')}`);
  });
}
const steppers = [one, await compile(system.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu', threads: 2 })];
await steppers[1]!.run({ q0: q, p0: p, steps: 10 });
const rows = steppers.map(() => ({ wall: [] as number[], cpu: [] as number[], longest: [] as number[] }));
for (let r = 0; r < REPEATS; r++) {
  for (const [k, st] of steppers.entries()) {
    const t = await timedRun(() => st.run({ q0: q, p0: p, steps: 100 }));
    rows[k]!.wall.push(t.wall / 100);
    rows[k]!.cpu.push((t.main + t.others.reduce((a, b) => a + b, 0)) / 100);
    rows[k]!.longest.push((k === 0 ? t.main : t.others[0] ?? NaN) / 100);
  }
}
rows.forEach((row, k) => {
  console.log(`${k + 1} thread${k > 0 ? 's' : ''}: wall ${median(row.wall).toFixed(2)} ms/step, CPU (all threads) ${median(row.cpu).toFixed(2)} ms/step, longest thread ${median(row.longest).toFixed(2)} ms/step`);
});
for (const st of steppers) st.dispose();
console.log(`load ${loadavg()[0]!.toFixed(1)}`);
