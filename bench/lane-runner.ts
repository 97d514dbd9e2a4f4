/**
 * The CPU lane runner (WebAssembly SIMD, src/codegen/lane-runner.ts) against the JS runner and the C limit, same
 * process, interleaved runs, CPU time (user + system of this process: the machine is shared), medians:
 *  - ensembles through `st.run` (one thread): Hénon–Heiles leapfrog 65 536 × 1 000 (the bench:peers workload),
 *    Hénon–Heiles yoshida4 and rk4, and an FPU-β chain of 16 sites written as a formula (leapfrog);
 *  - the lane runner called directly at 2, 4 and 8 lanes (the block size `DEFAULT_LANES`/`lanesFor` choose);
 *  - the hand-written gcc -O3 -march=native SIMD C loop of bench/peer-c-ensemble.ts (f64, one thread; its own
 *    wall clock: read it with the load line).
 * Run: npx tsx bench/lane-runner.ts [--runs 5] [--quick]
 */
import { loadavg, cpus } from 'node:os';
import { compile, henonHeiles, parse, type Hamiltonian } from '../src/index.js';
import { stepProgram } from '../src/integrators/methods.js';
import { specializeParameters } from '../src/integrators/specialize.js';
import { compileJsRunner, JS_FIXED_POINT } from '../src/codegen/emit-js-stepper.js';
import { compileLaneRunner } from '../src/codegen/lane-runner.js';
import { compileCEnsemble } from './peer-c-ensemble.js';
import { henonHeilesInitial } from './handwritten-henon-heiles.js';
import { median } from './timing.js';

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const cpuSeconds = (f: () => unknown): number => {
  const t = process.cpuUsage();
  f();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / 1e6;
};

/** FPU-β chain of `sites` on a ring as a straight formula (β = 1): bonds written out, no pair loop. */
function fpuFormula(sites: number): Hamiltonian {
  const q = Array.from({ length: sites }, (_, i) => `u${i}`), p = q.map((x) => `p${x}`);
  const bonds = q.map((x, i) => `(${q[(i + 1) % sites]} - ${x})`);
  const H = `${p.map((x) => `${x}^2/2`).join(' + ')} + ${bonds.map((r) => `${r}^2/2 + beta*${r}^4/4`).join(' + ')}`;
  return parse({ q, p, H, params: { beta: 1 } });
}

/** Deterministic starts of `batch` trajectories (small amplitudes: bound for every case). */
function starts(batch: number, dof: number, name: string) {
  if (name.startsWith('Hénon')) return henonHeilesInitial(batch);
  const q0 = new Float64Array(batch * dof), p0 = new Float64Array(batch * dof);
  for (let i = 0; i < q0.length; i++) { q0[i] = 0.3 * Math.sin(0.7 * i); p0[i] = 0.1 * Math.cos(1.3 * i); }
  return { q0, p0 };
}

interface Case { name: string; h: Hamiltonian; method: string; dt: number; batch: number; steps: number }

async function ensembleRow(c: Case, runs: number): Promise<string> {
  const js = await compile(c.h, { method: c.method, dt: c.dt, backend: 'cpu', threads: 1, cpuRunner: 'js' });
  const wasm = await compile(c.h, { method: c.method, dt: c.dt, backend: 'cpu', threads: 1 });
  const { q0, p0 } = starts(c.batch, c.h.dof, c.name);
  const run = { q0, p0, batch: c.batch, steps: c.steps };
  const once = async (st: typeof js) => {
    const t = process.cpuUsage();
    const r = await st.run(run);
    const u = process.cpuUsage(t);
    return { s: (u.user + u.system) / 1e6, r };
  };
  await once(js); await once(wasm); // warm-up
  const tj: number[] = [], tw: number[] = [];
  let same = true;
  for (let r = 0; r < runs; r++) {
    const a = await once(js), b = await once(wasm);
    tj.push(a.s); tw.push(b.s);
    for (let i = 0; i < a.r.q.length && same; i++) same = Object.is(a.r.q[i], b.r.q[i]) && Object.is(a.r.p[i], b.r.p[i]);
  }
  js.dispose(); wasm.dispose();
  const work = c.batch * c.steps, mj = work / median(tj) / 1e6, mw = work / median(tw) / 1e6;
  const kind = wasm.cpuRunner!;
  return `| ${c.name} ${c.method}, ${c.batch} × ${c.steps} | ${mj.toFixed(0)} M/s | ${mw.toFixed(0)} M/s (${kind.kind}, ${kind.lanes} lanes) | ${(mw / mj).toFixed(2)}× | ${same ? 'yes' : 'NO'} |`;
}

