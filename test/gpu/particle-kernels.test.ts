/**
 * Per-particle GPU kernels (src/backends/gpu/particle-stepper.ts) against the f64 CPU backend: LJ fluids in
 * periodic boxes (below and above one workgroup), a bonded chain in an external field, open-boundary gravity,
 * compositions, batches, recording, momentum conservation and non-finite states.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compile, fcc, harmonicOscillator, maxwellBoltzmann, particles, plummer, type ParticleSystem, type Stepper } from '../../src/index.js';
import { releaseGpu } from '../../src/runtime/index.js';

afterAll(() => releaseGpu());

type Kernel = 'tiled' | 'workgroup' | 'cells' | 'auto';
const LJ = '4*eps*((sig/r)^12 - (sig/r)^6)';

/** An LJ fluid from an fcc lattice, positions and momenta rounded to f32 (so both backends start alike). */
function ljFluid(cells: [number, number, number], density: number, cutoff: number, shift: boolean, seed = 1) {
  const { q, box } = fcc({ cells, density });
  const n = q.length / 3;
  const p = maxwellBoltzmann({ n, dim: 3, temperature: 0.72, mass: 1, seed });
  const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff, shift } });
  return { sys, q: f32(q), p: f32(p) };
}

const f32 = (a: ArrayLike<number>) => Float64Array.from(Float32Array.from(a));

/** Largest |a − b| over the largest |b|. */
function relative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0, scale = 1e-30;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return worst / scale;
}

async function gpuStepper(sys: ParticleSystem, kernel: Kernel, method = 'leapfrog', dt = 0.005): Promise<Stepper & { kernel?: string }> {
  return compile(sys.hamiltonian, { method, dt, backend: 'gpu', particleKernel: kernel });
}

/** GPU vs CPU after `steps` steps: relative differences of q and p, and which kernel ran. */
async function agreement(sys: ParticleSystem, q0: Float64Array, p0: Float64Array, steps: number, kernel: Kernel, method = 'leapfrog', dt = 0.005) {
  const gpu = await gpuStepper(sys, kernel, method, dt);
  const cpu = await compile(sys.hamiltonian, { method, dt, backend: 'cpu' });
  const [a, b] = [await gpu.run({ q0, p0, steps }), await cpu.run({ q0, p0, steps })];
  gpu.dispose();
  cpu.dispose();
  return { q: relative(a.q, b.q), p: relative(a.p, b.p), kernel: gpu.kernel };
}

function totalMomentum(p: ArrayLike<number>, dim: number): number[] {
  const out = new Array<number>(dim).fill(0);
  for (let i = 0; i < p.length; i++) out[i % dim]! += p[i]!;
  return out;
}

