/**
 * The threaded neighbour-list build (src/ir/ops/pair-list-build.ts, pair-stencil.ts): each worker lists the partners
 * of its own bins only and makes only the ghost images they need. On random periodic boxes in 1, 2 and 3 dimensions,
 * 2 and 3 worker threads give the forces of a hand-written O(N²) minimum-image loop (one step, to rounding) and the
 * same trajectory as one thread over rebuilds in the middle of a run, reproducibly bit for bit; a dense cluster
 * straddling the box's corner after a dilute run makes every worker's partner buffer grow without losing a pair.
 */
import { describe, expect, it } from 'vitest';
import { add, div, dot, exp, input, mul, param } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { neighbourGrid, SKIN_FRACTION } from '../../src/ir/ops/pair-neighbours.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { compile } from '../../src/backends/compile.js';
import { seededRandom } from './op-cases.js';
import { allPairsReference, relativeError } from './particle-fixtures.js';

const eps = param('eps'), sig = param('sig');
const EPS = 1.3, SIG = 0.8, CUTOFF = 2.5;
/** A smooth repulsive potential, finite at r = 0 (dense clusters are fine): eps·exp(−r²/sig)·(1 + r). */
const softV = (r: Expr) => mul(mul(eps, exp(div(mul(-1, mul(r, r)), sig))), add(1, r));
const f = (r: number) => EPS * Math.exp(-(r * r) / SIG) * (1 + r);
const df = (r: number) => EPS * Math.exp(-(r * r) / SIG) * (1 - (2 * r * (1 + r)) / SIG);

function system(n: number, box: number[]) {
  const dim = box.length;
  const q = input('q', 'q', [n * dim]), p = input('p', 'p', [n * dim]);
  const V = pairSum(q, { n, dim, potential: softV, cutoff: CUTOFF, shift: false, box });
  return new Hamiltonian({ H: add(mul(0.5, dot(p, p)), V), q, p, params: { eps: EPS, sig: SIG } });
}

/** Leapfrog (kick–drift–kick) with the O(N²) reference forces. */
function handLeapfrog(q0: Float64Array, p0: Float64Array, box: number[], dt: number, steps: number) {
  const dim = box.length, n = q0.length / dim;
  const qs = Float64Array.from(q0), ps = Float64Array.from(p0);
  let g = allPairsReference(qs, n, dim, box, CUTOFF, { f, df }).G;
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < qs.length; i++) { ps[i] = ps[i]! - 0.5 * dt * g[i]!; qs[i] = qs[i]! + dt * ps[i]!; }
    g = allPairsReference(qs, n, dim, box, CUTOFF, { f, df }).G;
    for (let i = 0; i < qs.length; i++) ps[i] = ps[i]! - 0.5 * dt * g[i]!;
  }
  return { q: qs, p: ps };
}

/** The largest displacement of a particle between two states (unwrapped coordinates). */
function maxDisplacement(a: Float64Array, b: Float64Array, dim: number): number {
  let out = 0;
  for (let i = 0; i < a.length; i += dim) out = Math.max(out, Math.hypot(...Array.from({ length: dim }, (_, k) => a[i + k]! - b[i + k]!)));
  return out;
}

const rel = relativeError;
/** Random boxes (sides ≥ 3·(cutoff + skin), so that neighbour lists apply) and particle counts. */
const CASES = [
  { box: [41.3], n: 60 },
  { box: [11.7, 9.1], n: 140 },
  { box: [8.9, 10.4, 9.6], n: 260 },
];

describe('threaded neighbour-list build', () => {
  for (const { box, n } of CASES) {
    it(`${box.length}-D, n = ${n}, box [${box}]: 2 and 3 threads ≡ all pairs (one step to rounding) and ≡ 1 thread over rebuilds; bit for bit again`, async () => {
      const dim = box.length;
      expect(neighbourGrid({ n, dim, box, cutoff: CUTOFF, edges: null })).not.toBeNull();
      const rng = seededRandom(17 + dim);
      // Coordinates partly outside the box (the build wraps them), fast enough to rebuild many times.
      const q0 = Float64Array.from({ length: n * dim }, (_, k) => (1.4 * rng() - 0.2) * box[k % dim]!);
      const p0 = Float64Array.from({ length: n * dim }, () => 4 * (rng() - 0.5));
      const h = system(n, box);
      const dt = 0.01, steps = 50;
      const oneStep = handLeapfrog(q0, p0, box, dt, 1);
      const results: Record<number, { q: Float64Array; p: Float64Array }> = {};
      for (const threads of [1, 2, 3]) {
        const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu', threads });
        const one = await st.run({ q0, p0, steps: 1 });
        expect(rel(one.p, oneStep.p)).toBeLessThan(1e-12);
        results[threads] = await st.run({ q0, p0, steps });
        if (threads > 1) {
          const again = await st.run({ q0, p0, steps });
          expect(Array.from(again.q)).toEqual(Array.from(results[threads]!.q));
          expect(Array.from(again.p)).toEqual(Array.from(results[threads]!.p));
        }
        st.dispose();
      }
      expect(maxDisplacement(results[1]!.q, q0, dim)).toBeGreaterThan(4 * SKIN_FRACTION * CUTOFF); // rebuilds mid-run
      const want = handLeapfrog(q0, p0, box, dt, steps);
      for (const threads of [1, 2, 3]) {
        expect(rel(results[threads]!.q, want.q)).toBeLessThan(1e-10);
        expect(rel(results[threads]!.p, want.p)).toBeLessThan(1e-10);
        expect(rel(results[threads]!.p, results[1]!.p)).toBeLessThan(1e-10);
      }
    });
  }

  it('a dense cluster across the box corner after a dilute run: every worker’s list grows, no pair is lost', async () => {
    const box = [9.4, 10.2, 8.8], dim = 3, n = 220;
    const rng = seededRandom(41);
    const dilute = Float64Array.from({ length: n * dim }, (_, k) => rng() * box[k % dim]!);
    // All particles within 1.6 of the corner (≈ n − 1 partners each, far above the initial 16 per site).
    const dense = Float64Array.from({ length: n * dim }, () => 3.2 * (rng() - 0.5));
    const p0 = Float64Array.from({ length: n * dim }, () => rng() - 0.5);
    const h = system(n, box);
    const dt = 0.002;
    for (const threads of [2, 3]) {
      const st = await compile(h, { method: 'leapfrog', dt, backend: 'cpu', threads });
      for (const q0 of [dilute, dense, dilute]) {
        const got = await st.run({ q0, p0, steps: 3 });
        const want = handLeapfrog(q0, p0, box, dt, 3);
        expect(rel(got.q, want.q)).toBeLessThan(1e-12);
        expect(rel(got.p, want.p)).toBeLessThan(1e-12);
      }
      st.dispose();
    }
  });
});
