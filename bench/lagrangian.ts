/**
 * Cost of one variational midpoint step (and the variational trapezoid and rk4 on the Euler–Lagrange equations)
 * against implicit midpoint on the Legendre-equivalent Hamiltonian, for Kepler and the double pendulum, on the f64
 * CPU backend (optionally the GPU: `--gpu`); and the acceleration-loss training throughput of an LNN, darboux CPU
 * against the same network and step in PyTorch on the CPU (bench/torch_lnn.py, when python3 can import torch; skipped
 * with a message otherwise). Standalone: npx tsx bench/lagrangian.ts [--gpu] [--no-train] [--train-only] [--per-sample];
 * the training table alone: npm run bench:lnn-training
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compile, fit, gpuAvailable, lagrangian, lnn, releaseGpu, type Lagrangian, type LagrangianStepper, type Stepper } from '../src/index.js';
import { bestSeconds, median } from './timing.js';

const best = bestSeconds;

interface Case {
  name: string;
  L: Lagrangian;
  q: number[];
  v: number[];
}

const cases = (): Case[] => [
  { name: 'Kepler (dof 2)', L: lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: '(vx^2+vy^2)/2 + 1/sqrt(x^2+y^2)' }), q: [1, 0], v: [0, 1.2] },
  {
    name: 'double pendulum (dof 2)',
    L: lagrangian({ q: ['a', 'b'], v: ['va', 'vb'], L: 'va^2 + vb^2/2 + va*vb*cos(a-b) + 2*g*cos(a) + g*cos(b)', params: { g: 9.81 } }),
    q: [0.6, -0.4],
    v: [0.5, 1.0],
  },
];

/** Replicates one state over a batch, slightly perturbed per trajectory. */
const replicate = (x: number[], batch: number) => Float64Array.from({ length: batch * x.length }, (_, k) => x[k % x.length]! * (1 + 1e-3 * Math.sin(k)));

/** ns per trajectory·step of `run` on the program's state, and the mean solver iterations. */
async function perStep(st: Stepper, q0: Float64Array, s0: Float64Array, batch: number, steps: number) {
  await st.run({ q0, p0: s0, steps: 2, batch });
  const t = await best(() => st.run({ q0, p0: s0, steps, batch }), 5);
  const r = await st.run({ q0, p0: s0, steps, batch });
  return { ns: (1e9 * t) / (batch * steps), iterations: r.stats?.iterations.mean };
}

/** The benchmark table for one backend. */
export async function lagrangianBench(backend: 'cpu' | 'gpu'): Promise<void> {
  const batch = backend === 'cpu' ? 256 : 4096, steps = backend === 'cpu' ? 1000 : 2000, dt = 0.01;
  console.log(`\n## One step, Lagrangian vs Legendre-equivalent Hamiltonian (${backend}, batch ${batch}, ${steps} steps, dt ${dt})\n`);
  console.log('| system | method | ns / trajectory·step | solver iterations / step | vs implicit midpoint on H |');
  console.log('|---|---|---:|---:|---:|');
  for (const c of cases()) {
    const h = c.L.toHamiltonian();
    const q0 = replicate(c.q, batch), v0 = replicate(c.v, batch);
    const p0 = new Float64Array(batch * c.L.dof);
    for (let b = 0; b < batch; b++) p0.set(c.L.momenta(q0.subarray(2 * b, 2 * b + 2), v0.subarray(2 * b, 2 * b + 2)), 2 * b);
    const reference = await perStep(await compile(h, { method: 'midpoint', dt, backend }), q0, p0, batch, steps);
    const rows: [string, { ns: number; iterations?: number }][] = [
      ['midpoint on H (fixed point)', reference],
      ['midpoint on H (Newton)', await perStep(await compile(h, { method: 'midpoint', dt, backend, solver: 'newton' }), q0, p0, batch, steps)],
    ];
    for (const method of ['variationalMidpoint', 'variationalTrapezoid', 'rk4']) {
      const st: LagrangianStepper = await compile(c.L, { method, dt, backend });
      rows.push([method, await perStep(st.phase, q0, method === 'rk4' ? v0 : p0, batch, steps)]);
    }
    for (const [method, r] of rows) {
      console.log(`| ${c.name} | ${method} | ${r.ns.toFixed(0)} | ${r.iterations?.toFixed(2) ?? '—'} | ${(r.ns / reference.ns).toFixed(2)}× |`);
    }
  }
}