describe('per-particle GPU kernels ≡ f64 CPU', () => {
  it('LJ 3-D periodic with cutoff: 64 particles in both kernels, shift false and true', async () => {
    for (const [kernel, shift] of [['workgroup', false], ['tiled', true], ['workgroup', true]] as const) {
      const { sys, q, p } = ljFluid([2, 2, 4], 0.5, 1.9, shift);
      const one = await agreement(sys, q, p, 1, kernel);
      expect(one.kernel).toBe(kernel);
      expect(one.q, `${kernel} one step q`).toBeLessThan(1e-6);
      expect(one.p, `${kernel} one step p`).toBeLessThan(1e-5);
      const many = await agreement(sys, q, p, 40, kernel);
      expect(many.q, `${kernel} 40 steps q`).toBeLessThan(1e-4);
      expect(many.p, `${kernel} 40 steps p`).toBeLessThan(2e-3);
    }
  });

  it('LJ in 2-D (periodic, cutoff, shift): 100 particles in all three kernels', async () => {
    const n = 100, L = 12;
    const sys = particles({ n, dim: 2, mass: 1, box: [L, L], pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 2.5, shift: true } });
    const q = f32(Array.from({ length: 2 * n }, (_, k) => ((k % 2 === 0 ? Math.floor(k / 2) % 10 : Math.floor(k / 20)) + 0.5 + 0.1 * Math.sin(k)) * (L / 10)));
    const p = f32(Array.from({ length: 2 * n }, (_, k) => 0.5 * Math.cos(2.3 * k)));
    for (const kernel of ['workgroup', 'tiled', 'cells'] as const) {
      const r = await agreement(sys, q, p, 30, kernel);
      expect(r.kernel).toBe(kernel);
      expect(r.q, `${kernel} q`).toBeLessThan(1e-5);
      expect(r.p, `${kernel} p`).toBeLessThan(1e-3);
    }
  });

  it('LJ fluids above one workgroup: 256 particles (r_c = 2.5) and 500 particles, shift false and true', async () => {
    for (const [cells, shift] of [[[4, 4, 4], false], [[5, 5, 5], true], [[5, 5, 5], false]] as const) {
      const { sys, q, p } = ljFluid(cells as [number, number, number], 0.8442, 2.5, shift);
      const one = await agreement(sys, q, p, 1, 'auto');
      expect(one.kernel).toBe('tiled');
      expect(one.q).toBeLessThan(1e-6);
      expect(one.p).toBeLessThan(1e-5);
      const many = await agreement(sys, q, p, 20, 'auto');
      expect(many.q, `${sys.n} particles q`).toBeLessThan(1e-4);
      expect(many.p, `${sys.n} particles p`).toBeLessThan(2e-3);
    }
  });

  it('cell lists (counting sort by cell on the GPU): 500 particles on a 3×3×3 grid, 4 000 on 6×6×6 (auto)', async () => {
    for (const [cells, kernel] of [[[5, 5, 5], 'cells'], [[10, 10, 10], 'auto']] as const) {
      const { sys, q, p } = ljFluid(cells as [number, number, number], 0.8442, 2.5, false);
      const r = await agreement(sys, q, p, 10, kernel);
      expect(r.kernel).toBe('cells');
      expect(r.q, `${sys.n} particles q`).toBeLessThan(1e-5);
      expect(r.p, `${sys.n} particles p`).toBeLessThan(1e-3);
    }
  });

  it('a bonded chain in an external field with per-particle masses (both kernels; leapfrog, yoshida4, symplectic Euler B)', async () => {
    const n = 40;
    const edges = Array.from({ length: n - 1 }, (_, i) => [i, i + 1] as [number, number]);
    const sys = particles({
      n, dim: 3, mass: Array.from({ length: n }, (_, i) => 1 + 0.5 * (i % 3)),
      pair: { V: LJ, params: { eps: 0.2, sig: 0.8 }, cutoff: 2 },
      bonds: { edges, V: 'k/2*(r - r0)^2', params: { k: 50, r0: 1 } },
      external: { V: 'g*z + c*x^2', params: { g: 0.3, c: 0.05 } },
    });
    const q = f32(Array.from({ length: 3 * n }, (_, k) => (k % 3 === 0 ? Math.floor(k / 3) * 1.05 : 0.2 * Math.sin(k))));
    const p = f32(Array.from({ length: 3 * n }, (_, k) => 0.3 * Math.cos(1.7 * k)));
    for (const kernel of ['workgroup', 'tiled'] as const) {
      for (const method of ['leapfrog', 'yoshida4', 'symplecticEulerB']) {
        const r = await agreement(sys, q, p, 50, kernel, method, 0.01);
        expect(r.kernel).toBe(kernel);
        expect(r.q, `${kernel} ${method} q`).toBeLessThan(1e-5);
        expect(r.p, `${kernel} ${method} p`).toBeLessThan(1e-4);
      }
    }
  });

  it('open-boundary softened gravity (Plummer spheres of 100 and 300 bodies)', async () => {
    for (const n of [100, 300]) {
      const model = plummer({ n, seed: 3, softening: 0.05 });
      const r = await agreement(model.system, f32(model.q), f32(model.p), 20, 'auto', 'leapfrog', 0.002);
      expect(r.kernel).toBe(n <= 128 ? 'workgroup' : 'tiled');
      expect(r.q, `${n} bodies q`).toBeLessThan(1e-5);
      expect(r.p, `${n} bodies p`).toBeLessThan(1e-4);
    }
  });
});

