import { describe, expect, it } from 'vitest';
import {
  compile, createRandom, DarbouxError, fcc, Hamiltonian, hexagonal, index, param, maxwellBoltzmann, mul, particles, powi, radialDistribution, sub,
  type Expr,
} from '../../src/index.js';
import { input } from '../../src/ir/build.js';
import { pairSum } from './unrolled-sums.js';

const LJ = '4*eps*((sig/r)^12 - (sig/r)^6)';
const lj = (r: number, eps = 1, sig = 1) => 4 * eps * ((sig / r) ** 12 - (sig / r) ** 6);

/** Minimum-image distance, written independently of the library. */
function dist(q: ArrayLike<number>, dim: number, i: number, j: number, box?: readonly number[]): number {
  let s = 0;
  for (let k = 0; k < dim; k++) {
    let d = q[i * dim + k]! - q[j * dim + k]!;
    if (box) d -= box[k]! * Math.round(d / box[k]!);
    s += d * d;
  }
  return Math.sqrt(s);
}

function expectCode(f: () => unknown, code: string, text?: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DarbouxError);
    expect((e as DarbouxError).code).toBe(code);
    if (text) expect((e as DarbouxError).message).toMatch(text);
    return;
  }
  throw new Error(`expected a ${code} DarbouxError`);
}

describe('fcc', () => {
  it('has 4 atoms per cell, the density, the box and nearest neighbours at a/√2', () => {
    const density = 0.8442;
    const { q, box } = fcc({ cells: [3, 2, 4], density });
    const n = q.length / 3;
    expect(n).toBe(4 * 3 * 2 * 4);
    const a = Math.cbrt(4 / density);
    expect(box[0]).toBeCloseTo(3 * a, 12);
    expect(box[1]).toBeCloseTo(2 * a, 12);
    expect(box[2]).toBeCloseTo(4 * a, 12);
    expect(n / (box[0]! * box[1]! * box[2]!)).toBeCloseTo(density, 12);
    let rmin = Infinity;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) rmin = Math.min(rmin, dist(q, 3, i, j, box));
    expect(rmin).toBeCloseTo(a / Math.SQRT2, 12);
    for (let k = 0; k < q.length; k++) expect(q[k]! >= 0 && q[k]! < box[k % 3]!).toBe(true);
  });

  it('hexagonal (2-D): 2 atoms per cell, the density, nearest neighbours at a, 6 of them', () => {
    const { q, box } = hexagonal({ cells: [6, 4], density: 0.8 });
    const n = q.length / 2;
    expect(n).toBe(48);
    expect(n / (box[0]! * box[1]!)).toBeCloseTo(0.8, 12);
    const a = Math.sqrt(2 / (Math.sqrt(3) * 0.8));
    let rmin = Infinity;
    for (let j = 1; j < n; j++) rmin = Math.min(rmin, dist(q, 2, 0, j, box));
    expect(rmin).toBeCloseTo(a, 12);
    let neighbours = 0;
    for (let j = 1; j < n; j++) if (Math.abs(dist(q, 2, 0, j, box) - a) < 1e-9) neighbours++;
    expect(neighbours).toBe(6);
    expectCode(() => hexagonal({ cells: [1, 0], density: 1 }), 'SPEC');
  });

  it('refuses bad cells and densities', () => {
    expectCode(() => fcc({ cells: [0, 1, 1], density: 1 }), 'SPEC');
    expectCode(() => fcc({ cells: [1, 1, 1], density: -1 }), 'SPEC');
  });
});

