/**
 * Verlet neighbour lists of the JS lowering (src/ir/ops/pair-neighbours.ts) and the f64 evaluator's cell lists
 * (forEachCellPair): a compiled function evaluated along a trajectory that moves the particles many skins (so the
 * persistent list must be rebuilt many times) against an O(N²) reference written here (energy, forces) and the
 * graph evaluator (Hessian-vector products, parameter gradients); state jumps (another state, one particle just
 * past or just inside skin/2, a whole-box translation, batch elements); a dense cluster that overflows the
 * initial partner buffer; leapfrog against a hand-written all-pairs leapfrog; st.vjp (reverse, store) against
 * central finite differences of st.run; the evaluator's pair enumeration against a plain i < j loop (same pairs,
 * bitwise the same d).
 */
import { describe, expect, it } from 'vitest';
import { add, div, dot, exp, input, mul, param } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { graphEvaluator } from '../../src/ir/evaluate-graph.js';
import { gradient, vjp } from '../../src/autodiff/vjp.js';
import { jvp } from '../../src/autodiff/jvp.js';
import { compileJs } from '../../src/codegen/emit-js.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { cellGrid } from '../../src/ir/ops/pair-cells.js';
import { forEachPair } from '../../src/ir/ops/pair-geometry.js';
import { neighbourGrid, SKIN_FRACTION } from '../../src/ir/ops/pair-neighbours.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { compile } from '../../src/backends/compile.js';
import { seededRandom } from './op-cases.js';
import { allPairsReference, relativeError } from './particle-fixtures.js';

const eps = param('eps'), sig = param('sig');
const EPS = 1.3, SIG = 0.8;
/** A smooth positive potential: eps·exp(−r²/sig)·(1 + r), and its derivative by hand. */
const softV = (r: Expr) => mul(mul(eps, exp(div(mul(-1, mul(r, r)), sig))), add(1, r));
const f = (r: number) => EPS * Math.exp(-(r * r) / SIG) * (1 + r);
const df = (r: number) => EPS * Math.exp(-(r * r) / SIG) * (1 - (2 * r * (1 + r)) / SIG);


const rel = relativeError;
const reference = (q: Float64Array, n: number, dim: number, box: number[], cutoff: number) => allPairsReference(q, n, dim, box, cutoff, { f, df });
const relScalar = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** The six outputs of the cell-list tests: E, ∇E, H·v, ∂E/∂eps, ∂⟨v, ∇E⟩/∂eps, ∂⟨v, Hv⟩/∂sig. */
function pairFunctions(n: number, dim: number, box: number[], cutoff: number) {
  const q = input('q', 'q', [n * dim]), v = input('aux', 'v', [n * dim]);
  const E = pairSum(q, { n, dim, potential: softV, box, cutoff, shift: false });
  const [g] = gradient(E, [q]);
  const [Hv] = jvp([g!], new Map([[q, v]]));
  const [dEps] = gradient(E, [eps]);
  const [dgEps] = vjp([g!], [v], [eps]);
  const [dHvSig] = vjp([Hv!], [v], [sig]);
  const outputs = [E, g!, Hv!, dEps!, dgEps!, dHvSig!];
  const compiled = compileJs([q, v, eps, sig], outputs);
  const evaluator = graphEvaluator([q, v, eps, sig], outputs);
  const fresh = () => [new Float64Array(1), new Float64Array(n * dim), new Float64Array(n * dim), new Float64Array(1), new Float64Array(1), new Float64Array(1)];
  /** Evaluates the compiled function at (qv, vv) and checks it against the reference and the evaluator. */
  const check = (qv: Float64Array, vv: Float64Array, withEvaluator = true) => {
    const js = fresh();
    compiled([qv, vv, [EPS], [SIG]], js);
    const ref = reference(qv, n, dim, box, cutoff);
    expect(relScalar(js[0]![0]!, ref.E)).toBeLessThan(1e-12);
    expect(rel(js[1]!, ref.G)).toBeLessThan(1e-12);
    if (!withEvaluator) return;
    const all = fresh();
    evaluator([qv, vv, [EPS], [SIG]], all);
    expect(rel(js[2]!, all[2]!)).toBeLessThan(1e-12);
    expect(relScalar(js[3]![0]!, all[3]![0]!)).toBeLessThan(1e-12);
    for (const k of [4, 5]) expect(relScalar(js[k]![0]!, all[k]![0]!)).toBeLessThan(1e-10);
  };
  return { compiled, check };
}

function uniform(rng: () => number, n: number, box: number[]): Float64Array {
  return Float64Array.from({ length: n * box.length }, (_, k) => rng() * box[k % box.length]!);
}