describe('per-particle GPU kernels: the Stepper contract', () => {
  it('batch copies agree with separate runs, in both kernels', async () => {
    const { sys, q } = ljFluid([2, 2, 4], 0.5, 1.9, false);
    const dof = q.length, batch = 3;
    const ps = [0, 1, 2].map((s) => f32(maxwellBoltzmann({ n: sys.n, dim: 3, temperature: 0.5 + 0.3 * s, mass: 1, seed: s + 7 })));
    const q0 = new Float64Array(batch * dof), p0 = new Float64Array(batch * dof);
    ps.forEach((p, b) => {
      q0.set(q, b * dof);
      p0.set(p, b * dof);
    });
    for (const kernel of ['workgroup', 'tiled'] as const) {
      const st = await gpuStepper(sys, kernel);
      const together = await st.run({ q0, p0, steps: 30, batch });
      for (let b = 0; b < batch; b++) {
        const alone = await st.run({ q0: q, p0: ps[b]!, steps: 30 });
        expect(relative(together.q.subarray(b * dof, (b + 1) * dof), alone.q), `${kernel} copy ${b}`).toBeLessThan(1e-7);
        expect(relative(together.p.subarray(b * dof, (b + 1) * dof), alone.p), `${kernel} copy ${b}`).toBeLessThan(1e-6);
      }
      // The copies really differ (different momenta), so agreement is not trivial.
      expect(relative(together.p.subarray(0, dof), together.p.subarray(dof, 2 * dof))).toBeGreaterThan(0.1);
      st.dispose();
    }
  });

  it('cell lists: batch copies agree with separate runs, record, and NONFINITE', async () => {
    const { sys, q, p } = ljFluid([5, 5, 5], 0.8442, 2.5, true);
    const st = await gpuStepper(sys, 'cells');
    expect(st.kernel).toBe('cells');
    const p1 = f32(maxwellBoltzmann({ n: sys.n, dim: 3, temperature: 1.2, mass: 1, seed: 9 }));
    const together = await st.run({ q0: [...q, ...q], p0: [...p, ...p1], steps: 8, batch: 2, record: 4 });
    const [a, b] = [await st.run({ q0: q, p0: p, steps: 8 }), await st.run({ q0: q, p0: p1, steps: 8 })];
    expect(relative(together.p.subarray(0, q.length), a.p)).toBeLessThan(1e-6);
    expect(relative(together.p.subarray(q.length), b.p)).toBeLessThan(1e-6);
    const half = await st.run({ q0: q, p0: p1, steps: 4 });
    expect(relative(together.record!.p.subarray(q.length, 2 * q.length), half.p)).toBeLessThan(1e-6);
    const bad = Float64Array.from(q);
    bad.set(q.subarray(30, 33), 60);
    await expect(st.run({ q0: [...q, ...bad], p0: [...p, ...p], steps: 3, batch: 2 })).rejects.toMatchObject({ code: 'NONFINITE', details: { step: 0, trajectory: 1, i: 10, j: 20 } });
    st.dispose();
  });

  it('the 256-particle LJ fluid keeps its total momentum to f32 rounding over 400 steps', async () => {
    const { sys, q, p } = ljFluid([4, 4, 4], 0.8442, 2.5, false);
    const st = await gpuStepper(sys, 'auto');
    const { p: pN } = await st.run({ q0: q, p0: p, steps: 400 });
    const before = totalMomentum(p, 3), after = totalMomentum(pN, 3);
    const scale = pN.reduce((s, x) => s + Math.abs(x), 0);
    after.forEach((m, k) => expect(Math.abs(m - before[k]!), `component ${k}`).toBeLessThan(1e-5 * scale));
    // The state moved: forces acted.
    expect(relative(pN, p)).toBeGreaterThan(0.1);
    st.dispose();
  });

  it('record: every k-th state equals a separate run of that many steps (both kernels)', async () => {
    const { sys, q, p } = ljFluid([2, 2, 4], 0.5, 1.9, true);
    for (const kernel of ['workgroup', 'tiled'] as const) {
      const st = await gpuStepper(sys, kernel, 'yoshida4');
      const run = await st.run({ q0: q, p0: p, steps: 12, record: 4 });
      expect(run.record!.count).toBe(3);
      for (let k = 0; k < 3; k++) {
        const alone = await st.run({ q0: q, p0: p, steps: 4 * (k + 1) });
        const snap = (a: Float64Array) => a.subarray(k * q.length, (k + 1) * q.length);
        expect(relative(snap(run.record!.q), alone.q), `${kernel} snapshot ${k} q`).toBeLessThan(1e-7);
        expect(relative(snap(run.record!.p), alone.p), `${kernel} snapshot ${k} p`).toBeLessThan(1e-6);
      }
      expect(relative(run.q, snap2(run.record!.q, 2, q.length))).toBe(0);
      st.dispose();
    }
  });

  it('a non-finite state (two particles on top of each other) is NONFINITE, in both kernels', async () => {
    const { sys, q, p } = ljFluid([2, 2, 4], 0.5, 1.9, false);
    const bad = Float64Array.from(q);
    bad.set(q.subarray(0, 3), 3);
    for (const kernel of ['workgroup', 'tiled'] as const) {
      const st = await gpuStepper(sys, kernel);
      await expect(st.run({ q0: bad, p0: p, steps: 10 })).rejects.toMatchObject({ code: 'NONFINITE', details: { step: 0, trajectory: 0, i: 0, j: 1 } });
      st.dispose();
    }
  });

  it('other systems keep the per-trajectory kernels; the Jacobian is the CPU one', async () => {
    const ho = harmonicOscillator();
    const st = (await compile(ho.hamiltonian, { method: 'leapfrog', dt: 0.01, backend: 'gpu' })) as Stepper & { kernel?: string };
    expect(st.kernel).toBeUndefined();
    st.dispose();
    const { sys, q, p } = ljFluid([2, 2, 4], 0.5, 1.9, false);
    const gpu = await gpuStepper(sys, 'auto');
    const cpu = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
    expect(relative(gpu.jacobian(q, p), cpu.jacobian(q, p))).toBe(0);
    await expect(compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'gpu', particleKernel: 'fast' as 'tiled' })).rejects.toMatchObject({ code: 'OPTION' });
    await expect(compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'gpu', particleKernel: 'cells' })).rejects.toMatchObject({ code: 'OPTION' });
    gpu.dispose();
    cpu.dispose();
  });
});

