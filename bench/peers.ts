/**
 * Peers in the bench (issue 15 item 5): darboux against what Debian packages make available when installed,
 * one table of speed ratios (darboux ÷ peer; > 1: darboux ahead), medians of several runs, a machine line first.
 *  - PyTorch (python3-torch): HNN derivative-loss training at hidden [200], [64, 64], [200, 200], batch 256,
 *    darboux CPU f64 against PyTorch's best of 1/2 threads × float32/float64 (bench/training-widths.ts pieces,
 *    bench/torch_spring_hnn.py).
 *  - A C compiler (gcc): a hand-written SIMD C Hénon–Heiles leapfrog ensemble, 65 536 trajectories × 1 000
 *    steps (bench/peer-c-ensemble.ts) as the CPU limit, f64 and f32, one thread and OpenMP 2 threads; the
 *    generated-JS CPU backend (f64, 1 and 2 worker threads) and the GPU backend (f32) as fractions of it.
 *  - The hand-written WGSL kernel (bench/handwritten-henon-heiles.ts) on the same adapter against `st.run`.
 * Each absent peer is skipped with the reason. Run: npm run bench:peers [-- --runs 3]
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { compile, henonHeiles, releaseGpu, type Stepper } from '../src/index.js';
import { acquireGpu, gpuAvailable, type Gpu } from '../src/runtime/index.js';
import { henonHeilesInitial, runHandwrittenHenonHeiles } from './handwritten-henon-heiles.js';
import { compileCEnsemble } from './peer-c-ensemble.js';
import { median, medianSeconds } from './timing.js';
import { BATCH, fitRunner, pythonWithTorch, springSamples, torchRate } from './training-widths.js';

/** One row of the table: darboux's figure, the peer's, and darboux ÷ peer in speed. */
interface Row { workload: string; darboux: string; peer: string; ratio: string }

const TRAINING = [
  { hidden: [200], steps: 150, torchSteps: 40 },
  { hidden: [64, 64], steps: 100, torchSteps: 30 },
  { hidden: [200, 200], steps: 20, torchSteps: 6 },
];
const ENSEMBLE = { batch: 65_536, steps: 1000, dt: 0.01 };
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const kilo = (x: number) => `${(x / 1000).toFixed(1)} k/s`;
const mega = (x: number) => `${(x / 1e6).toFixed(0)} M/s`;
const times = (x: number) => `${x.toFixed(2)}×`;

/** HNN training rows: darboux fit (batched CPU lowering, f64) vs PyTorch's best configuration. */
async function trainingRows(runs: number, rows: Row[], notes: string[]): Promise<void> {
  const python = pythonWithTorch();
  if (python === undefined) {
    notes.push('PyTorch: not installed (Debian: apt-get install python3-torch; or set DARBOUX_PYTHON): training rows skipped');
    return;
  }
  const data = springSamples();
  for (const w of TRAINING) {
    // darboux's best of 1 and 2 worker threads (fits this short stay on one thread by default), as PyTorch's below.
    let ours: number[] = [], oursThreads = 1;
    for (const threads of [1, 2]) {
      const once = await fitRunner(w.hidden, data, w.steps, 'auto', 'cpu', threads);
      const rates: number[] = [];
      for (let r = 0; r < runs; r++) rates.push(await once());
      if (ours.length === 0 || median(rates) > median(ours)) [ours, oursThreads] = [rates, threads];
    }
    let best: { rate: number; config: string } | undefined, failure: string | undefined;
    for (const threads of [1, 2]) {
      for (const dtype of ['float32', 'float64']) {
        const t = torchRate(python, w.hidden, w.torchSteps, threads, dtype, runs);
        if (typeof t === 'string') failure = t;
        else if (!best || t.rate > best.rate) best = { rate: t.rate, config: `torch ${t.torch} ${dtype}, ${threads} thr` };
      }
    }
    const workload = `HNN training [${w.hidden.join(', ')}], batch ${BATCH}, samples/s`;
    rows.push(best
      ? { workload, darboux: `${kilo(median(ours))} (CPU f64, ${oursThreads} thr)`, peer: `${kilo(best.rate)} (${best.config})`, ratio: times(median(ours) / best.rate) }
      : { workload, darboux: kilo(median(ours)), peer: failure ?? 'skipped', ratio: '–' });
  }
}

/** darboux runs of the ensemble: median seconds, and Σ(q + p) of the final state (compared with C's). */
async function stepperSeconds(st: Stepper, runs: number): Promise<{ seconds: number; checksum: number }> {
  const { batch, steps } = ENSEMBLE;
  const { q0, p0 } = henonHeilesInitial(batch);
  let checksum = 0;
  const seconds = await medianSeconds(async () => {
    const { q, p } = await st.run({ q0, p0, steps, batch });
    checksum = 0;
    for (let i = 0; i < q.length; i++) checksum += q[i]! + p[i]!;
  }, runs, 1);
  return { seconds, checksum };
}