/** The lane runner called directly at 2, 4, 8 lanes (no stepper), M trajectory·steps/s. */
function lanesRow(c: Case, runs: number): string {
  const program = specializeParameters(stepProgram(c.h, c.method));
  const js = compileJsRunner(program);
  const cells: string[] = [];
  const { q0, p0 } = starts(c.batch, c.h.dof, c.name);
  for (const lanes of [2, 4, 8]) {
    const lane = compileLaneRunner(program, JS_FIXED_POINT, js, lanes);
    if ('reason' in lane) return `| ${c.name} ${c.method} | ${lane.reason} |`;
    const times: number[] = [];
    for (let r = 0; r <= runs; r++) {
      const Q = q0.slice(), P = p0.slice();
      const s = cpuSeconds(() => lane.runner(Q, P, c.h.paramValues as Float64Array[], c.batch, c.steps, c.dt, 0, 0, null, null));
      if (r > 0) times.push(s);
    }
    cells.push(`${(c.batch * c.steps / median(times) / 1e6).toFixed(0)}`);
  }
  return `| ${c.name} ${c.method} | ${cells.join(' | ')} |`;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 5;
  const quick = process.argv.includes('--quick');
  const hh = henonHeiles().hamiltonian, fpu = fpuFormula(16);
  const big = quick ? 8192 : 65_536;
  const cases: Case[] = [
    { name: 'Hénon–Heiles', h: hh, method: 'leapfrog', dt: 0.01, batch: big, steps: 1000 },
    { name: 'Hénon–Heiles', h: hh, method: 'yoshida4', dt: 0.01, batch: big / 4, steps: 1000 },
    { name: 'Hénon–Heiles', h: hh, method: 'rk4', dt: 0.01, batch: big / 4, steps: 1000 },
    { name: 'FPU-β 16 sites', h: fpu, method: 'leapfrog', dt: 0.05, batch: big / 16, steps: 1000 },
  ];
  console.log(`\n## CPU lane runner: CPU seconds of this process, medians of ${runs}; load average ${load()}; ${cpus()[0]?.model ?? '?'}, node ${process.version}\n`);
  console.log('| workload (st.run, 1 thread) | JS runner | lane runner | ratio | same bits |');
  console.log('|---|---:|---:|---:|---|');
  for (const c of cases) console.log(await ensembleRow(c, runs));
  console.log('\n| runner called directly, M trajectory·steps/s | 2 lanes | 4 lanes | 8 lanes |');
  console.log('|---|---:|---:|---:|');
  for (const c of cases) console.log(lanesRow(c, runs));
  const cc = compileCEnsemble();
  if (typeof cc === 'string') console.log(`\nC limit: skipped (${cc})`);
  else {
    const one = cc.programs.find((p) => p.label === 'C f64, 1 thread');
    const r = one?.run(big, 1000, runs, 0.01);
    if (r && typeof r !== 'string') console.log(`\nC limit (${cc.compiler}), Hénon–Heiles leapfrog f64 1 thread, ${big} × 1000: ${(big * 1000 / r.seconds / 1e6).toFixed(0)} M/s (wall clock of the C program)`);
    else console.log(`\nC limit: ${r ?? 'no f64 one-thread program'}`);
    cc.cleanup();
  }
  console.log(`load average at the end: ${load()}`);
}

await main();
