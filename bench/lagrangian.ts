/**
 * Cost of one variational midpoint step (and the variational trapezoid and rk4 on the Euler–Lagrange equations)
 * against implicit midpoint on the Legendre-equivalent Hamiltonian, for Kepler and the double pendulum, on the f64
 * CPU backend (optionally the GPU: `--gpu`). Standalone: npx tsx bench/lagrangian.ts [--gpu]
 */
import { compile, gpuAvailable, lagrangian, releaseGpu, type Lagrangian, type LagrangianStepper, type Stepper } from '../src/index.js';
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

if (import.meta.url === `file://${process.argv[1]}`) {
  await lagrangianBench('cpu');
  if (process.argv.includes('--gpu') && (await gpuAvailable())) await lagrangianBench('gpu');
  releaseGpu();
}
