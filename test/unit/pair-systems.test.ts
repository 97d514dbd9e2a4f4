/** Pair reductions inside Hamiltonians: gradients, HVPs, leapfrog, midpoint, exact Jacobians and st.vjp on the CPU. */
import { describe, expect, it } from 'vitest';
import { add, div, dot, input, mul, param, powi, sub, index } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { siteSum } from '../../src/ir/ops/sites.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { compile } from '../../src/backends/compile.js';
import { symplecticDefect } from '../../src/integrators/jacobian.js';
import { graphSize } from '../../src/ir/traverse.js';
import { jitteredLattice } from './particle-fixtures.js';

const eps = param('eps'), sig = param('sig'), gz = param('gz');
const lj = (r: Expr) => mul(mul(4, eps), sub(powi(div(sig, r), 12), powi(div(sig, r), 6)));

/** An LJ system on a jittered lattice, periodic, cutoff 2.5σ-ish, plus an optional external field. */
function ljSystem(n: number, dim: number, L: number, options: { cutoff?: number; external?: boolean } = {}) {
  const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
  const box = Array(dim).fill(L) as number[];
  let V: Expr = pairSum(q, { n, dim, potential: lj, box, cutoff: options.cutoff ?? L / 2, shift: true });
  if (options.external) V = add(V, siteSum(q, { n, dim, body: (x) => mul(gz, index(x, dim - 1)) }));
  const H = add(mul(0.5, dot(p, p)), V);
  const h = new Hamiltonian({ H, q, p, params: { eps: 1, sig: 1, gz: 0.1 } });
  const { q0, p0 } = jitteredLattice(n, dim, L, 1);
  return { h, q0, p0, box };
}

const total = (p: Float64Array, n: number, dim: number) => Array.from({ length: dim }, (_, a) => { let s = 0; for (let i = 0; i < n; i++) s += p[i * dim + a]!; return s; });

describe('pair sums in Hamiltonians (CPU)', () => {
  it('the Hamiltonian finds eps and sig through the pair sum; separable; HVP vs finite differences', () => {
    const { h, q0, p0 } = ljSystem(6, 2, 4.2, { external: true });
    expect(h.params.map((x) => x.attrs.name).sort()).toEqual(['eps', 'gz', 'sig']);
    expect(h.isSeparable).toBe(true);
    const v = Float64Array.from(q0, (_, i) => Math.sin(i + 1));
    const hv = h.hessianVectorProduct(q0, p0, v, new Float64Array(v.length)).dq;
    const e = 1e-6;
    const gp = h.gradient(q0.map((x, i) => x + e * v[i]!), p0).dq, gm = h.gradient(q0.map((x, i) => x - e * v[i]!), p0).dq;
    const fd = gp.map((x, i) => (x - gm[i]!) / (2 * e));
    const err = Math.max(...hv.map((x, i) => Math.abs(x - fd[i]!))) / Math.max(...fd.map(Math.abs));
    expect(err).toBeLessThan(1e-6);
  });

  it('leapfrog conserves total momentum to rounding and energy to O(dt²) (64 LJ particles, 2D)', async () => {
    const n = 64, dim = 2;
    const { h, q0, p0 } = ljSystem(n, dim, 9.5, { cutoff: 2.5 });
    const st = await compile(h, { method: 'leapfrog', dt: 0.002, backend: 'cpu' });
    const P0 = total(p0, n, dim);
    const E0 = h.energy(q0, p0);
    const { q, p } = await st.run({ q0, p0, steps: 500 });
    const P1 = total(p, n, dim);
    for (let a = 0; a < dim; a++) expect(Math.abs(P1[a]! - P0[a]!)).toBeLessThan(1e-12);
    expect(Math.abs(h.energy(q, p) - E0) / Math.abs(E0)).toBeLessThan(1e-3);
    st.dispose();
  });

  it('st.jacobian of leapfrog and implicit midpoint is symplectic (periodic, 5 particles in 2D)', async () => {
    const { h, q0, p0 } = ljSystem(5, 2, 3.3);
    for (const method of ['leapfrog', 'midpoint'] as const) {
      const st = await compile(h, { method, dt: 0.01, backend: 'cpu' });
      const J = st.jacobian(q0, p0);
      expect(symplecticDefect(J), method).toBeLessThan(1e-11);
      st.dispose();
    }
  });

  for (const method of ['leapfrog', 'midpoint'] as const) it(`st.vjp (dq0 and dparams for eps, sig, gz) vs finite differences, 4 particles, ${method}`, async () => {
    const n = 4, dim = 2, steps = 20, dt = 0.01;
    const make = (eps: number, sig: number, gz: number) => {
      const s = ljSystem(n, dim, 3.1, { external: true });
      return { ...s, h: s.h.withParams({ eps, sig, gz }) };
    };
    const base = make(1, 1, 0.1);
    const st = await compile(base.h, { method, dt, backend: 'cpu' });
    const dq = Float64Array.from({ length: n * dim }, (_, i) => Math.cos(i));
    const dp = Float64Array.from({ length: n * dim }, (_, i) => Math.sin(2 * i));
    const g = await st.vjp({ q0: base.q0, p0: base.p0, steps, dq, dp, memory: 'reverse' });
    const loss = async (h: Hamiltonian, q0: Float64Array) => {
      const s = await compile(h, { method, dt, backend: 'cpu' });
      const { q, p } = await s.run({ q0, p0: base.p0, steps });
      s.dispose();
      return q.reduce((a, x, i) => a + x * dq[i]!, 0) + p.reduce((a, x, i) => a + x * dp[i]!, 0);
    };
    const e = 1e-6;
    const v = Float64Array.from(base.q0, (_, i) => Math.sin(3 * i + 1));
    const fdq = (await loss(base.h, base.q0.map((x, i) => x + e * v[i]!)) - (await loss(base.h, base.q0.map((x, i) => x - e * v[i]!)))) / (2 * e);
    const adq = g.dq0.reduce((a, x, i) => a + x * v[i]!, 0);
    expect(Math.abs(adq - fdq) / Math.abs(fdq)).toBeLessThan(1e-6);
    for (const [name, at] of [['eps', [1, 1, 0.1]], ['sig', [1, 1, 0.1]], ['gz', [1, 1, 0.1]]] as const) {
      const k = ['eps', 'sig', 'gz'].indexOf(name);
      const up = [...at] as number[], dn = [...at] as number[];
      up[k]! += e; dn[k]! -= e;
      const fd = (await loss(make(up[0]!, up[1]!, up[2]!).h, base.q0) - (await loss(make(dn[0]!, dn[1]!, dn[2]!).h, base.q0))) / (2 * e);
      const got = g.dparams[name] as number;
      expect(Math.abs(got - fd) / Math.max(Math.abs(fd), 1e-8), name).toBeLessThan(1e-5);
    }
    st.dispose();
  });

  it('graph size of a 10 000-particle Hamiltonian equals that of 8 particles', () => {
    const sizeOf = (n: number) => graphSize([ljSystem(n, 3, 30, { cutoff: 2.5, external: true }).h.H]);
    expect(sizeOf(10_000)).toBe(sizeOf(8));
  });
});