/** darboux's ensemble runs (CPU f64 on 1 and 2 threads, GPU f32), and the row of the GPU against the hand-written WGSL. */
async function ensembleRuns(runs: number, gpu: Gpu | undefined, rows: Row[], notes: string[]): Promise<Map<string, { seconds: number; checksum: number }>> {
  const { batch, steps, dt } = ENSEMBLE;
  const h = henonHeiles().hamiltonian;
  const cpu1 = await compile(h, { method: 'leapfrog', dt, backend: 'cpu', threads: 1 });
  const cpu2 = await compile(h, { method: 'leapfrog', dt, backend: 'cpu', threads: 2 });
  const cpuJs = await compile(h, { method: 'leapfrog', dt, backend: 'cpu', threads: 1, cpuRunner: 'js' }); // the runner before the lane runner
  const ours = new Map<string, { seconds: number; checksum: number }>();
  ours.set('CPU f64, 1 thread', await stepperSeconds(cpu1, runs));
  ours.set('CPU f64 JS runner, 1 thread', await stepperSeconds(cpuJs, runs));
  cpuJs.dispose();
  notes.push(`CPU runner: ${cpu1.cpuRunner?.kind ?? '?'} (${cpu1.cpuRunner?.lanes ?? 1} lanes)`);
  ours.set('CPU f64, 2 threads', await stepperSeconds(cpu2, runs));
  cpu1.dispose();
  cpu2.dispose();
  if (gpu) {
    const st = await compile(h, { method: 'leapfrog', dt, backend: 'gpu' });
    ours.set('GPU f32', await stepperSeconds(st, runs));
    await runHandwrittenHenonHeiles(gpu, { batch, steps: 1, dt }); // pipeline and first dispatch
    const hand: number[] = [], gen: number[] = [];
    for (let r = 0; r < runs; r++) { // interleaved
      hand.push((await runHandwrittenHenonHeiles(gpu, { batch, steps, dt })).seconds);
      gen.push(await medianSeconds(() => st.run({ ...henonHeilesInitial(batch), steps, batch }), 1));
    }
    st.dispose();
    rows.push({
      workload: `Hénon–Heiles ${batch} × ${steps}, GPU end to end`,
      darboux: `st.run ${(median(gen) * 1000).toFixed(1)} ms`,
      peer: `hand-written WGSL ${(median(hand) * 1000).toFixed(1)} ms`,
      ratio: times(median(hand) / median(gen)),
    });
  } else notes.push('WebGPU adapter: none (Debian: mesa-vulkan-drivers for llvmpipe): GPU rows skipped');
  return ours;
}

/** The C-limit rows: darboux's ensemble speeds as fractions of the C loop's, like with like. */
function cLimitRows(ours: Map<string, { seconds: number; checksum: number }>, runs: number, rows: Row[], notes: string[]): void {
  const { batch, steps, dt } = ENSEMBLE, work = batch * steps;
  const c = compileCEnsemble();
  if (typeof c === 'string') {
    notes.push(`C: ${c}: C-limit rows skipped`);
    return;
  }
  notes.push(`C: ${c.compiler}`, ...c.skipped.map((s) => `C skipped: ${s}`));
  const f64 = ours.get('CPU f64, 1 thread')!;
  const limits = new Map<string, number>();
  for (const program of c.programs) {
    const peer = program.run(batch, steps, runs, dt);
    if (typeof peer === 'string') { notes.push(peer); continue; }
    limits.set(program.label, peer.seconds);
    if (program.label.includes('f64')) notes.push(`${program.label}: Σ(q + p) ${peer.checksum.toFixed(9)} (darboux CPU f64: ${f64.checksum.toFixed(9)})`);
  }
  // Like with like: one thread against one thread, two against OpenMP 2; the GPU (f32) against both f32 loops.
  const pairs: [string, string][] = [
    ['CPU f64, 1 thread', 'C f64, 1 thread'], ['CPU f64 JS runner, 1 thread', 'C f64, 1 thread'], ['CPU f64, 2 threads', 'C f64, OpenMP 2 threads'],
    ['GPU f32', 'C f32, 1 thread'], ['GPU f32', 'C f32, OpenMP 2 threads'],
  ];
  for (const [name, label] of pairs) {
    const mine = ours.get(name), peer = limits.get(label);
    if (!mine || peer === undefined) continue;
    rows.push({
      workload: `Hénon–Heiles ${batch} × ${steps}, trajectory·steps/s`,
      darboux: `${mega(work / mine.seconds)} (${name})`,
      peer: `${mega(work / peer)} (${label})`,
      ratio: times(peer / mine.seconds),
    });
  }
  const c1 = limits.get('C f64, 1 thread'), c2 = limits.get('C f64, OpenMP 2 threads');
  if (c1 !== undefined && c2 !== undefined) {
    const d = ours.get('CPU f64, 1 thread')!.seconds / ours.get('CPU f64, 2 threads')!.seconds;
    rows.push({ workload: `Hénon–Heiles ${batch} × ${steps}, f64, 2 threads ÷ 1 thread`, darboux: `×${d.toFixed(2)}`, peer: `×${(c1 / c2).toFixed(2)} (C OpenMP)`, ratio: times(d / (c1 / c2)) });
  }
  c.cleanup();
}

/**
 * Runs every peer that is installed and prints the table.
 *
 * @example
 * await peersBench({ runs: 3 });
 */
export async function peersBench({ runs = 3 } = {}): Promise<void> {
  const gpu = (await gpuAvailable()) ? await acquireGpu() : undefined;
  const adapter = gpu ? `${gpu.adapterKind} (${gpu.description})` : 'none';
  console.log(`\n## Peers: medians of ${runs} runs; ratio = darboux ÷ peer in speed (> 1: darboux ahead)\n`);
  console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${availableParallelism()} cores, load average ${load()}, node ${process.version}, adapter ${adapter}\n`);
  const rows: Row[] = [], notes: string[] = [];
  await trainingRows(runs, rows, notes);
  cLimitRows(await ensembleRuns(runs, gpu, rows, notes), runs, rows, notes);
  console.log('| workload | darboux | peer | ratio |');
  console.log('|---|---|---|---:|');
  for (const r of rows) console.log(`| ${r.workload} | ${r.darboux} | ${r.peer} | ${r.ratio} |`);
  console.log('');
  for (const n of notes) console.log(n);
  console.log(`load average at the end: ${load()}`);
  if (gpu) await releaseGpu();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--runs');
  await peersBench({ runs: at > 0 ? Number(process.argv[at + 1]) : 3 });
}
