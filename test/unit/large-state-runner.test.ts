/**
 * The CPU runners of long states (dof > 64, arrays and loops): constant source size in n, the same trajectory as
 * a hand-written leapfrog around a compiled force, momentum conservation, the closing force computed once per
 * step (carried), implicit midpoint (array unknowns) against its defining equations, and the backward runners
 * (st.vjp, leapfrog and midpoint) against finite differences.
 */
import { describe, expect, it } from 'vitest';
import { add, div, dot, input, mul, powi, sub } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { compile } from '../../src/backends/compile.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { gradient } from '../../src/autodiff/vjp.js';
import { jitteredLattice } from './particle-fixtures.js';

const lj = (r: Expr) => mul(4, sub(powi(div(1, r), 12), powi(div(1, r), 6)));

/** n LJ particles in a periodic 3-D box of side L on a jittered cubic lattice, unit masses, cutoff min(2.5, L/2). */
function ljSystem(n: number, L: number) {
  const dim = 3;
  const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
  const V = pairSum(q, { n, dim, potential: lj, box: [L, L, L], cutoff: Math.min(2.5, L / 2), shift: false });
  const h = new Hamiltonian({ H: add(mul(0.5, dot(p, p)), V), q, p });
  const { q0, p0 } = jitteredLattice(n, dim, L, 7);
  return { h, q, V, q0, p0 };
}

/** Leapfrog (kick–drift–kick) written out over a compiled ∇V. */
function handLeapfrog(q: Expr, V: Expr, q0: Float64Array, p0: Float64Array, dt: number, steps: number) {
  const force = compileJs([q], [gradient(V, [q])[0]!]);
  const qs = Float64Array.from(q0), ps = Float64Array.from(p0), g = new Float64Array(q0.length);
  const half = 0.5 * dt;
  force([qs], [g]);
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < qs.length; i++) { ps[i] = ps[i]! - half * g[i]!; qs[i] = qs[i]! + dt * ps[i]!; }
    force([qs], [g]);
    for (let i = 0; i < qs.length; i++) ps[i] = ps[i]! - half * g[i]!;
  }
  return { q: qs, p: ps };
}

const momentum = (p: Float64Array) => [0, 1, 2].map((a) => p.reduce((s, x, i) => (i % 3 === a ? s + x : s), 0));