/** Leapfrog (kick–drift–kick) over the reference forces; the states after every step. */
function handLeapfrog(q0: Float64Array, p0: Float64Array, n: number, dim: number, box: number[], cutoff: number, dt: number, steps: number) {
  const qs = Float64Array.from(q0), ps = Float64Array.from(p0);
  const states: Float64Array[] = [];
  let g = reference(qs, n, dim, box, cutoff).G;
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < qs.length; i++) { ps[i] = ps[i]! - 0.5 * dt * g[i]!; qs[i] = qs[i]! + dt * ps[i]!; }
    g = reference(qs, n, dim, box, cutoff).G;
    for (let i = 0; i < qs.length; i++) ps[i] = ps[i]! - 0.5 * dt * g[i]!;
    states.push(Float64Array.from(qs));
  }
  return { q: qs, p: ps, states };
}

const maxDisplacement = (a: Float64Array, b: Float64Array, dim: number) => {
  let m = 0;
  for (let i = 0; i < a.length; i += dim) m = Math.max(m, Math.hypot(...Array.from({ length: dim }, (_, k) => a[i + k]! - b[i + k]!)));
  return m;
};

const systems = [
  { dim: 2, n: 90, box: [9.5, 12.0], cutoff: 2.5 },
  { dim: 3, n: 125, box: [9.0, 9.3, 10.1], cutoff: 2.5 },
];