describe('maxwellBoltzmann', () => {
  it('has zero total momentum, the exact temperature, and is deterministic by seed', () => {
    const n = 200, dim = 3, T = 0.72;
    const p = maxwellBoltzmann({ n, dim, temperature: T, mass: 2, seed: 7 });
    const sys = particles({ n, dim, mass: 2 });
    for (const c of sys.momentum(p)) expect(Math.abs(c)).toBeLessThan(1e-12);
    expect(sys.temperature(p)).toBeCloseTo(T, 13);
    let ke = 0;
    for (const x of p) ke += x * x / 4;
    expect(2 * ke / (dim * (n - 1))).toBeCloseTo(T, 13);
    expect(maxwellBoltzmann({ n, dim, temperature: T, mass: 2, seed: 7 })).toEqual(p);
    expect(maxwellBoltzmann({ n, dim, temperature: T, mass: 2, seed: 8 })).not.toEqual(p);
  });

  it('gives ⟨p²⟩ = m·T per component over many particles, per particle mass', () => {
    const n = 20000, dim = 2, T = 1.5;
    const masses = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 4));
    const p = maxwellBoltzmann({ n, dim, temperature: T, mass: masses, seed: 1 });
    for (const [m, parity] of [[1, 0], [4, 1]] as const) {
      for (let k = 0; k < dim; k++) {
        let s = 0, c = 0;
        for (let i = parity; i < n; i += 2) { s += p[i * dim + k]! ** 2; c++; }
        expect(s / c / (m * T)).toBeCloseTo(1, 1); // ±5 %; sampling error ≈ √(2/10⁴) ≈ 1.4 %
      }
    }
  });
});

