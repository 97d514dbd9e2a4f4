import { describe, expect, it } from 'vitest';
import { compile, fpuChain, graphSize } from '../../src/index.js';

describe('FPU-β chain (bonds as an edge sum on a ring)', () => {
  it('has the FPU equations of motion, a graph independent of the length, and a separable H', () => {
    const beta = 0.7, N = 16;
    const model = fpuChain({ sites: N, beta, amplitude: 0.3 });
    const h = model.hamiltonian;
    expect(h.isSeparable).toBe(true);
    // A perturbed state (not the pure mode) so every term is exercised.
    const q = model.q0.map((x, n) => x + 0.05 * Math.cos(1.3 * n));
    const p = model.q0.map((_, n) => 0.1 * Math.sin(0.7 * n));
    const u = q.map((x, n) => x - n);
    const { dq } = h.gradient(q, p);
    for (let n = 0; n < N; n++) {
      const right = u[(n + 1) % N]! - u[n]!, left = u[n]! - u[(n + N - 1) % N]!;
      const force = right - left + beta * (right ** 3 - left ** 3);
      expect(-dq[n]!).toBeCloseTo(force, 12);
    }
    const energy = p.reduce((s, x) => s + x * x / 2, 0) + u.reduce((s, _, n) => {
      const r = u[(n + 1) % N]! - u[n]!;
      return s + r * r / 2 + beta * r ** 4 / 4;
    }, 0);
    expect(h.energy(q, p)).toBeCloseTo(energy, 12);
    expect(graphSize([fpuChain({ sites: 1000 }).hamiltonian.H])).toBe(graphSize([h.H]));
  });

  it('leapfrog keeps the total momentum to rounding and the energy bounded over 10⁴ steps', async () => {
    const model = fpuChain({ sites: 32, beta: 1, amplitude: 1 });
    const h = model.hamiltonian;
    const st = await compile(h, { method: 'leapfrog', dt: model.dt, backend: 'cpu' });
    const p0 = model.q0.map((_, n) => 0.01 * Math.cos(n)); // a small net momentum
    const P0 = p0.reduce((s, x) => s + x, 0);
    const res = await st.run({ q0: model.q0, p0, steps: 10_000, record: 100 });
    const e0 = h.energy(model.q0, p0);
    let worst = 0;
    for (let k = 0; k < res.record!.count; k++) {
      const at = k * 32;
      worst = Math.max(worst, Math.abs(h.energy(res.record!.q.subarray(at, at + 32), res.record!.p.subarray(at, at + 32)) - e0));
    }
    expect(worst / e0).toBeLessThan(1e-2);
    expect(Math.abs(res.p.reduce((s, x) => s + x, 0) - P0)).toBeLessThan(1e-12);
    st.dispose();
  });
});

/**
 * Harmonic energies E_k = (P_k² + ω_k² Q_k²)/2, k = 1 … N − 1, of a chain of N bonds with fixed ends, written here
 * independently of the library: Q_k = √(2/N) Σₙ uₙ sin(πkn/N) with uₙ = xₙ − n, ω_k = 2 sin(πk/2N).
 */
function fixedChainModes(q: ArrayLike<number>, p: ArrayLike<number>, N: number): number[] {
  const energies: number[] = [];
  for (let k = 1; k < N; k++) {
    let Q = 0, P = 0;
    for (let n = 1; n < N; n++) {
      const s = Math.sqrt(2 / N) * Math.sin((Math.PI * k * n) / N);
      Q += s * (q[n - 1]! - n);
      P += s * p[n - 1]!;
    }
    const omega = 2 * Math.sin((Math.PI * k) / (2 * N));
    energies.push((P * P + omega * omega * Q * Q) / 2);
  }
  return energies;
}

/** E₁/Σ_k E_k at each recorded frame of a fixed chain of `sites` = N − 1 moving particles. */
async function modeOneFraction(model: ReturnType<typeof fpuChain>, steps: number, every: number): Promise<number[]> {
  const sites = model.q0.length, N = sites + 1;
  const st = await compile(model.hamiltonian, { method: 'leapfrog', dt: model.dt, backend: 'cpu' });
  const res = await st.run({ q0: model.q0, p0: model.p0, steps, record: every });
  st.dispose();
  const rec = res.record!;
  return Array.from({ length: rec.count }, (_, f) => {
    const energies = fixedChainModes(rec.q.subarray(f * sites, (f + 1) * sites), rec.p.subarray(f * sites, (f + 1) * sites), N);
    return energies[0]! / energies.reduce((a, b) => a + b, 0);
  });
}