describe('Verlet neighbour lists (JS lowering)', () => {
  it('apply when the box holds ≥ 3 cells of side ≥ cutoff + skin; otherwise cell lists or all pairs', () => {
    expect(neighbourGrid({ n: 90, dim: 2, box: [9.5, 12.0], cutoff: 2.5, edges: null })).toEqual({ cells: [6, 8], skin: SKIN_FRACTION * 2.5 }); // bins of side ≥ (cutoff + skin)/2
    // Room for cells of side 2.5 but not 2.8: plain cell lists.
    expect(neighbourGrid({ n: 90, dim: 2, box: [7.6, 12.0], cutoff: 2.5, edges: null })).toBeNull();
    expect(cellGrid({ n: 90, dim: 2, box: [7.6, 12.0], cutoff: 2.5, edges: null })).not.toBeNull();
    expect(neighbourGrid({ n: 90, dim: 2, box: null, cutoff: 2.5, edges: null })).toBeNull();
    expect(neighbourGrid({ n: 90, dim: 2, box: [20, 20], cutoff: null, edges: null })).toBeNull();
    expect(neighbourGrid({ n: 3, dim: 2, box: [20, 20], cutoff: 2.5, edges: [0, 1, 1, 2] })).toBeNull();
  });

  for (const { dim, n, box, cutoff } of [...systems, { dim: 1, n: 40, box: [9.7], cutoff: 2.5 }]) {
    it(`${dim}-D, n = ${n}: along a trajectory moving ≫ skin, every evaluation ≡ all pairs (energy, forces, HVP, parameter gradients)`, () => {
      const { compiled, check } = pairFunctions(n, dim, box, cutoff);
      expect(compiled.source).toContain('Int32Array(2 *'); // the growable partner buffer: neighbour lists are in use
      const rng = seededRandom(5 + dim);
      const q0 = uniform(rng, n, box);
      const p0 = Float64Array.from({ length: n * dim }, () => 3 * (rng() - 0.5));
      const vv = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
      const { states } = handLeapfrog(q0, p0, n, dim, box, cutoff, 0.01, 150);
      // The particles move many skins: a list kept from the start would miss pairs (and the checks below fail).
      const skin = SKIN_FRACTION * cutoff;
      expect(maxDisplacement(states.at(-1)!, q0, dim)).toBeGreaterThan(4 * skin);
      let since = q0, needed = 0;
      check(q0, vv);
      states.forEach((qs, s) => {
        if (maxDisplacement(qs, since, dim) >= skin / 2) { needed++; since = qs; }
        check(qs, vv, s % 10 === 0);
      });
      expect(needed).toBeGreaterThanOrEqual(5); // at least 5 rebuilds were required along the way
    });
  }

  it('state jumps: another state, one particle just past or just inside skin/2, a whole-box translation', () => {
    const { dim, n, box, cutoff } = systems[1]!;
    const { check } = pairFunctions(n, dim, box, cutoff);
    const rng = seededRandom(11);
    const A = uniform(rng, n, box), B = uniform(rng, n, box);
    const vv = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
    const skin = SKIN_FRACTION * cutoff;
    check(A, vv);
    check(B, vv);
    check(A, vv);
    // Move particle 7 towards its nearest neighbour by just under, then just over, skin/2 (from the list built at A),
    // and every other particle not at all: the list must stay valid, then be rebuilt.
    for (const step of [0.499 * skin, 0.501 * skin, 0.9 * skin, 3 * skin]) {
      const moved = Float64Array.from(A);
      let nearest = -1, best = Infinity;
      for (let j = 0; j < n; j++) if (j !== 7) {
        const d = Array.from({ length: dim }, (_, k) => { const x = A[j * dim + k]! - A[7 * dim + k]!; return x - box[k]! * Math.round(x / box[k]!); });
        const r = Math.hypot(...d);
        if (r > cutoff + 0.1 && r < best) { best = r; nearest = j; }
      }
      expect(nearest).toBeGreaterThanOrEqual(0);
      for (let k = 0; k < dim; k++) {
        const x = A[nearest * dim + k]! - A[7 * dim + k]!;
        moved[7 * dim + k]! += (step * (x - box[k]! * Math.round(x / box[k]!))) / best;
      }
      check(moved, vv);
      check(A, vv);
    }
    // Every particle one box over (the same physical state): equal results, whatever the list does.
    check(A.map((x, k) => x + box[k % dim]!), vv);
  });

  it('the remembered forces (the last evaluation reused at the same q) follow q and the parameters', () => {
    const { dim, n, box, cutoff } = systems[1]!;
    const q = input('q', 'q', [n * dim]);
    const [g] = gradient(pairSum(q, { n, dim, potential: softV, box, cutoff, shift: false }), [q]);
    const compiled = compileJs([q, eps, sig], [g!]);
    const rng = seededRandom(5);
    const A = uniform(rng, n, box), B = Float64Array.from(A);
    B[n * dim - 1]! += 1e-3; // only the last coordinate differs: the comparison must reach it
    const forces = (qv: Float64Array, e: number, s: number) => {
      const out = [new Float64Array(n * dim)];
      compiled([qv, [e], [s]], out);
      return out[0]!;
    };
    const byHand = (qv: Float64Array, e: number, s: number) =>
      allPairsReference(qv, n, dim, box, cutoff, {
        f: (r) => e * Math.exp(-(r * r) / s) * (1 + r),
        df: (r) => e * Math.exp(-(r * r) / s) * (1 - (2 * r * (1 + r)) / s),
      }).G;
    for (const [qv, e, s] of [[A, EPS, SIG], [A, EPS, SIG], [A, 2 * EPS, SIG], [A, EPS, SIG], [A, EPS, 1.1 * SIG], [B, EPS, SIG], [A, EPS, SIG]] as const) {
      expect(rel(forces(qv, e, s), byHand(qv, e, s))).toBeLessThan(1e-12);
    }
  });

  it('a dense cluster overflows the initial partner buffer: it grows and no pair is lost', () => {
    const dim = 3, n = 220, box = [14, 14, 14], cutoff = 2.5;
    const { check } = pairFunctions(n, dim, box, cutoff);
    const rng = seededRandom(3);
    // All particles inside a ball of radius 1.2 around (3, 3, 3): every pair is a neighbour (24 090 pairs, against
    // an initial capacity sized for the mean density, ~ 1 300).
    const q = new Float64Array(n * dim);
    for (let i = 0; i < n; i++) {
      let x: number[];
      do x = [0, 1, 2].map(() => 2.4 * (rng() - 0.5)); while (Math.hypot(...x) > 1.2);
      for (let k = 0; k < dim; k++) q[i * dim + k] = 3 + x[k]!;
    }
    const vv = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
    check(q, vv);
    // Spread out again, then the cluster once more (the grown buffer is reused).
    check(uniform(rng, n, box), vv);
    check(q, vv);
  });

  it('leapfrog through compile(): equal to an all-pairs leapfrog to 1e-10 over rebuilds; batch elements are independent', async () => {
    const { dim, n, box, cutoff } = systems[1]!;
    const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
    const V = pairSum(q, { n, dim, potential: softV, box, cutoff, shift: false });
    const h = new Hamiltonian({ H: add(mul(0.5, dot(p, p)), V), q, p, params: { eps: EPS, sig: SIG } });
    const rng = seededRandom(21);
    const q0 = [uniform(rng, n, box), uniform(rng, n, box)];
    const p0 = [0, 1].map(() => Float64Array.from({ length: n * dim }, () => 3 * (rng() - 0.5)));
    const st = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    expect(st.source).toContain('Int32Array(2 *');
    const got = await st.run({ q0: Float64Array.of(...q0[0]!, ...q0[1]!), p0: Float64Array.of(...p0[0]!, ...p0[1]!), steps: 120, batch: 2 });
    const again = await st.run({ q0: q0[1]!, p0: p0[1]!, steps: 120 }); // a new run from another state
    st.dispose();
    for (const b of [0, 1]) {
      const want = handLeapfrog(q0[b]!, p0[b]!, n, dim, box, cutoff, 0.01, 120);
      expect(maxDisplacement(want.q, q0[b]!, dim)).toBeGreaterThan(4 * SKIN_FRACTION * cutoff);
      const gq = got.q.subarray(b * n * dim, (b + 1) * n * dim), gp = got.p.subarray(b * n * dim, (b + 1) * n * dim);
      expect(rel(gq, want.q)).toBeLessThan(1e-10);
      expect(rel(gp, want.p)).toBeLessThan(1e-10);
      if (b === 1) {
        expect(rel(again.q, want.q)).toBeLessThan(1e-10);
        expect(rel(again.p, want.p)).toBeLessThan(1e-10);
      }
    }
  });
  it('st.vjp over rebuilds (reverse and store) equals central finite differences of st.run', async () => {
    const { dim, n, box, cutoff } = systems[1]!;
    const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
    const V = pairSum(q, { n, dim, potential: softV, box, cutoff, shift: false });
    const h = new Hamiltonian({ H: add(mul(0.5, dot(p, p)), V), q, p, params: { eps: EPS, sig: SIG } });
    const rng = seededRandom(31);
    const q0 = uniform(rng, n, box), p0 = Float64Array.from({ length: n * dim }, () => 3 * (rng() - 0.5));
    const dq = Float64Array.from({ length: n * dim }, () => rng() - 0.5), dp = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
    const v = Float64Array.from({ length: n * dim }, () => rng() - 0.5), w = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
    const st = await compile(h, { method: 'leapfrog', dt: 0.01, backend: 'cpu' });
    const steps = 80;
    const loss = async (qa: Float64Array, pa: Float64Array) => {
      const r = await st.run({ q0: qa, p0: pa, steps });
      return r.q.reduce((acc, x, k) => acc + x * dq[k]!, 0) + r.p.reduce((acc, x, k) => acc + x * dp[k]!, 0);
    };
    const e = 1e-6;
    const fdQ = (await loss(q0.map((x, k) => x + e * v[k]!), p0) - (await loss(q0.map((x, k) => x - e * v[k]!), p0))) / (2 * e);
    const fdP = (await loss(q0, p0.map((x, k) => x + e * w[k]!)) - (await loss(q0, p0.map((x, k) => x - e * w[k]!)))) / (2 * e);
    for (const memory of ['reverse', 'store'] as const) {
      const g = await st.vjp({ q0, p0, steps, dq, dp, memory });
      const gQ = g.dq0.reduce((acc, x, k) => acc + x * v[k]!, 0), gP = g.dp0.reduce((acc, x, k) => acc + x * w[k]!, 0);
      expect(relScalar(gQ, fdQ)).toBeLessThan(1e-6);
      expect(relScalar(gP, fdP)).toBeLessThan(1e-6);
    }
    const moved = (await st.run({ q0, p0, steps })).q;
    st.dispose();
    expect(maxDisplacement(moved, q0, dim)).toBeGreaterThan(4 * SKIN_FRACTION * cutoff);
  });
});