describe('particles: energy, forces, integration', () => {
  const open = () => particles({
    n: 4, dim: 3, mass: [1, 2, 1.5, 1],
    pair: { V: LJ, params: { eps: 0.8, sig: 1.1 } },
    bonds: { edges: [[0, 1], [2, 3]], V: 'k/2*(r - r0)^2', params: { k: 50, r0: 1.2 } },
    external: { V: 'g*z + c*x^2', params: { g: 0.1, c: 0.05 } },
  });
  const q0 = [0, 0, 0, 1.2, 0.1, 0, 0.1, 1.3, 0.2, 1.1, 1.2, -0.3];
  const p0 = [0.1, -0.2, 0.3, 0.2, 0.1, -0.1, -0.3, 0.05, 0.1, 0, 0.1, -0.3];

  function openEnergy(q: number[], p: number[]): number {
    const m = [1, 2, 1.5, 1];
    let e = 0;
    for (let i = 0; i < 4; i++) {
      e += (p[3 * i]! ** 2 + p[3 * i + 1]! ** 2 + p[3 * i + 2]! ** 2) / (2 * m[i]!);
      e += 0.1 * q[3 * i + 2]! + 0.05 * q[3 * i]! ** 2;
      for (let j = i + 1; j < 4; j++) e += lj(dist(q, 3, i, j), 0.8, 1.1);
    }
    for (const [i, j] of [[0, 1], [2, 3]]) e += 25 * (dist(q, 3, i!, j!) - 1.2) ** 2;
    return e;
  }

  it('open boundaries: energy equals the hand-written formula, gradient equals finite differences', () => {
    const sys = open();
    const h = sys.hamiltonian;
    expect(h.dof).toBe(12);
    expect(h.energy(q0, p0)).toBeCloseTo(openEnergy(q0, p0), 12);
    expect(h.paramsByName()).toEqual({ eps: 0.8, sig: 1.1, k: 50, r0: 1.2, g: 0.1, c: 0.05 });
    const { dq, dp } = h.gradient(q0, p0);
    const eps = 1e-6;
    for (let k = 0; k < 12; k++) {
      const a = [...q0], b = [...q0];
      a[k]! += eps; b[k]! -= eps;
      expect(dq[k]).toBeCloseTo((openEnergy(a, p0) - openEnergy(b, p0)) / (2 * eps), 5);
      const m = [1, 2, 1.5, 1][Math.floor(k / 3)]!;
      expect(dp[k]).toBeCloseTo(p0[k]! / m, 14);
    }
    expect(h.isSeparable).toBe(true);
  });

  it('periodic box: minimum image and cutoff, truncated and shifted, against the hand-written sum', () => {
    const box = [5, 6, 5.5];
    // Pairs across the faces, one pair beyond the cutoff, coordinates outside the box (up to 2 boxes away).
    const q = [0.2, 0.3, 0.1, 4.9, 5.8, 5.3, 2.5, 3.0, 2.7, -4.6, 14.5, 0.4];
    const p = new Array(12).fill(0);
    for (const shift of [false, true]) {
      const sys = particles({ n: 4, dim: 3, mass: 1, box, pair: { V: (r) => mul(4, sub(powi(r, -12), powi(r, -6))), cutoff: 2.5, shift } });
      let e = 0;
      for (let i = 0; i < 4; i++) {
        for (let j = i + 1; j < 4; j++) {
          const r = dist(q, 3, i, j, box);
          if (r < 2.5) e += lj(r) - (shift ? lj(2.5) : 0);
        }
      }
      expect(e).not.toBe(0);
      expect(sys.hamiltonian.energy(q, p)).toBeCloseTo(e, 12);
      const { dq } = sys.hamiltonian.gradient(q, p);
      for (let k = 0; k < 12; k++) {
        const a = [...q], b = [...q];
        a[k]! += 1e-6; b[k]! -= 1e-6;
        expect(dq[k]).toBeCloseTo((sys.hamiltonian.energy(a, p) - sys.hamiltonian.energy(b, p)) / 2e-6, 5);
      }
    }
    // An external field as a DSL function of the position, summed over the particles.
    const field = particles({ n: 2, dim: 3, mass: 1, external: { V: (x) => mul(param('g'), index(x, 2)), params: { g: 0.5 } } });
    expect(field.hamiltonian.energy([0, 0, 1, 0, 0, 3], [1, 0, 0, 0, 0, 0])).toBeCloseTo(0.5 + 0.5 * 4, 14);
  });

  it('leapfrog conserves total momentum to rounding and energy to O(dt²); angular momentum in open space', async () => {
    // 8 particles on a jittered simple cubic lattice in a periodic box (small, so the unrolled sums compile fast).
    const n = 8, box = [2.4, 2.4, 2.4];
    const rng = createRandom(3);
    const qj = Float64Array.from({ length: 3 * n }, (_, k) => 1.2 * ((Math.floor(k / 3) >> (k % 3)) & 1) + 0.1 * (rng.next() - 0.5));
    const p = maxwellBoltzmann({ n, dim: 3, temperature: 1, mass: 1, seed: 2 });
    const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: Math.min(...box) / 2, shift: true } });
    const h = sys.hamiltonian;
    const e0 = h.energy(qj, p);
    const drift: number[] = [];
    for (const dt of [0.004, 0.002]) {
      const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
      const out = await st.run({ q0: qj, p0: p, steps: Math.round(0.2 / dt), record: 1 });
      let worst = 0;
      for (let f = 0; f < out.record!.count; f++) {
        const pf = out.record!.p.subarray(f * 3 * n, (f + 1) * 3 * n);
        for (const c of sys.momentum(pf)) expect(Math.abs(c)).toBeLessThan(1e-12);
        worst = Math.max(worst, Math.abs(h.energy(out.record!.q.subarray(f * 3 * n, (f + 1) * 3 * n), pf) - e0));
      }
      drift.push(worst);
      st.dispose();
    }
    expect(drift[0]).toBeLessThan(1e-2 * Math.abs(e0));
    expect(drift[0]! / drift[1]!).toBeGreaterThan(3);
    expect(drift[0]! / drift[1]!).toBeLessThan(5);

    const free = particles({ n: 3, dim: 2, mass: 1, pair: { V: LJ, params: { eps: 1, sig: 1 } } });
    const q2 = [0, 0, 1.1, 0.1, 0.4, 1.0], p2 = [0.1, 0, -0.2, 0.3, 0.1, -0.2];
    const L0 = free.angularMomentum(q2, p2);
    expect(L0.length).toBe(1);
    expect(L0[0]).toBeCloseTo(1.1 * 0.3 - 0.1 * -0.2 + 0.4 * -0.2 - 1.0 * 0.1, 14);
    const st2 = await compile(free.hamiltonian, { method: 'leapfrog', dt: 0.001, backend: 'cpu' });
    const r2 = await st2.run({ q0: q2, p0: p2, steps: 500 });
    expect(free.angularMomentum(r2.q, r2.p)[0]).toBeCloseTo(L0[0]!, 12);
    const L3 = open().angularMomentum(q0, p0);
    let Lz = 0;
    for (let i = 0; i < 4; i++) Lz += q0[3 * i]! * p0[3 * i + 1]! - q0[3 * i + 1]! * p0[3 * i]!;
    expect(L3.length).toBe(3);
    expect(L3[2]).toBeCloseTo(Lz, 14);
  });
});

