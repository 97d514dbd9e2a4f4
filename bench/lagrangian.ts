/**
 * Cost of one variational midpoint step (and the variational trapezoid and rk4 on the Euler–Lagrange equations)
 * against implicit midpoint on the Legendre-equivalent Hamiltonian, for Kepler and the double pendulum, on the f64
 * CPU backend (optionally the GPU: `--gpu`); and the acceleration-loss training throughput of an LNN, darboux CPU
 * against the same network and step in PyTorch on the CPU (bench/torch_lnn.py, when python3 can import torch; skipped
 * with a message otherwise). Standalone: npx tsx bench/lagrangian.ts [--gpu] [--no-train]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compile, fit, gpuAvailable, lagrangian, lnn, releaseGpu, type Lagrangian, type LagrangianStepper, type Stepper } from '../src/index.js';
import { bestSeconds } from './timing.js';

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

/**
 * LNN acceleration-loss training throughput (samples/s): darboux `fit` on the CPU (f64; compile and set-up excluded by
 * timing a long and a short run) and, in the same process run, PyTorch's CPU step of the same network.
 *
 * @example
 * await lnnTrainingBench();
 */
export async function lnnTrainingBench(): Promise<void> {
  const dof = 3, hidden = [32, 32], batch = 128, data = keplerSamples(dof, 4096);
  console.log(`\n## LNN training throughput (dof ${dof}, hidden [${hidden}], softplus, acceleration loss, batch ${batch}, Adam)\n`);
  const seconds = async (steps: number) => {
    const started = performance.now();
    await fit(lnn({ dof, hidden, seed: 0 }), data, { loss: 'acceleration', steps, lr: 1e-3, batchSize: batch, backend: 'cpu', seed: 0 });
    return (performance.now() - started) / 1000;
  };
  const short = 20, long = 220;
  const times = [] as number[];
  for (let rep = 0; rep < 3; rep++) times.push((await seconds(long)) - (await seconds(short)));
  times.sort((a, b) => a - b);
  const darboux = ((long - short) * batch) / times[1]!;
  console.log(`darboux cpu (f64): ${darboux.toFixed(0).padStart(9)} samples/s (median of 3, ${long - short} steps)`);
  const python = pythonWithTorch();
  if (python === undefined) {
    console.log('pytorch: not installed (Debian: apt-get install python3-torch; or set DARBOUX_PYTHON): skipped');
    return;
  }
  const script = fileURLToPath(new URL('./torch_lnn.py', import.meta.url));
  for (const dtype of ['float64', 'float32'] as const) {
    const run = spawnSync(python, [script, '--steps', '200', '--batch', String(batch), '--dof', String(dof), '--hidden', hidden.join(','), '--dtype', dtype], { encoding: 'utf8' });
    if (run.status !== 0) {
      console.log(`pytorch: the script failed: ${(run.stderr ?? String(run.error)).trim().split('\n').pop()}`);
      return;
    }
    const torch = JSON.parse(run.stdout.trim().split('\n').pop()!) as { samplesPerSecond: number; threads: number; torch: string };
    console.log(`pytorch ${torch.torch} (cpu, ${dtype}, ${torch.threads} threads): ${torch.samplesPerSecond.toFixed(0).padStart(9)} samples/s; darboux / pytorch = ${(darboux / torch.samplesPerSecond).toFixed(2)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await lagrangianBench('cpu');
  if (!process.argv.includes('--no-train')) await lnnTrainingBench();
  if (process.argv.includes('--gpu') && (await gpuAvailable())) await lagrangianBench('gpu');
  releaseGpu();
}