/** A Python that can import torch: $DARBOUX_PYTHON, python3 on the PATH, or /usr/bin/python3. */
function pythonWithTorch(): string | undefined {
  const candidates = [process.env.DARBOUX_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  return candidates.find((py) => {
    const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    return !probe.error && probe.status === 0;
  });
}

/** Kepler states in `dof` dimensions (|q| in [0.5, 1.5], v of order 1) and their accelerations −q/|q|³, as torch_lnn.py draws them. */
function keplerSamples(dof: number, count: number) {
  let s = 7;
  const u = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const q = new Float64Array(dof * count), v = new Float64Array(dof * count), a = new Float64Array(dof * count);
  for (let k = 0; k < count; k++) {
    const d = Array.from({ length: dof }, gauss), n = Math.hypot(...d), r = 0.5 + u();
    for (let i = 0; i < dof; i++) {
      q[dof * k + i] = (d[i]! / n) * r;
      v[dof * k + i] = gauss();
      a[dof * k + i] = -q[dof * k + i]! / r ** 3;
    }
  }
  return { q, v, a };
}

/** Seconds of CPU time (this process, all threads) and wall time of `f`. */
async function timed(f: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  const c0 = process.cpuUsage(), t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1e6, wall: (performance.now() - t0) / 1000 };
}

/** One throughput figure: samples per second by CPU time and by wall time. */
interface Rate {
  cpu: number;
  wall: number;
}

/**
 * darboux `fit` throughput on the CPU (f64), compile and set-up excluded: each repeat times a long and a short run and
 * takes the difference (CPU time of the process, and wall time); the long run's length is calibrated to about `seconds`.
 */
async function darbouxRate(dof: number, hidden: number[], batch: number, cpuLowering: 'auto' | 'perSample', seconds: number): Promise<Rate & { steps: number }> {
  const data = keplerSamples(dof, 4096);
  const run = (steps: number) => timed(() => fit(lnn({ dof, hidden, seed: 0 }), data, { loss: 'acceleration', steps, lr: 1e-3, batchSize: batch, backend: 'cpu', seed: 0, cpuLowering }));
  const short = 5;
  await run(short);
  const probe = (await run(short + 10)).cpu - (await run(short)).cpu;
  const steps = Math.max(10, Math.min(5000, Math.round((10 * seconds) / Math.max(probe, 1e-3))));
  const cpu: number[] = [], wall: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const long = await run(short + steps), base = await run(short);
    cpu.push(long.cpu - base.cpu);
    wall.push(long.wall - base.wall);
  }
  return { cpu: (steps * batch) / median(cpu), wall: (steps * batch) / median(wall), steps };
}

/** PyTorch's rate for one dtype and thread count (bench/torch_lnn.py), or the reason it could not run. */
function torchRate(python: string, dof: number, hidden: number[], batch: number, dtype: string, threads: number, seconds: number): (Rate & { torch: string }) | string {
  const script = fileURLToPath(new URL('./torch_lnn.py', import.meta.url));
  const args = [script, '--steps', '5', '--seconds', String(seconds), '--repeats', '3', '--batch', String(batch), '--dof', String(dof), '--hidden', hidden.join(','), '--dtype', dtype, '--threads', String(threads)];
  const run = spawnSync(python, args, { encoding: 'utf8' });
  if (run.status !== 0) return `the script failed: ${(run.stderr ?? String(run.error)).trim().split('\n').pop()}`;
  const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { samplesPerSecond: number; cpuSamplesPerSecond: number; torch: string };
  return { cpu: r.cpuSamplesPerSecond, wall: r.samplesPerSecond, torch: r.torch };
}