describe('particles: long runs', () => {
  it('leapfrog keeps the energy of a 2-D LJ liquid (32 particles, periodic) bounded over 10⁵ steps: no drift', async () => {
    // Force-shifted LJ (V and V′ continuous at r_c = 2.5), so the check is about the integrator, not a force jump.
    const rc = 2.5, Vc = 4 * (rc ** -12 - rc ** -6), Fc = -48 * rc ** -13 + 24 * rc ** -7;
    const { q, box } = hexagonal({ cells: [4, 4], density: 0.7 });
    const n = q.length / 2;
    const sys = particles({ n, dim: 2, mass: 1, box, pair: { V: `4*((1/r)^12 - (1/r)^6) - (${Vc}) - (r - ${rc})*(${Fc})`, cutoff: rc } });
    const h = sys.hamiltonian;
    const st = await compile(h, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
    const melted = await st.run({ q0: q, p0: maxwellBoltzmann({ n, dim: 2, temperature: 1, mass: 1, seed: 1 }), steps: 2000 });
    const out = await st.run({ q0: melted.q, p0: melted.p, steps: 100_000, record: 100 });
    st.dispose();
    const e0 = h.energy(melted.q, melted.p), rec = out.record!;
    let first = 0, second = 0;
    for (let k = 0; k < rec.count; k++) {
      const error = Math.abs(h.energy(rec.q.subarray(2 * n * k, 2 * n * (k + 1)), rec.p.subarray(2 * n * k, 2 * n * (k + 1))) - e0) / Math.abs(e0);
      if (k < rec.count / 2) first = Math.max(first, error);
      else second = Math.max(second, error);
    }
    expect(sys.temperature(out.p)).toBeGreaterThan(0.5); // a liquid, not a frozen lattice
    expect(first).toBeGreaterThan(1e-5);
    expect(Math.max(first, second)).toBeLessThan(3e-3);
    expect(second).toBeLessThan(1.3 * first);
    for (const c of sys.momentum(out.p)) expect(Math.abs(c)).toBeLessThan(1e-11);
  }, 60_000);
});

describe('particles: generated code does not grow with n', () => {
  it('the CPU leapfrog source for 1 000 and 50 000 LJ particles differs only in numeric literals', async () => {
    const source = async (n: number) => {
      const side = Math.cbrt(n / 0.8442);
      const sys = particles({ n, dim: 3, mass: 1, box: [side, side, side], pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 2.5 } });
      const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
      st.dispose();
      return st.source!;
    };
    const [small, large] = [await source(1000), await source(50_000)];
    const shape = (text: string) => text.replace(/\d+(\.\d+)?(e[-+]?\d+)?/g, '#');
    expect(small.split('\n').length).toBe(large.split('\n').length);
    expect(shape(small).length).toBe(shape(large).length); // operand order may differ, never the amount of code
    expect(large.length).toBeLessThan(small.length + 2000);
  });
});