describe('CPU runners of long states', () => {
  it('the leapfrog runner source has the same size for 200 and 2 000 particles (only the numbers differ)', async () => {
    const source = async (n: number) => {
      const st = await compile(ljSystem(n, 30).h, { method: 'leapfrog', dt: 0.005, backend: 'cpu' });
      const s = st.source;
      st.dispose();
      return s;
    };
    const small = await source(200), large = await source(2000);
    // Operands of commutative ops may come in another order (interning order), the length may not change.
    expect(large.replace(/\d+/g, '#').length).toBe(small.replace(/\d+/g, '#').length);
    expect(large.length - small.length).toBeLessThan(40); // one more digit in a few sizes
    // Far under V8's optimisation bound (OPTIMIZABLE_SOURCE_LENGTH, 60 000) whatever n: the cell-list pair loop is emitted twice (before and inside the step loop).
    expect(large.length).toBeLessThan(20_000);
  });

  it('leapfrog over 100 particles (dof 300) matches a hand-written leapfrog around compileJs(∇V) to 1e-12, and conserves momentum', async () => {
    const { h, q, V, q0, p0 } = ljSystem(100, 5.2);
    const dt = 0.002, steps = 40;
    const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu' });
    // The closing force is carried: the step loop evaluates the pair loop (one Math.sqrt) once.
    const stepLoop = st.source.slice(st.source.indexOf('for (let s = sFrom; s < sTo; s++)'));
    expect(stepLoop.match(/Math\.sqrt/g)?.length).toBe(1);
    const got = await st.run({ q0, p0, steps });
    const want = handLeapfrog(q, V, q0, p0, dt, steps);
    const scale = Math.max(...want.q.map(Math.abs), ...want.p.map(Math.abs));
    for (let i = 0; i < q0.length; i++) {
      expect(Math.abs(got.q[i]! - want.q[i]!)).toBeLessThan(1e-12 * scale);
      expect(Math.abs(got.p[i]! - want.p[i]!)).toBeLessThan(1e-12 * scale);
    }
    const P0 = momentum(p0), P1 = momentum(got.p);
    for (let a = 0; a < 3; a++) expect(Math.abs(P1[a]! - P0[a]!)).toBeLessThan(1e-12);
    // Recording goes through the same loops: the last recorded state is the final one.
    const rec = await st.run({ q0, p0, steps, record: 10 });
    expect(rec.record!.count).toBe(4);
    expect(Array.from(rec.record!.q.slice(-q0.length))).toEqual(Array.from(got.q));
    expect(Array.from(rec.record!.p.slice(-q0.length))).toEqual(Array.from(got.p));
    st.dispose();
  });

  it('a non-finite long state is reported (the finiteness test is a loop)', async () => {
    const { h, q0, p0 } = ljSystem(30, 4);
    q0[3] = q0[0]!; q0[4] = q0[1]!; q0[5] = q0[2]!; // particles 0 and 1 overlap: r = 0
    const st = await compile(h, { method: 'leapfrog', dt: 0.002, backend: 'cpu' });
    await expect(st.run({ q0, p0, steps: 5 })).rejects.toMatchObject({ code: 'NONFINITE' });
    st.dispose();
  });

  for (const method of ['leapfrog', 'midpoint'] as const) for (const memory of ['reverse', 'store'] as const) it(`st.vjp of ${method} over 24 particles (dof 72, ${memory}) vs finite differences`, async () => {
    const { h, q0, p0 } = ljSystem(24, 3.6);
    const dt = 0.002, steps = 10;
    const st = await compile(h, { method, dt, backend: 'cpu' });
    const dq = Float64Array.from(q0, (_, i) => Math.cos(i)), dp = Float64Array.from(q0, (_, i) => Math.sin(2 * i));
    const g = await st.vjp({ q0, p0, steps, dq, dp, memory });
    const loss = async (q: Float64Array) => {
      const r = await st.run({ q0: q, p0, steps });
      return r.q.reduce((a, x, i) => a + x * dq[i]!, 0) + r.p.reduce((a, x, i) => a + x * dp[i]!, 0);
    };
    const e = 1e-6, v = Float64Array.from(q0, (_, i) => Math.sin(3 * i + 1));
    const fd = ((await loss(q0.map((x, i) => x + e * v[i]!))) - (await loss(q0.map((x, i) => x - e * v[i]!)))) / (2 * e);
    const ad = g.dq0.reduce((a, x, i) => a + x * v[i]!, 0);
    expect(Math.abs(ad - fd) / Math.abs(fd)).toBeLessThan(1e-6);
    st.dispose();
  });
});

describe('implicit midpoint over a long state (array unknowns)', () => {
  it('100 particles: constant-size source, and each step satisfies the midpoint equations with a compiled ∇V to 1e-12', async () => {
    const { h, q, V, q0, p0 } = ljSystem(100, 5.2);
    const dt = 0.002;
    const st = await compile(h, { method: 'midpoint', dt, backend: 'cpu' });
    expect(st.source.length).toBeLessThan(15_000);
    const { q: q1, p: p1 } = await st.run({ q0, p0, steps: 1 });
    const force = compileJs([q], [gradient(V, [q])[0]!]);
    const g = new Float64Array(q0.length);
    force([q0.map((x, i) => 0.5 * (x + q1[i]!))], [g]);
    const scale = Math.max(...p0.map(Math.abs), ...g.map(Math.abs));
    for (let i = 0; i < q0.length; i++) {
      expect(Math.abs(q1[i]! - q0[i]! - dt * 0.5 * (p0[i]! + p1[i]!))).toBeLessThan(1e-12 * scale);
      expect(Math.abs(p1[i]! - p0[i]! + dt * g[i]!)).toBeLessThan(1e-12 * scale);
    }
    st.dispose();
  });
});