describe('FPU chain with fixed ends (Fermi, Pasta, Ulam and Tsingou)', () => {
  it('has the FPU-αβ forces with walls at 0 and N, and the graph does not grow with the chain', () => {
    const alpha = 0.3, beta = 0.7, sites = 9;
    const model = fpuChain({ sites, alpha, beta, amplitude: 0.2, ends: 'fixed' });
    const h = model.hamiltonian;
    expect(h.dof).toBe(sites);
    expect(h.isSeparable).toBe(true);
    const q = model.q0.map((x, k) => x + 0.04 * Math.cos(1.7 * k));
    const p = model.q0.map((_, k) => 0.1 * Math.sin(0.9 * k));
    const u = [0, ...q.map((x, k) => x - (k + 1)), 0]; // u₀ = u_N = 0
    const { dq } = h.gradient(q, p);
    let energy = p.reduce((s, x) => s + x * x / 2, 0);
    for (let n = 1; n <= sites; n++) {
      const right = u[n + 1]! - u[n]!, left = u[n]! - u[n - 1]!;
      const force = right - left + alpha * (right ** 2 - left ** 2) + beta * (right ** 3 - left ** 3);
      expect(-dq[n - 1]!).toBeCloseTo(force, 12);
    }
    for (let n = 0; n <= sites; n++) {
      const r = u[n + 1]! - u[n]!;
      energy += r * r / 2 + alpha * r ** 3 / 3 + beta * r ** 4 / 4;
    }
    expect(h.energy(q, p)).toBeCloseTo(energy, 12);
    expect(h.paramsByName()).toEqual({ alpha, beta });
    expect(graphSize([fpuChain({ sites: 500, alpha, beta, ends: 'fixed' }).hamiltonian.H])).toBe(graphSize([h.H]));
    expect(() => fpuChain({ sites: 1, ends: 'fixed' })).toThrow(expect.objectContaining({ code: 'SPEC' }));
    expect(() => fpuChain({ ends: 'open' as 'fixed' })).toThrow(expect.objectContaining({ code: 'OPTION' }));
  });

  it('starts in the first normal mode; without nonlinearity the energy stays there', async () => {
    const N = 16;
    const linear = fpuChain({ sites: N - 1, beta: 0, ends: 'fixed' });
    const energies = fixedChainModes(linear.q0, linear.p0, N);
    expect(energies[0]! / energies.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(energies[0]).toBeCloseTo(linear.hamiltonian.energy(linear.q0, linear.p0), 14);
    // Leapfrog on a linear chain is a linear map that the normal modes diagonalise: mode 1 keeps all of it.
    for (const fraction of await modeOneFraction(linear, 4000, 200)) expect(fraction).toBeCloseTo(1, 12);
  });

  it('β chain (N = 16, β = 8, A = 1): mode 1 gives its energy away and gets it back (the FPUT recurrence)', async () => {
    const model = fpuChain({ sites: 15, beta: 8, amplitude: 1, ends: 'fixed' });
    // Frames every unit of time (20 steps of dt = 0.05) up to t = 800: mode 1 falls to ≈ 15 % near t ≈ 360
    // and returns to ≈ 99.9 % near t ≈ 725 (≈ 23 periods of mode 1).
    const fraction = await modeOneFraction(model, 16_000, 20);
    const time = (f: number) => f + 1;
    const low = fraction.indexOf(Math.min(...fraction));
    expect(fraction[low]).toBeLessThan(0.2);
    expect(time(low)).toBeGreaterThan(250);
    expect(time(low)).toBeLessThan(500);
    const after = fraction.slice(low);
    const back = low + after.indexOf(Math.max(...after));
    expect(fraction[back]).toBeGreaterThan(0.98);
    expect(time(back)).toBeGreaterThan(600);
    expect(time(back)).toBeLessThan(800);
  });
});