describe('particles: pressure', () => {
  it('an ideal gas has P = 2·KE/(dim·V) = (n − 1)·T/V (temperature counts dim·(n − 1) dof)', () => {
    const n = 50, box = [3, 4, 5];
    const sys = particles({ n, dim: 3, mass: 1.3, box });
    const q = Float64Array.from({ length: 3 * n }, (_, k) => (k * 0.37) % 3);
    const p = maxwellBoltzmann({ n, dim: 3, temperature: 2, mass: 1.3, seed: 4 });
    expect(sys.pressure(q, p)).toBeCloseTo((n - 1) * 2 / 60, 12);
  });

  it('the virial equals −dU/dλ of the uniformly scaled configuration and box', () => {
    const { q, box } = fcc({ cells: [2, 2, 2], density: 0.8 });
    const n = q.length / 3;
    const rng = createRandom(5);
    const qj = q.map((x) => x + 0.1 * (rng.next() - 0.5));
    const p = new Float64Array(3 * n);
    const U = (lambda: number) => particles({
      n, dim: 3, mass: 1, box: box.map((L) => L * lambda),
      pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 1.6 },
      bonds: { edges: [[0, 1], [5, 9]], V: 'k/2*(r-1)^2', params: { k: 10 } },
    }).hamiltonian.energy(qj.map((x) => x * lambda), p);
    const h = 1e-6;
    const virial = -(U(1 + h) - U(1 - h)) / (2 * h);
    const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 1.6 }, bonds: { edges: [[0, 1], [5, 9]], V: 'k/2*(r-1)^2', params: { k: 10 } } });
    const V = box[0]! * box[1]! * box[2]!;
    expect(sys.pressure(qj, p) * 3 * V).toBeCloseTo(virial, 5);
  });
});

describe('particles: the LAMMPS lj benchmark state', () => {
  it('fcc ρ* = 0.8442, r_c = 2.5 (truncated): E_pair/n and the pressure of LAMMPS\'s step-0 thermo line', () => {
    // LAMMPS bench/in.lj, step 0: Temp 1.44, E_pair -6.7733681, Press -5.0197073 (32 000 atoms). The lattice sums
    // within 2.5σ are the same for 108 atoms; only the kinetic part of P carries the (n − 1)/n of the dof count.
    const { q, box } = fcc({ cells: [3, 3, 3], density: 0.8442 });
    const n = q.length / 3;
    const sys = particles({ n, dim: 3, mass: 1, box, pair: { V: '4*((1/r)^12 - (1/r)^6)', cutoff: 2.5 } });
    const p = maxwellBoltzmann({ n, dim: 3, temperature: 1.44, mass: 1, seed: 0 });
    expect((sys.hamiltonian.energy(q, p) - sys.kineticEnergy(p)) / n).toBeCloseTo(-6.7733681, 6);
    const kinetic = (T: number, N: number) => 0.8442 * T * (N - 1) / N;
    expect(sys.pressure(q, p)).toBeCloseTo(-5.0197073 - kinetic(1.44, 32000) + kinetic(1.44, n), 6);
  }, 60_000);
});

describe('radialDistribution', () => {
  it('is ≈ 1 for a uniform random gas (several frames averaged) and peaks at a/√2 for fcc', () => {
    const n = 300, box = [10, 10, 10], frames = 4;
    const rng = createRandom(11);
    const traj = Float64Array.from({ length: frames * n * 3 }, () => 10 * rng.next());
    const { r, g } = radialDistribution(traj, { n, dim: 3, box, bins: 10, rMax: 5 });
    expect(r[0]).toBeCloseTo(0.25, 14);
    for (let b = 3; b < 10; b++) expect(Math.abs(g[b]! - 1)).toBeLessThan(0.15);
    let mean = 0;
    for (let b = 5; b < 10; b++) mean += g[b]! / 5;
    expect(mean).toBeCloseTo(1, 1);
    // Same result for an array of frames.
    const split = Array.from({ length: frames }, (_, f) => traj.subarray(f * n * 3, (f + 1) * n * 3));
    expect(radialDistribution(split, { n, dim: 3, box, bins: 10, rMax: 5 }).g).toEqual(g);

    const lattice = fcc({ cells: [4, 4, 4], density: 0.8442 });
    const a = Math.cbrt(4 / 0.8442);
    const fg = radialDistribution(lattice.q, { n: 256, dim: 3, box: lattice.box, bins: 100, rMax: 3 });
    const peak = fg.g.indexOf(Math.max(...fg.g));
    expect(Math.abs(fg.r[peak]! - a / Math.SQRT2)).toBeLessThanOrEqual(0.015 + 1e-12);
    for (let b = 0; b < 100; b++) if (fg.r[b]! < a / Math.SQRT2 - 0.03) expect(fg.g[b]).toBe(0);
  });
});

