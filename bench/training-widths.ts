/**
 * Training throughput at real widths: an HNN (dof 1, tanh) with hidden [200], [64, 64] and [200, 200], derivative
 * loss, minibatches of 256 out of 1500 spring samples, Adam — darboux CPU (f64; the batched lowering that `fit`
 * picks by default, and the per-sample lowering, cpuLowering 'perSample') against PyTorch on the CPU
 * (bench/torch_spring_hnn.py, the same network and step, best of 1 and 2 threads × float32 and float64), all in
 * the same run, interleaved, medians of several rounds. A second table times the gradient alone for the three CPU lowerings
 * (per sample, batched with generated JS GEMMs, batched with the WebAssembly SIMD GEMM).
 * With --backend gpu it prints instead fit samples/s on the GPU backend (f32, the adapter `fit` picks: llvmpipe
 * here; the batched kernels: vec4 register-blocked WGSL GEMMs, one submit per step) against the CPU batched
 * lowering, interleaved in the same run (--per-sample adds the per-sample GPU kernel).
 * Run: npm run bench:training [-- --runs 5] [-- --backend gpu [--per-sample]]
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { fit, hnn, type TrainingData } from '../src/index.js';
import { compileBatchedGradient } from '../src/train/batched-gradient.js';
import { matchBatchedHnn, type BatchedHnnSpec } from '../src/train/batched-match.js';
import { compileCpuGradient } from '../src/train/cpu-gradient.js';
import { packSamples } from '../src/train/data.js';
import { gradientProgram, packParams } from '../src/train/gradient-program.js';
import { lossGraph } from '../src/train/losses.js';

export const BATCH = 256;
const WIDTHS: { hidden: number[]; steps: number; perSampleSteps: number; torchSteps: number }[] = [
  { hidden: [200], steps: 400, perSampleSteps: 100, torchSteps: 100 },
  { hidden: [64, 64], steps: 300, perSampleSteps: 20, torchSteps: 60 },
  { hidden: [200, 200], steps: 60, perSampleSteps: 3, torchSteps: 15 },
];

/** 50 circles of the spring H = q² + p², 30 samples each (the torch script's data). @example const data = springSamples(); */
export function springSamples(): TrainingData & { q: Float64Array } {
  const q: number[] = [], p: number[] = [], dqdt: number[] = [], dpdt: number[] = [];
  for (let k = 0; k < 50; k++) {
    const r = 0.3 + 0.02 * k, phase = 0.7 * k;
    for (let j = 0; j < 30; j++) {
      const t = (3 * j) / 30, qi = r * Math.cos(2 * t + phase), pi = -r * Math.sin(2 * t + phase);
      q.push(qi); p.push(pi); dqdt.push(2 * pi); dpdt.push(-2 * qi);
    }
  }
  return { q: Float64Array.from(q), p: Float64Array.from(p), dqdt: Float64Array.from(dqdt), dpdt: Float64Array.from(dpdt) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const k = (x: number): string => `${(x / 1000).toFixed(1)} k`;

/** A python that imports torch (DARBOUX_PYTHON, python3, /usr/bin/python3), or undefined. @example const py = pythonWithTorch(); */
export function pythonWithTorch(): string | undefined {
  const candidates = [process.env.DARBOUX_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  return candidates.find((py) => {
    const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    return !probe.error && probe.status === 0;
  });
}

/** Median samples/s of the torch script over `runs` timed blocks, or the failure. @example torchRate(py, [64, 64], 60, 1, 'float32', 3); */
export function torchRate(python: string, hidden: number[], steps: number, threads: number, dtype: string, runs: number): { rate: number; torch: string } | string {
  const script = fileURLToPath(new URL('./torch_spring_hnn.py', import.meta.url));
  const args = [script, '--hidden', hidden.join(','), '--batch', String(BATCH), '--steps', String(steps), '--threads', String(threads), '--dtype', dtype, '--repeats', String(runs), '--warmup', '5'];
  const run = spawnSync(python, args, { encoding: 'utf8' });
  if (run.status !== 0) return `the PyTorch script failed: ${(run.stderr ?? String(run.error)).trim().split('\n').pop()}`;
  const line = JSON.parse(run.stdout.trim().split('\n').pop()!) as { samplesPerSecond: number; torch: string };
  return { rate: line.samplesPerSecond, torch: line.torch };
}

/** A function that runs one timed fit and returns its samples/s (after one warm-up fit). @example const once = await fitRunner([200], springSamples(), 100, 'auto'); */
export async function fitRunner(hidden: number[], data: TrainingData, steps: number, cpuLowering: 'auto' | 'perSample', backend: 'cpu' | 'gpu' = 'cpu', threads?: number): Promise<() => Promise<number>> {
  const model = hnn({ dof: 1, hidden, activation: 'tanh', seed: 0 });
  const options = { loss: 'derivative' as const, lr: 1e-3, weightDecay: 1e-4, batchSize: BATCH, seed: 0, cpuLowering, backend, ...(threads === undefined ? {} : { threads }) };
  await fit(model, data, { ...options, steps: 10 }); // warm-up (the torch script also runs untimed steps first)
  return async () => (await fit(model, data, { ...options, steps })).samplesPerSecond;
}

/** Median samples/s of one gradient function over `runs` blocks of `calls` calls on the first BATCH samples. */
function gradientRate(f: (d: Float64Array, t: Float64Array, r: Uint32Array, c: number, o: Float64Array) => void, args: { data: Float64Array; theta: Float64Array; out: Float64Array }, calls: number, runs: number): number {
  const rows = Uint32Array.from({ length: BATCH }, (_, i) => (i * 7) % 1500);
  f(args.data, args.theta, rows, BATCH, args.out);
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    for (let c = 0; c < calls; c++) f(args.data, args.theta, rows, BATCH, args.out);
    rates.push((calls * BATCH) / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

function gradientTable(data: TrainingData, runs: number): void {
  console.log(`\nGradient alone (loss + ∂loss/∂θ of ${BATCH} samples), samples/s, median of ${runs}:\n`);
  console.log('| hidden | per-sample JS | batched, JS GEMMs | batched, WebAssembly SIMD GEMMs |');
  console.log('|---|---|---|---|');
  for (const w of WIDTHS) {
    const model = hnn({ dof: 1, hidden: w.hidden, activation: 'tanh', seed: 0 });
    const graph = lossGraph(model, { loss: 'derivative' });
    const program = gradientProgram(model, graph);
    const spec = matchBatchedHnn(model, program) as BatchedHnnSpec;
    const args = { data: packSamples(graph, 1, data).rows, theta: packParams(program.layout, model.params), out: new Float64Array(1 + program.layout.total) };
    const per = gradientRate(compileCpuGradient(program), args, Math.max(1, w.perSampleSteps / 4), runs);
    const js = gradientRate(compileBatchedGradient(spec, { simd: false }), args, Math.max(1, w.steps / 4), runs);
    const simd = gradientRate(compileBatchedGradient(spec, { simd: true }), args, Math.max(1, w.steps / 4), runs);
    console.log(`| [${w.hidden.join(', ')}] | ${k(per)} | ${k(js)} | ${k(simd)} |`);
  }
}

/** Prints both tables. @example await trainingWidthsBench({ runs: 5 }); */
export async function trainingWidthsBench({ runs = 5 } = {}): Promise<void> {
  console.log(`\n## HNN training at width: hidden [200], [64, 64], [200, 200]; derivative loss, batch ${BATCH}, Adam (CPU)\n`);
  console.log(`machine: ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}, node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (shared machines are noisy: ratios come from the same run)`);
  const data = springSamples();
  const python = pythonWithTorch();
  if (python === undefined) console.log('pytorch: not installed (Debian: apt-get install python3-torch; or set DARBOUX_PYTHON): skipped');
  console.log(`\nfit samples/s, medians of ${runs} interleaved rounds (each: one darboux fit, one timed block of every PyTorch configuration); PyTorch: the best of 1/2 threads × float32/float64\n`);
  console.log('| hidden | darboux batched (f64) | darboux per-sample (f64) | PyTorch best (config) | batched / PyTorch |');
  console.log('|---|---|---|---|---|');
  for (const w of WIDTHS) {
    // Interleaved: each round runs darboux once and every torch configuration once, so load changes on a shared
    // machine hit both sides alike; medians over the rounds.
    const runBatched = await fitRunner(w.hidden, data, w.steps, 'auto');
    const batched: number[] = [], torch = new Map<string, number[]>();
    let failure: string | undefined;
    for (let r = 0; r < runs; r++) {
      batched.push(await runBatched());
      for (const threads of python ? [1, 2] : []) {
        for (const dtype of ['float32', 'float64']) {
          const t = torchRate(python!, w.hidden, w.torchSteps, threads, dtype, 1);
          if (typeof t === 'string') failure = t;
          else {
            const config = `torch ${t.torch}, ${dtype}, ${threads} thread${threads > 1 ? 's' : ''}`;
            torch.set(config, [...(torch.get(config) ?? []), t.rate]);
          }
        }
      }
    }
    const runPerSample = await fitRunner(w.hidden, data, w.perSampleSteps, 'perSample');
    const perSample: number[] = [];
    for (let r = 0; r < Math.min(runs, 3); r++) perSample.push(await runPerSample());
    let best: { rate: number; config: string } | undefined;
    for (const [config, rates] of torch) if (!best || median(rates) > best.rate) best = { rate: median(rates), config };
    const torchCell = best ? `${k(best.rate)} (${best.config})` : failure ?? 'skipped';
    const ratio = best ? `${(median(batched) / best.rate).toFixed(2)}×` : '–';
    console.log(`| [${w.hidden.join(', ')}] | ${k(median(batched))} | ${k(median(perSample))} | ${torchCell} | ${ratio} |`);
  }
  gradientTable(data, runs);
  console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

/**
 * Cores this process can get right now: two worker threads spin for `ms` and the process CPU time over that
 * wall time is returned (≈ 2 on an idle 2-core machine, ≈ 1 when other processes hold a core). A GPU fit that
 * uses about one core while this says two are free is serialised by us or by llvmpipe, not by the machine.
 *
 * @example const free = await coresFree();
 */
export async function coresFree(ms = 300): Promise<number> {
  const { Worker } = await import('node:worker_threads');
  const started = new Int32Array(new SharedArrayBuffer(4));
  // Each spinner stops at its own deadline (never waits on this thread, which may not get a core meanwhile).
  const spin = "const { started, ms } = require('node:worker_threads').workerData; Atomics.add(started, 0, 1); const end = Date.now() + ms + 100; while (Date.now() < end) {}";
  const workers = [0, 1].map(() => new Worker(spin, { eval: true, workerData: { started, ms } }));
  while (Atomics.load(started, 0) < 2) await new Promise((r) => setTimeout(r, 1));
  const u0 = process.cpuUsage(), w0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const u = process.cpuUsage(u0), wall = performance.now() - w0;
  await Promise.all(workers.map((w) => w.terminate()));
  return (u.user + u.system) / 1000 / wall;
}

type TimedRate = { rate: number; cpuRate: number; cores?: { used: number; free: number } };

/** A fit runner that also reports the process CPU time (llvmpipe's threads run in this process), the cores the fit used and those free just before it (`coresFree`), or why it could not run. */
async function timedRunner(hidden: number[], data: TrainingData, steps: number, cpuLowering: 'auto' | 'perSample', backend: 'cpu' | 'gpu'): Promise<(() => Promise<TimedRate>) | string> {
  try {
    const run = await fitRunner(hidden, data, steps, cpuLowering, backend);
    return async () => {
      const free = await coresFree();
      const u0 = process.cpuUsage(), w0 = performance.now();
      const rate = await run();
      const u = process.cpuUsage(u0), cpuSeconds = (u.user + u.system) / 1e6;
      return { rate, cpuRate: (steps * BATCH) / cpuSeconds, cores: { used: cpuSeconds / ((performance.now() - w0) / 1000), free } };
    };
  } catch (e) {
    return e instanceof Error && 'code' in e ? `refused (${String(e.code)})` : String(e);
  }
}

/**
 * GPU backend (f32, the batched kernels) against the CPU batched lowering (f64), fit samples/s, interleaved
 * (each round: one GPU fit, then one CPU fit) with medians over the rounds; the ratio is the median of the
 * per-round ratios. Also samples per CPU-second of this process (llvmpipe runs its 2 threads in-process, the
 * CPU backend one). `perSample` adds the per-sample GPU kernel.
 *
 * @example await gpuTrainingBench({ runs: 5 });
 */
export async function gpuTrainingBench({ runs = 5, perSample = false } = {}): Promise<void> {
  const { gpuInfo, releaseGpu } = await import('../src/index.js');
  const info = await gpuInfo();
  console.log(`\n## HNN training at width on the GPU backend; derivative loss, batch ${BATCH}, Adam\n`);
  console.log(`machine: ${os.cpus()[0]?.model ?? '?'} × ${os.cpus().length}, node ${process.version}, adapter ${info.adapter} (${info.description ?? ''}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`\nfit samples/s, medians of ${runs} interleaved rounds (GPU fit, then CPU fit); in brackets samples per CPU-second of the process, and for the GPU the cores the fit used (process CPU time over wall) and those free just before it (two spinning threads' CPU over wall: below 2, other processes held a core)\n`);
  console.log(`| hidden | GPU batched (f32) | CPU batched (f64) | GPU / CPU (median of rounds) |${perSample ? ' GPU per-sample (f32) |' : ''}`);
  console.log(`|---|---|---|---|${perSample ? '---|' : ''}`);
  const data = springSamples();
  const coresNote = (x: TimedRate[]) => (x.every((r) => r.cores) ? `, cores used ${median(x.map((r) => r.cores!.used)).toFixed(2)}, free before ${median(x.map((r) => r.cores!.free)).toFixed(2)}` : '');
  const cell = (x: TimedRate[] | string, cores = false) => (typeof x === 'string' ? x : `${k(median(x.map((r) => r.rate)))} (${k(median(x.map((r) => r.cpuRate)))} /cpu-s${cores ? coresNote(x) : ''})`);
  for (const w of WIDTHS) {
    const gpuRun = await timedRunner(w.hidden, data, w.steps, 'auto', 'gpu');
    const cpuRun = await timedRunner(w.hidden, data, w.steps, 'auto', 'cpu');
    const gpu: TimedRate[] = [], cpu: TimedRate[] = [], ratios: number[] = [];
    for (let r = 0; r < runs && typeof gpuRun !== 'string' && typeof cpuRun !== 'string'; r++) {
      gpu.push(await gpuRun());
      cpu.push(await cpuRun());
      ratios.push(gpu.at(-1)!.rate / cpu.at(-1)!.rate);
    }
    let perSampleCell = '';
    if (perSample) {
      const run = await timedRunner(w.hidden, data, Math.max(3, w.perSampleSteps), 'perSample', 'gpu');
      const rates = [];
      for (let r = 0; r < Math.min(runs, 2) && typeof run !== 'string'; r++) rates.push(await run());
      perSampleCell = ` ${cell(typeof run === 'string' ? run : rates)} |`;
    }
    const ratio = ratios.length > 0 ? `${median(ratios).toFixed(2)}× (rounds ${ratios.map((x) => x.toFixed(2)).join(', ')})` : '–';
    console.log(`| [${w.hidden.join(', ')}] | ${cell(typeof gpuRun === 'string' ? gpuRun : gpu, true)} | ${cell(typeof cpuRun === 'string' ? cpuRun : cpu)} | ${ratio} |${perSampleCell}`);
  }
  console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  await releaseGpu();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const at = process.argv.indexOf('--runs'), backend = process.argv.indexOf('--backend');
  const runs = at > 0 ? Number(process.argv[at + 1]) : undefined;
  if (backend > 0 && process.argv[backend + 1] === 'gpu') await gpuTrainingBench({ runs: runs ?? 5, perSample: process.argv.includes('--per-sample') });
  else await trainingWidthsBench({ runs: runs ?? 5 });
}