const fmt = (x: number) => (x >= 1e4 ? `${(x / 1e3).toFixed(0)} k` : `${(x / 1e3).toFixed(1)} k`);

/**
 * LNN acceleration-loss training throughput (samples/s, one full Adam step per minibatch of 128, softplus): darboux
 * `fit` on the CPU (f64; the batched lowering that `cpuLowering: 'auto'` picks, and the per-sample lowering where
 * `perSample` lists the case) against PyTorch's CPU step of the same network (bench/torch_lnn.py) in f64 and f32 with
 * 1 and 2 threads, in the same process run. darboux runs single-threaded, so its rate is taken by CPU time; PyTorch's
 * best is the larger of its 1-thread CPU-time rate and its wall-clock rates (a 2-thread run's CPU time counts both
 * threads). Environment: LNN_BENCH_SECONDS (per timed run, default 1.5), LNN_BENCH_CASES (e.g. '3:32,32;6:32,32').
 *
 * @example
 * await lnnTrainingBench();
 */
export async function lnnTrainingBench(options: { perSample?: boolean } = {}): Promise<void> {
  const seconds = Number(process.env.LNN_BENCH_SECONDS ?? 1.5), batch = 128;
  const cases = (process.env.LNN_BENCH_CASES ?? '3:32,32;3:128,128;6:32,32').split(';').map((c) => {
    const [dof, hidden] = c.split(':');
    return { dof: Number(dof), hidden: hidden!.split(',').map(Number) };
  });
  const python = pythonWithTorch();
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
  console.log(`\n## LNN training throughput (acceleration loss, softplus, batch ${batch}, Adam; samples/s; load ${load} at start)\n`);
  if (python === undefined) console.log('pytorch: not installed (Debian: apt-get install python3-torch; or set DARBOUX_PYTHON): skipped\n');
  console.log('| dof | hidden | darboux batched (cpu / wall) | darboux per-sample | pytorch f64 1 thr (cpu / wall) | f64 2 thr (wall) | f32 1 thr (cpu / wall) | f32 2 thr (wall) | darboux / best pytorch |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [k, { dof, hidden }] of cases.entries()) {
    const batched = await darbouxRate(dof, hidden, batch, 'auto', seconds);
    const perSample = options.perSample || k === 0 ? await darbouxRate(dof, hidden, batch, 'perSample', seconds) : undefined;
    const cells: string[] = [];
    let best = 0;
    for (const dtype of ['float64', 'float32']) {
      for (const threads of [1, 2]) {
        const r = python ? torchRate(python, dof, hidden, batch, dtype, threads, seconds) : 'skipped';
        if (typeof r === 'string') {
          cells.push(r);
          continue;
        }
        best = Math.max(best, r.wall, threads === 1 ? r.cpu : 0);
        cells.push(threads === 1 ? `${fmt(r.cpu)} / ${fmt(r.wall)}` : fmt(r.wall));
      }
    }
    const ratio = best > 0 ? `${(batched.cpu / best).toFixed(1)}×` : '—';
    console.log(`| ${dof} | [${hidden}] | ${fmt(batched.cpu)} / ${fmt(batched.wall)} | ${perSample ? fmt(perSample.cpu) : '—'} | ${cells.join(' | ')} | ${ratio} |`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const trainOnly = process.argv.includes('--train-only');
  if (!trainOnly) await lagrangianBench('cpu');
  if (!process.argv.includes('--no-train')) await lnnTrainingBench({ perSample: process.argv.includes('--per-sample') });
  if (process.argv.includes('--gpu') && (await gpuAvailable())) await lagrangianBench('gpu');
  releaseGpu();
}