describe('per-particle GPU kernels: gradients', () => {
  it('vjp runs through the per-trajectory kernels and agrees with the CPU adjoint (8 particles)', async () => {
    const n = 8;
    const sys = particles({ n, dim: 2, mass: 1, box: [4, 4], pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 1.9 } });
    const q = f32(Array.from({ length: 2 * n }, (_, k) => ((k % 2 === 0 ? (Math.floor(k / 2) % 4) : Math.floor(k / 8)) + 0.5) * (k % 2 === 0 ? 1 : 2) + 0.05 * Math.sin(k)));
    const p = f32(Array.from({ length: 2 * n }, (_, k) => 0.2 * Math.cos(k)));
    const dq = Array.from({ length: 2 * n }, (_, k) => Math.sin(3 * k)), dp = Array.from({ length: 2 * n }, (_, k) => Math.cos(5 * k));
    const gpu = await gpuStepper(sys, 'auto');
    const cpu = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
    const [a, b] = [await gpu.vjp({ q0: q, p0: p, steps: 10, dq, dp }), await cpu.vjp({ q0: q, p0: p, steps: 10, dq, dp })];
    expect(relative(a.dq0, b.dq0)).toBeLessThan(1e-3);
    expect(relative(a.dp0, b.dp0)).toBeLessThan(1e-3);
    expect(Math.abs((a.dparams.eps as number) - (b.dparams.eps as number))).toBeLessThan(1e-3 * Math.abs(b.dparams.eps as number) + 1e-6);
    gpu.dispose();
    cpu.dispose();
  });
});

const snap2 = (a: Float64Array, k: number, dof: number) => a.subarray(k * dof, (k + 1) * dof);