describe('unrolled pair sum', () => {
  it('gets the minimum image for displacements up to 2.4 box lengths, ties included', () => {
    const qv = input('q', 'q', [2]);
    const box = [3];
    const E = pairSum(qv, { n: 2, dim: 1, potential: (r: Expr) => mul(r, r), box });
    const h = new Hamiltonian({ H: E, q: qv, p: input('p', 'p', [2]) });
    for (const d of [0.3, 1.4, 1.5, -1.5, 1.6, 2.9, 4.4, 4.6, -5.9, 6.2, 7.1]) {
      const want = dist([0, d], 1, 0, 1, box) ** 2;
      expect(h.energy([0, d], [0, 0])).toBeCloseTo(want, 12);
    }
  });
});

describe('particles: bad input', () => {
  it('refuses masses, boxes, cutoffs, edges, lengths, overlaps and parameter clashes with stable codes', () => {
    expectCode(() => particles({ n: 2, dim: 3, mass: 0 }), 'SPEC');
    expectCode(() => particles({ n: 2, dim: 3, mass: [1, -1] }), 'SPEC', /particle 1/);
    expectCode(() => particles({ n: 2, dim: 3, mass: 1, box: [1, 0, 1] }), 'SPEC');
    expectCode(() => particles({ n: 2, dim: 3, mass: 1, box: [4, 4, 4], pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 2.5 } }), 'OPTION', /half/);
    expectCode(() => particles({ n: 2, dim: 3, mass: 1, bonds: { edges: [[0, 2]], V: 'r^2' } }), 'SPEC');
    expectCode(() => particles({ n: 2, dim: 3, mass: 1, bonds: { edges: [[1, 1]], V: 'r^2' } }), 'SPEC', /itself/);
    expectCode(() => particles({ n: 2, dim: 3, mass: 1, pair: { V: 'k*r', params: { k: 1 } }, bonds: { edges: [[0, 1]], V: 'k*r^2', params: { k: 2 } } }), 'SPEC', /'k'/);
    const sys = particles({ n: 3, dim: 2, mass: 1, box: [6, 6], pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 2.5 } });
    expectCode(() => sys.hamiltonian.energy([0, 0, 1], [0, 0, 0, 0, 0, 0]), 'INPUT');
    expectCode(() => sys.temperature([1, 2]), 'INPUT');
    expectCode(() => sys.pressure([0, 0, 1, 1], new Array(6).fill(0)), 'INPUT');
    const overlapping = [0, 0, 1.5, 1, 7.5, 1];
    expectCode(() => sys.hamiltonian.energy(overlapping, new Array(6).fill(0)), 'NONFINITE', /particles 1 and 2/);
    expectCode(() => sys.pressure(overlapping, new Array(6).fill(0)), 'NONFINITE', /particles 1 and 2/);
    expect(sys.overlaps(overlapping)).toEqual([1, 2]);
    expectCode(() => sys.angularMomentum(overlapping, new Array(6).fill(0)), 'OPTION');
    expectCode(() => particles({ n: 2, dim: 2, mass: 1 }).pressure([0, 0, 1, 1], [0, 0, 0, 0]), 'OPTION');
    expectCode(() => radialDistribution([0, 0, 1, 1], { n: 2, dim: 2, box: [4, 4], bins: 10, rMax: 2.5 }), 'OPTION');
    expectCode(() => radialDistribution([0, 0, 1, 1, 2], { n: 2, dim: 2, box: [4, 4], bins: 10, rMax: 2 }), 'INPUT');
  });
});

