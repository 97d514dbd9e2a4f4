/**
 * CPU cell lists of the pair ops (src/ir/ops/pair-cells.ts): the compiled JS (cell lists whenever the box holds
 * ≥ 3 cells of side ≥ cutoff per dimension) against an O(N²) reference written here (energy, forces) and the f64
 * graph evaluator's all-pairs loop (Hessian-vector products, parameter gradients), in 1-D, 2-D and 3-D, with
 * particles several boxes outside, exactly on cell boundaries, unequal sides and the smallest cell counts; a
 * leapfrog run against a hand-written all-pairs leapfrog; momentum; a source size independent of n.
 */
import { describe, expect, it } from 'vitest';
import { add, div, dot, exp, input, mul, param, powi, sub } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { gradient, vjp } from '../../src/autodiff/vjp.js';
import { jvp } from '../../src/autodiff/jvp.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { cellGrid, halfStencil } from '../../src/ir/ops/pair-cells.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { compile } from '../../src/backends/compile.js';
import { seededRandom } from './op-cases.js';
import { allPairsReference, relativeError } from './particle-fixtures.js';

const eps = param('eps'), sig = param('sig');
/** A smooth positive potential (no cancellation in the energy): eps·exp(−r²/sig)·(1 + r). */
const soft = { V: (r: Expr) => mul(mul(eps, exp(div(mul(-1, mul(r, r)), sig))), add(1, r)), f: (r: number) => 1.3 * Math.exp(-(r * r) / 0.8) * (1 + r), df: (r: number) => 1.3 * Math.exp(-(r * r) / 0.8) * (1 - (2 * r * (1 + r)) / 0.8) };
const lj = { V: (r: Expr) => mul(mul(4, eps), sub(powi(div(sig, r), 12), powi(div(sig, r), 6))), f: (r: number) => 4 * 1.3 * ((0.8 / r) ** 12 - (0.8 / r) ** 6), df: (r: number) => 4 * 1.3 * (-12 * 0.8 ** 12 / r ** 13 + 6 * 0.8 ** 6 / r ** 7) };


/** Independent O(N²) energy and ∂E/∂q by minimum image (Math.round), from V and its hand-written derivative. */
const reference = (q: Float64Array, n: number, dim: number, pot: typeof soft, box: number[], cutoff: number) => allPairsReference(q, n, dim, box, cutoff, pot);
const rel = relativeError;

/**
 * n particles: jittered lattice (LJ) or uniform (soft) in the box, each shifted by a random number of boxes in
 * −4…4, and a few placed exactly on cell boundaries (and on 0 and L).
 */
function positions(rng: () => number, n: number, dim: number, box: number[], cells: number[], lattice: boolean): Float64Array {
  const side = Math.ceil(n ** (1 / dim));
  const q = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let c = i;
    for (let a = 0; a < dim; a++) {
      const x = lattice ? ((c % side) + 0.5 + 0.2 * (rng() - 0.5)) * (box[a]! / side) : rng() * box[a]!;
      c = Math.floor(c / side);
      q[i * dim + a] = x + box[a]! * (Math.floor(9 * rng()) - 4);
    }
  }
  // Exactly on cell boundaries (k·L/nc, 0 and L), for the soft potential (no overlap concerns).
  // Particle i < nc sits at ((i + a) mod nc)·L/nc in each dimension a: particle 0 at L instead of 0, particle 1
  // one box below (negative coordinates); distinct modulo the box.
  const nc = Math.min(...cells);
  if (!lattice) for (let i = 0; i < Math.min(n, nc); i++) for (let a = 0; a < dim; a++) {
    const k = (i + a) % nc;
    q[i * dim + a] = (k === 0 && i === 0 ? cells[a]! : k) * (box[a]! / cells[a]!) - (i === 1 ? box[a]! : 0);
  }
  return q;
}