describe('the evaluator’s cell lists', () => {
  for (const { dim, n, box, cutoff } of [...systems, { dim: 1, n: 40, box: [9.7], cutoff: 2.5 }, { dim: 3, n: 216, box: [8.1, 8.1, 8.1], cutoff: 2.69 }]) {
    it(`${dim}-D, n = ${n}: forEachPair visits the same pairs as an i < j loop, with bitwise the same d and r`, () => {
      const g = { n, dim, box, cutoff, edges: null };
      expect(cellGrid(g)).not.toBeNull();
      const rng = seededRandom(n);
      // Several boxes outside, and a few exactly on cell boundaries.
      const q = uniform(rng, n, box).map((x, k) => x + box[k % dim]! * (Math.floor(9 * rng()) - 4));
      const cells = cellGrid(g)!;
      for (let a = 0; a < dim; a++) q[a] = box[a]!; // particle 0 on the far boundary
      for (let a = 0; a < dim; a++) q[dim + a] = box[a]! / cells[a]!; // particle 1 on the first inner boundary
      const seen = new Map<string, string>();
      forEachPair(g, q, (i, j, d, r) => {
        expect(i).toBeLessThan(j);
        const key = `${i},${j}`;
        expect(seen.has(key)).toBe(false);
        seen.set(key, [...d, r].join(','));
      });
      let count = 0;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
        const d = Array.from({ length: dim }, (_, k) => { const x = q[i * dim + k]! - q[j * dim + k]!; return x - box[k]! * Math.floor(x / box[k]! + 0.5); });
        const r2 = d.reduce((s, x) => s + x * x, 0);
        if (r2 >= cutoff * cutoff) continue;
        count++;
        expect(seen.get(`${i},${j}`)).toBe([...d, Math.sqrt(r2)].join(','));
      }
      expect(seen.size).toBe(count);
      expect(count).toBeGreaterThan(n);
    });
  }
});
