import { describe, expect, it } from 'vitest';
import { DarbouxError, dataset, hnn, parse, type Hamiltonian, type HamiltonianDataset } from '../../src/index.js';

const spring = parse({ q: ['q'], p: ['p'], H: 'q^2 + p^2' });
const henonHeiles = parse({ q: ['x', 'y'], p: ['px', 'py'], H: '(px^2+py^2)/2 + (x^2+y^2)/2 + x^2*y - y^3/3' });

const rejects = async (promise: Promise<unknown>, code: string) => {
  const e = await promise.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(DarbouxError);
  expect((e as DarbouxError).code).toBe(code);
};

const std = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
};

describe('dataset.fromHamiltonian', () => {
  it('has the Greydanus spring layout: samples × dof arrays, times on the grid, trajectory-major', async () => {
    const d = await dataset.fromHamiltonian(spring, { trajectories: 50, tSpan: [0, 3], samplesPerUnitTime: 10, noise: 0.1, seed: 0 });
    expect(d.dof).toBe(1);
    expect(d.samples).toBe(1500);
    for (const a of [d.q, d.p, d.dqdt, d.dpdt, d.t, d.clean.q, d.clean.p]) expect(a.length).toBe(1500);
    expect(d.trajectories).toMatchObject({ length: 30, count: 50, dt: 0.1 });
    expect(d.trajectories.q).toEqual(d.q);
    expect(d.reference).toEqual({ method: 'gauss6', dt: 0.005, substeps: 20 });
    expect(d.t[31]).toBe(0.1);
    expect(d.t[59]).toBeCloseTo(2.9, 14);
    expect(d.trajectoryIndex[29]).toBe(0);
    expect(d.trajectoryIndex[30]).toBe(1);
  });

  it('matches the closed-form spring flow q(t) = q₀ cos 2t + p₀ sin 2t, with exact derivatives', async () => {
    const d = await dataset.fromHamiltonian(spring, { trajectories: 4, tSpan: [0.5, 3.5], samplesPerUnitTime: 10, seed: 3 });
    for (let row = 0; row < d.samples; row++) {
      const start = d.trajectoryIndex[row]! * 30;
      const q0 = d.clean.q[start]!, p0 = d.clean.p[start]!, t = d.t[row]! - d.t[start]!;
      expect(Math.abs(d.clean.q[row]! - (q0 * Math.cos(2 * t) + p0 * Math.sin(2 * t)))).toBeLessThan(1e-12);
      expect(Math.abs(d.clean.p[row]! - (p0 * Math.cos(2 * t) - q0 * Math.sin(2 * t)))).toBeLessThan(1e-12);
      expect(d.dqdt[row]).toBeCloseTo(2 * d.clean.p[row]!, 14);
      expect(d.dpdt[row]).toBeCloseTo(-2 * d.clean.q[row]!, 14);
    }
    expect(d.q).toEqual(d.clean.q); // noise 0 by default
  });

  it('derivatives agree with central differences of the noiseless trajectory (Hénon–Heiles)', async () => {
    const d = await dataset.fromHamiltonian(henonHeiles, { trajectories: 3, tSpan: [0, 0.05], samplesPerUnitTime: 1000, radius: [0.3, 0.5], seed: 1 });
    const n = d.trajectories.length, h = 1e-3;
    expect(n).toBe(50);
    let worst = 0;
    for (let b = 0; b < 3; b++) {
      for (let k = 1; k < n - 1; k++) {
        for (let i = 0; i < 2; i++) {
          const at = (kk: number) => ((b * n + kk) * 2 + i);
          const fdq = (d.clean.q[at(k + 1)]! - d.clean.q[at(k - 1)]!) / (2 * h);
          const fdp = (d.clean.p[at(k + 1)]! - d.clean.p[at(k - 1)]!) / (2 * h);
          worst = Math.max(worst, Math.abs(fdq - d.dqdt[at(k)]!), Math.abs(fdp - d.dpdt[at(k)]!));
        }
      }
    }
    // Central differences are accurate to h²/6·|z'''| ≈ 1e-7 here.
    expect(worst).toBeLessThan(1e-6);
    expect(worst).toBeGreaterThan(0);
  });

  it('conserves energy along noiseless trajectories to 1e-9', async () => {
    for (const h of [henonHeiles, spring] as Hamiltonian[]) {
      const d = await dataset.fromHamiltonian(h, { trajectories: 5, tSpan: [0, 3], samplesPerUnitTime: 10, noise: 0.1, seed: 2 });
      const n = d.trajectories.length, dof = d.dof;
      for (let b = 0; b < 5; b++) {
        const E = (k: number) => {
          const at = (b * n + k) * dof;
          return h.energy(d.clean.q.subarray(at, at + dof), d.clean.p.subarray(at, at + dof));
        };
        for (let k = 1; k < n; k++) expect(Math.abs(E(k) - E(0))).toBeLessThan(1e-9);
      }
    }
  });

  it('adds Gaussian noise of the requested std to q and p only', async () => {
    const d = await dataset.fromHamiltonian(henonHeiles, { trajectories: 50, tSpan: [0, 3], samplesPerUnitTime: 10, noise: 0.1, radius: [0.1, 0.5], seed: 4 });
    const residual = [...d.q.map((v, k) => v - d.clean.q[k]!), ...d.p.map((v, k) => v - d.clean.p[k]!)];
    const s = std(residual);
    expect(residual.length).toBe(6000);
    expect(Math.abs(s.mean)).toBeLessThan(0.005);
    expect(Math.abs(s.std / 0.1 - 1)).toBeLessThan(0.04);
    const g = henonHeiles.gradient(d.clean.q.subarray(0, 2), d.clean.p.subarray(0, 2));
    expect([d.dqdt[0], d.dqdt[1], d.dpdt[0], d.dpdt[1]]).toEqual([g.dp[0], g.dp[1], -g.dq[0]!, -g.dq[1]!]);
  });

  it('draws initial radii in [rMin, rMax], uses sampleInitial when given, and is deterministic by seed', async () => {
    const opts = { trajectories: 40, tSpan: [0, 1] as [number, number], samplesPerUnitTime: 2, seed: 9 };
    const a = await dataset.fromHamiltonian(henonHeiles, opts);
    const radii = Array.from({ length: 40 }, (_, b) => Math.hypot(a.clean.q[b * 4]!, a.clean.q[b * 4 + 1]!, a.clean.p[b * 4]!, a.clean.p[b * 4 + 1]!));
    expect(Math.min(...radii)).toBeGreaterThanOrEqual(0.2);
    expect(Math.max(...radii)).toBeLessThanOrEqual(1);
    expect(Math.max(...radii) - Math.min(...radii)).toBeGreaterThan(0.5);
    const b: HamiltonianDataset = await dataset.fromHamiltonian(henonHeiles, opts);
    expect(b.q).toEqual(a.q);
    const c = await dataset.fromHamiltonian(henonHeiles, { ...opts, seed: 10 });
    expect(c.q).not.toEqual(a.q);
    const fixed = await dataset.fromHamiltonian(spring, { ...opts, trajectories: 2, sampleInitial: (r) => ({ q: [1 + r.next() * 0], p: [0] }) });
    expect([fixed.clean.q[0], fixed.clean.p[0], fixed.clean.q[2], fixed.clean.p[2]]).toEqual([1, 0, 1, 0]);
  });

  it('works for a learned Hamiltonian (an hnn)', async () => {
    const model = hnn({ dof: 1, hidden: [8], activation: 'tanh', seed: 0 });
    const d = await dataset.fromHamiltonian(model.hamiltonian!, { trajectories: 2, tSpan: [0, 1], samplesPerUnitTime: 5, seed: 0 });
    expect(d.samples).toBe(10);
    expect([...d.q, ...d.p, ...d.dqdt, ...d.dpdt].every(Number.isFinite)).toBe(true);
  });

  it('rejects bad options and inputs before any work', async () => {
    const ok = { trajectories: 2, tSpan: [0, 1] as [number, number], samplesPerUnitTime: 10 };
    await rejects(dataset.fromHamiltonian({} as Hamiltonian, ok), 'INPUT');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, trajectories: 0 }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, tSpan: [1, 0] }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, samplesPerUnitTime: -1 }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, samplesPerUnitTime: 0.1 }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, noise: -0.1 }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, noise: NaN }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, seed: 1.5 }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, radius: [1, 0.5] }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, dtReference: 0 }), 'OPTION');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, sampleInitial: () => ({ q: [1, 2], p: [0] }) }), 'INPUT');
    await rejects(dataset.fromHamiltonian(spring, { ...ok, sampleInitial: () => ({ q: [NaN], p: [0] }) }), 'INPUT');
  });
});