interface Case { dim: number; n: number; box: number[]; cutoff: number; pot: typeof soft; lattice: boolean; cells: number[] | null }
const cases: Case[] = [
  { dim: 1, n: 40, box: [9.7], cutoff: 2.5, pot: soft, lattice: false, cells: [3] },
  { dim: 1, n: 5, box: [12.2], cutoff: 2.5, pot: soft, lattice: false, cells: [4] }, // q short enough to be unrolled
  { dim: 1, n: 60, box: [31.3], cutoff: 2.5, pot: soft, lattice: false, cells: [12] },
  { dim: 2, n: 70, box: [7.6, 12.9], cutoff: 2.5, pot: soft, lattice: false, cells: [3, 5] },
  { dim: 2, n: 81, box: [9.0, 9.5], cutoff: 2.5, pot: lj, lattice: true, cells: [3, 3] },
  { dim: 3, n: 125, box: [7.8, 8.4, 10.3], cutoff: 2.5, pot: soft, lattice: false, cells: [3, 3, 4] },
  { dim: 3, n: 216, box: [8.1, 8.1, 8.1], cutoff: 2.69, pot: lj, lattice: true, cells: [3, 3, 3] }, // cutoff ≈ L/3 (cells of side 1.0037·rc)
  { dim: 3, n: 100, box: [5.2, 5.3, 5.4], cutoff: 2.55, pot: lj, lattice: true, cells: null }, // cutoff close to half the box: all pairs
];

describe('cell lists (JS lowering)', () => {
  it('cellGrid: ≥ 3 cells of side ≥ cutoff per dimension (with a margin), else all pairs; half-shell stencils', () => {
    for (const c of cases) expect(cellGrid({ n: c.n, dim: c.dim, box: c.box, cutoff: c.cutoff, edges: null })).toEqual(c.cells);
    expect(cellGrid({ n: 8, dim: 1, box: [7.5], cutoff: 2.5, edges: null })).toBeNull(); // exactly 3·rc: below the margin
    expect(cellGrid({ n: 8, dim: 2, box: [10, 10], cutoff: null, edges: null })).toBeNull();
    expect(cellGrid({ n: 8, dim: 2, box: null, cutoff: 2, edges: null })).toBeNull();
    for (const dim of [1, 2, 3]) {
      const s = halfStencil(dim);
      expect(s.length).toBe((3 ** dim + 1) / 2);
      expect(s[0]).toEqual(Array(dim).fill(0));
      // Together with their negatives, the offsets cover {−1, 0, 1}^dim exactly once.
      const keys = new Set([...s, ...s.slice(1).map((o) => o.map((x) => -x))].map((o) => o.join(',')));
      expect(keys.size).toBe(3 ** dim);
    }
  });

  for (const c of cases) {
    it(`${c.dim}-D, n = ${c.n}, box [${c.box}], cutoff ${c.cutoff}: energy, forces, Hessian-vector products and parameter gradients ≡ all pairs to 1e-12`, () => {
      const rng = seededRandom(c.n + 17 * c.dim);
      const { n, dim, box, cutoff } = c;
      const q = input('q', 'q', [n * dim]), v = input('aux', 'v', [n * dim]);
      const E = pairSum(q, { n, dim, potential: c.pot.V, box, cutoff, shift: false });
      const [g] = gradient(E, [q]);
      const [Hv] = jvp([g!], new Map([[q, v]]));
      const [dEps] = gradient(E, [eps]);
      const [dgEps] = vjp([g!], [v], [eps]); // ∂/∂eps of ⟨v, ∇E⟩: a projected pair sum (s = Δv·d̂)
      const [dHvSig] = vjp([Hv!], [v], [sig]); // ∂/∂sig of ⟨v, H v⟩: projected on two vectors (s, t, u)
      const outputs = [E, g!, Hv!, dEps!, dgEps!, dHvSig!];
      const compiled = compileJs([q, v, eps, sig], outputs);
      expect(compiled.source.includes('Int32Array')).toBe(c.cells !== null);
      for (let trial = 0; trial < 3; trial++) {
        const qv = positions(rng, n, dim, box, c.cells ?? box.map(() => 3), c.lattice);
        const vv = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
        const fresh = () => [new Float64Array(1), new Float64Array(n * dim), new Float64Array(n * dim), new Float64Array(1), new Float64Array(1), new Float64Array(1)];
        const js = fresh(), all = fresh();
        compiled([qv, vv, [1.3], [0.8]], js);
        graphEvaluator([q, v, eps, sig], outputs)([qv, vv, [1.3], [0.8]], all);
        const ref = reference(qv, n, dim, c.pot, box, cutoff);
        expect(Math.abs(js[0]![0]! - ref.E) / Math.abs(ref.E)).toBeLessThan(1e-12);
        expect(rel(js[1]!, ref.G)).toBeLessThan(1e-12);
        expect(rel(js[2]!, all[2]!)).toBeLessThan(1e-12);
        expect(Math.abs(js[3]![0]! - all[3]![0]!) / Math.abs(all[3]![0]!)).toBeLessThan(1e-12);
        // Projected sums of terms of both signs (random v): the value can be ~1e-3 of its largest terms.
        for (const k of [4, 5]) expect(Math.abs(js[k]![0]! - all[k]![0]!) / Math.abs(all[k]![0]!)).toBeLessThan(1e-10);
        expect(rel(all[1]!, ref.G)).toBeLessThan(1e-12);
      }
    });
  }

  it('the compiled source has the same size for 1 000 and 8 000 particles (only the numbers differ)', () => {
    const source = (n: number, L: number) => {
      const q = input('q', 'q', [n * 3]);
      const E = pairSum(q, { n, dim: 3, potential: lj.V, box: [L, L, L], cutoff: 2.5, shift: false });
      return compileJs([q, eps, sig], [E, gradient(E, [q])[0]!]).source;
    };
    const small = source(1000, 10.6), large = source(8000, 21.2);
    expect(small).toContain('Int32Array');
    expect(large.replace(/\d+/g, '#')).toBe(small.replace(/\d+/g, '#'));
    expect(large.length).toBeLessThan(20_000);
  });
});