describe('particles: bad input (the issue\'s list), each naming the value', () => {
  const details = (f: () => unknown): Record<string, unknown> => {
    try {
      f();
    } catch (e) {
      return (e as DarbouxError).details as Record<string, unknown>;
    }
    throw new Error('expected a refusal');
  };

  it('masses ≤ 0 or not finite → SPEC naming the particle and the mass', () => {
    expectCode(() => particles({ n: 2, dim: 3, mass: 0 }), 'SPEC', /particle 0 is 0\b/);
    expectCode(() => particles({ n: 3, dim: 2, mass: [1, 2, -0.5] }), 'SPEC', /particle 2 is -0\.5/);
    expectCode(() => particles({ n: 2, dim: 2, mass: [1, Number.NaN] }), 'SPEC', /particle 1 is NaN/);
    expectCode(() => particles({ n: 2, dim: 2, mass: [1, 2, 3] }), 'SPEC', /2 numbers/);
    expect(details(() => particles({ n: 3, dim: 2, mass: [1, 2, -0.5] }))).toEqual({ particle: 2, mass: -0.5 });
  });

  it('a box side ≤ 0 or not finite → SPEC naming the side and its value', () => {
    expectCode(() => particles({ n: 2, dim: 3, mass: 1, box: [4, 0, 4] }), 'SPEC', /side 1 is 0\b/);
    expectCode(() => particles({ n: 2, dim: 2, mass: 1, box: [-3, 4] }), 'SPEC', /side 0 is -3/);
    expectCode(() => particles({ n: 2, dim: 2, mass: 1, box: [3, Infinity] }), 'SPEC', /side 1 is Infinity/);
    expectCode(() => particles({ n: 2, dim: 3, mass: 1, box: [3, 3] }), 'SPEC', /3 side lengths/);
    expect(details(() => particles({ n: 2, dim: 2, mass: 1, box: [-3, 4] }))).toMatchObject({ side: 0 });
  });

  it('a cutoff above half the smallest box side → OPTION naming the cutoff and the half side', () => {
    const pair = { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 2.5 };
    expectCode(() => particles({ n: 2, dim: 3, mass: 1, box: [6, 4.8, 6], pair }), 'OPTION', /cutoff 2\.5 is above half the smallest box side \(2\.4\)/);
    expect(() => particles({ n: 2, dim: 3, mass: 1, box: [6, 5, 6], pair })).not.toThrow(); // exactly half: allowed
    expectCode(() => particles({ n: 2, dim: 2, mass: 1, box: [6, 6], pair: { V: LJ, params: { eps: 1, sig: 1 } } }), 'OPTION', /needs a pair\.cutoff/);
    expectCode(() => particles({ n: 2, dim: 2, mass: 1, box: [6, 6], pair: { ...pair, cutoff: -1 } }), 'OPTION', /-1/);
  });

  it('edges out of range, not integers, or joining a particle to itself → SPEC naming the edge', () => {
    const bonds = (edges: [number, number][]) => ({ edges, V: 'r^2' });
    expectCode(() => particles({ n: 3, dim: 2, mass: 1, bonds: bonds([[0, 1], [1, 3]]) }), 'SPEC', /edges\[1\] = \[1,3\].*\[0, 3\)/);
    expectCode(() => particles({ n: 3, dim: 2, mass: 1, bonds: bonds([[-1, 0]]) }), 'SPEC', /edges\[0\] = \[-1,0\]/);
    expectCode(() => particles({ n: 3, dim: 2, mass: 1, bonds: bonds([[0, 1.5]]) }), 'SPEC', /edges\[0\] = \[0,1\.5\]/);
    expectCode(() => particles({ n: 3, dim: 2, mass: 1, bonds: bonds([[0, 1], [2, 2]]) }), 'SPEC', /edges\[1\] joins particle 2 to itself/);
    expect(details(() => particles({ n: 3, dim: 2, mass: 1, bonds: bonds([[0, 1], [2, 2]]) }))).toEqual({ edge: 1 });
  });

  it('overlapping particles (r = 0) → NONFINITE naming the pair, from energy, gradient and a compiled run', async () => {
    const sys = particles({ n: 4, dim: 2, mass: 1, box: [6, 6], pair: { V: LJ, params: { eps: 1, sig: 1 }, cutoff: 2.5 } });
    // Particles 1 and 3 coincide through the periodic image (x differs by one box length).
    const q = [0, 0, 1.5, 1, 3, 3, 7.5, 1], p = new Array(8).fill(0);
    expect(sys.overlaps(q)).toEqual([1, 3]);
    expectCode(() => sys.hamiltonian.energy(q, p), 'NONFINITE', /particles 1 and 3/);
    expectCode(() => sys.hamiltonian.gradient(q, p), 'NONFINITE', /particles 1 and 3/);
    const st = await compile(sys.hamiltonian, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
    const fine = [0, 0, 1.5, 1, 3, 3, 4.5, 4];
    // In a batch, the second trajectory is the overlapping one.
    const refusal = await st.run({ q0: [...fine, ...q], p0: [...p, ...p], batch: 2, steps: 5 }).then(() => undefined, (e: unknown) => e);
    st.dispose();
    expect(refusal).toBeInstanceOf(DarbouxError);
    expect((refusal as DarbouxError).code).toBe('NONFINITE');
    expect((refusal as DarbouxError).message).toMatch(/particles 1 and 3 overlap/);
    expect((refusal as DarbouxError).details).toMatchObject({ pair: [1, 3] });
  });
});

describe('particles on the IR reductions vs the unrolled reference sums', () => {
  it('energy and forces agree to 1e-12 on a random periodic LJ system with cutoff and shift, and the graph does not grow with n', async () => {
    const { edgeSum: unrolledEdges, pairSum: unrolledPairs } = await import('./unrolled-sums.js');
    const { add: plus, dot } = await import('../../src/index.js');
    const random = createRandom(7);
    const n = 12, dim = 3, box = [5.5, 6, 6.5];
    const q = Float64Array.from({ length: n * dim }, (_, k) => (random.next() - 0.5) * 2 * box[k % dim]!);
    const p = Float64Array.from({ length: n * dim }, () => random.next() - 0.5);
    const potential = (r: Expr) => mul(mul(4, param('eps')), sub(powi(powi(r, -1), 12), powi(powi(r, -1), 6)));
    const bond = (r: Expr) => mul(50, powi(sub(r, 1.1), 2));
    const edges: [number, number][] = [[0, 1], [1, 2], [5, 9]];
    const sys = particles({ n, dim, mass: 1, box, pair: { V: potential, params: { eps: 0.8 }, cutoff: 2.5, shift: true }, bonds: { edges, V: bond } });
    const qv = sys.hamiltonian.q, pv = sys.hamiltonian.p;
    const H = plus(plus(mul(0.5, dot(pv, pv)), unrolledPairs(qv, { n, dim, potential, cutoff: 2.5, shift: true, box })), unrolledEdges(qv, { n, dim, edges, potential: bond, box }));
    const reference = new Hamiltonian({ H, q: qv, p: pv, params: { eps: 0.8 } });
    const e = sys.hamiltonian.energy(q, p), eRef = reference.energy(q, p);
    expect(Math.abs(e - eRef)).toBeLessThan(1e-12 * Math.max(1, Math.abs(eRef)));
    const g = sys.hamiltonian.gradient(q, p).dq, gRef = reference.gradient(q, p).dq;
    const scale = Math.max(...Array.from(gRef, Math.abs));
    for (let k = 0; k < n * dim; k++) expect(Math.abs(g[k]! - gRef[k]!)).toBeLessThan(1e-12 * scale);
    const { graphSize } = await import('../../src/index.js');
    const big = particles({ n: 5000, dim, mass: 1, box: [40, 40, 40], pair: { V: potential, params: { eps: 0.8 }, cutoff: 2.5, shift: true } });
    const small = particles({ n: 8, dim, mass: 1, box: [40, 40, 40], pair: { V: potential, params: { eps: 0.8 }, cutoff: 2.5, shift: true } });
    expect(graphSize([big.hamiltonian.H])).toBe(graphSize([small.hamiltonian.H]));
  });
});
