import { afterAll, describe, expect, it } from 'vitest';
import {
  add, compile, cos, dot, hamiltonian, henonHeiles, hnn, matvec, methodNames, mul, param, phaseSpace, sum, tanh, time,
  type Hamiltonian, type VjpResult,
} from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

const IMPLICIT = ['midpoint', 'gauss4', 'gauss6', 'rk4'];
/** Long compositions: a small H keeps their kernels quick to compile on a software adapter. */
const LONG = ['suzuki6', 'yoshida8'];

/** Separable H with a tanh network potential of `hidden` units (2·hidden > 16 puts W's gradient in arrays, not registers). */
function network(hidden: number): Hamiltonian {
  const s = phaseSpace(2);
  const W = Float64Array.from({ length: 2 * hidden }, (_, k) => 0.9 * Math.sin(1.3 * k + 0.4));
  const w = Float64Array.from({ length: hidden }, (_, k) => 0.5 * Math.cos(0.7 * k) / Math.sqrt(hidden));
  const V = add(dot(param('w', [hidden]), tanh(matvec(param('W', [hidden, 2]), s.q))), mul(0.5, dot(s.q, s.q)));
  return hamiltonian(s, add(mul(0.5, dot(s.p, s.p)), V), { params: { W, w } });
}

/** Non-separable H with a tensor coupling (for the implicit methods and rk4). */
function coupled(): Hamiltonian {
  const s = phaseSpace(2);
  const Mq = matvec(param('M', [2, 2]), s.q);
  const H = add(add(mul(0.5, add(dot(s.p, s.p), dot(s.q, s.q))), mul(param('c'), dot(s.p, Mq))), mul(0.25, sum(tanh(Mq))));
  return hamiltonian(s, H, { params: { M: [0.6, -0.2, 0.3, 0.9], c: 0.3 } });
}

function inputs(batch: number) {
  const arr = (a: number, off: number) => Float64Array.from({ length: batch * 2 }, (_, k) => a * Math.sin(1.9 * (k + off)));
  return { q0: arr(0.5, 0), p0: arr(0.4, 5), dq: arr(1, 11), dp: arr(1, 17), batch };
}

/** Largest difference over every output of two vjp results, relative to the largest magnitude. */
function relativeDifference(a: VjpResult, b: VjpResult): number {
  const flat = (r: VjpResult) => [...r.dq0, ...r.dp0, ...Object.values(r.dparams).flatMap((v) => (typeof v === 'number' ? [v] : [...v]))];
  const x = flat(a), y = flat(b);
  let d = 0, scale = 1e-30;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return d / scale;
}

describe('GPU vjp (f32) agrees with the f64 CPU vjp', () => {
  for (const method of methodNames()) {
    it(method, async () => {
      const h = IMPLICIT.includes(method) ? coupled() : LONG.includes(method) ? henonHeiles().hamiltonian : network(4);
      const gpu = await compile(h, { method, dt: 0.05, backend: 'gpu' });
      const cpu = await compile(h, { method, dt: 0.05, backend: 'cpu' });
      const x = { ...inputs(70), steps: 40 };
      for (const memory of method === 'rk4' ? (['store', 'checkpoint'] as const) : (['reverse', 'store'] as const)) {
        const a = await gpu.vjp({ ...x, memory });
        const b = await cpu.vjp({ ...x, memory });
        expect(a.memory.mode).toBe(memory);
        // f32 rounding over 40 forward and 40 backward steps: far below any gradient difference that matters.
        expect(relativeDifference(a, b), memory).toBeLessThan(2e-4);
      }
      gpu.dispose();
      cpu.dispose();
    });
  }

  it('a 9-unit network (parameter gradients in arrays), split into chunks and dispatches, reverse and checkpoint', async () => {
    const h = network(9);
    const gpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu', maxTrajectoriesPerChunk: 16, dispatchBudget: 2e5 });
    const cpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const x = { ...inputs(40), steps: 60 };
    for (const memory of ['reverse', 'checkpoint'] as const) {
      expect(relativeDifference(await gpu.vjp({ ...x, memory }), await cpu.vjp({ ...x, memory }))).toBeLessThan(2e-4);
    }
    expect((await gpu.vjp({ ...x, memory: 'store' })).memory.stateBytes).toBe(60 * 2 * 40 * 2 * 4);
  });

  it('a separable HNN of 20 units: stage-wise leapfrog backward with carried activation arrays (> 16 elements)', async () => {
    const h = hnn({ dof: 2, hidden: [20], activation: 'tanh', seed: 3, separable: true }).hamiltonian!;
    const gpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'gpu' });
    const cpu = await compile(h, { method: 'leapfrog', dt: 0.05, backend: 'cpu' });
    const x = { ...inputs(24), steps: 30 };
    expect(relativeDifference(await gpu.vjp({ ...x, memory: 'reverse' }), await cpu.vjp({ ...x, memory: 'store' }))).toBeLessThan(2e-4);
    gpu.dispose();
    cpu.dispose();
  });

  it('a time-dependent H from t0 ≠ 0 (leapfrog carries and the backward time)', async () => {
    const s = phaseSpace(2);
    const drive = mul(param('eps'), mul(sum(s.q), cos(time())));
    const h = hamiltonian(s, add(mul(0.5, add(dot(s.p, s.p), dot(s.q, s.q))), drive), { params: { eps: 0.3 } });
    for (const method of ['leapfrog', 'midpoint']) {
      const gpu = await compile(h, { method, dt: 0.1, backend: 'gpu' });
      const cpu = await compile(h, { method, dt: 0.1, backend: 'cpu' });
      const x = { ...inputs(3), steps: 50, t0: 1.1 };
      expect(relativeDifference(await gpu.vjp(x), await cpu.vjp(x)), method).toBeLessThan(2e-4);
    }
  });

  it('an unconverged implicit solve in a backward kernel is NO_CONVERGENCE, not a gradient', async () => {
    const h = coupled();
    const x = { ...inputs(4), steps: 10 };
    const probe = await compile(h, { method: 'midpoint', dt: 0.05, backend: 'gpu' });
    const { stats } = await probe.run(x);
    // As many iterations as the forward solves need: the reconstruction (joint in z_n and the stages) needs more.
    const st = await compile(h, { method: 'midpoint', dt: 0.05, backend: 'gpu', maxIterations: stats!.iterations.max });
    await st.run(x);
    await expect(st.vjp({ ...x, memory: 'reverse' })).rejects.toMatchObject({ code: 'NO_CONVERGENCE', message: expect.stringMatching(/gpu f32\) vjp: the backward step/) });
  });
});