describe('leapfrog with cell lists', () => {
  /** Kick–drift–kick over the O(N²) reference forces. */
  function handLeapfrog(q0: Float64Array, p0: Float64Array, n: number, dim: number, box: number[], cutoff: number, dt: number, steps: number) {
    const qs = Float64Array.from(q0), ps = Float64Array.from(p0);
    let g = reference(qs, n, dim, lj, box, cutoff).G;
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < qs.length; i++) { ps[i] = ps[i]! - 0.5 * dt * g[i]!; qs[i] = qs[i]! + dt * ps[i]!; }
      g = reference(qs, n, dim, lj, box, cutoff).G;
      for (let i = 0; i < qs.length; i++) ps[i] = ps[i]! - 0.5 * dt * g[i]!;
    }
    return { q: qs, p: ps };
  }

  for (const [dim, n, L] of [[2, 100, 11], [3, 216, 8.4]] as const) {
    it(`${dim}-D, ${n} LJ particles: 100 steps equal to an all-pairs leapfrog to 1e-10; momentum conserved`, async () => {
      const box = Array(dim).fill(L) as number[], cutoff = 2.5;
      expect(cellGrid({ n, dim, box, cutoff, edges: null })).not.toBeNull();
      const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
      const V = pairSum(q, { n, dim, potential: lj.V, box, cutoff, shift: false });
      const h = new Hamiltonian({ H: add(mul(0.5, dot(p, p)), V), q, p, params: { eps: 1.3, sig: 0.8 } });
      const rng = seededRandom(dim);
      const q0 = positions(rng, n, dim, box, [3, 3, 3], true);
      const p0 = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
      const st = await compile(h, { method: 'leapfrog', dt: 0.002, backend: 'cpu' });
      expect(st.source).toContain('Int32Array');
      const got = await st.run({ q0, p0, steps: 100 });
      st.dispose();
      const want = handLeapfrog(q0, p0, n, dim, box, cutoff, 0.002, 100);
      const scale = Math.max(...want.q.map(Math.abs), ...want.p.map(Math.abs));
      expect(rel(got.q, want.q) * Math.max(...want.q.map(Math.abs))).toBeLessThan(1e-10 * scale);
      expect(rel(got.p, want.p) * Math.max(...want.p.map(Math.abs))).toBeLessThan(1e-10 * scale);
      for (let a = 0; a < dim; a++) {
        let P0 = 0, P1 = 0;
        for (let i = 0; i < n; i++) { P0 += p0[i * dim + a]!; P1 += got.p[i * dim + a]!; }
        expect(Math.abs(P1 - P0)).toBeLessThan(1e-12);
      }
    });
  }
});
