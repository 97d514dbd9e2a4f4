/** Shared by the particle tests: a deterministic jittered cubic lattice with random momenta, and more. */
import { expect } from 'vitest';
import { add, dot, input, mul } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { pairSum } from '../../src/ir/ops/pairs.js';
import { wasmPairLoops } from '../../src/ir/ops/pair-wasm.js';
import { Hamiltonian } from '../../src/system/hamiltonian.js';
import { compile } from '../../src/backends/compile.js';

/**
 * n particles on a cubic lattice of `side` = ⌈n^(1/dim)⌉ sites per dimension in a box of side L, each displaced by
 * up to ±5 % of the spacing, with momenta uniform in [−½, ½) — from a Park–Miller stream started at `seed`.
 *
 * @example
 * const { q0, p0 } = jitteredLattice(64, 3, 6, 1);
 */
export function jitteredLattice(n: number, dim: number, L: number, seed: number): { q0: Float64Array; p0: Float64Array } {
  const side = Math.ceil(n ** (1 / dim));
  let state = seed;
  const rnd = () => ((state = (state * 16807) % 2147483647) / 2147483647);
  const q0 = new Float64Array(n * dim), p0 = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    let c = i;
    for (let a = 0; a < dim; a++) {
      q0[i * dim + a] = ((c % side) + 0.5 + 0.1 * (rnd() - 0.5)) * (L / side);
      c = Math.floor(c / side);
      p0[i * dim + a] = rnd() - 0.5;
    }
  }
  return { q0, p0 };
}

/** A pair potential as two plain functions of r: V(r) and V′(r), written by hand (the oracle side of a test). */
export interface HandWrittenPotential {
  f: (r: number) => number;
  df: (r: number) => number;
}

/**
 * Independent O(N²) energy and ∂E/∂q of a pair potential: minimum image by Math.round (box null: open boundaries),
 * pairs at r ≥ cutoff left out, forces by V′(r)·d/r with Newton's third law.
 *
 * @example
 * const { E, G } = allPairsReference(q, 64, 3, [6, 6, 6], 2.5, { f: (r) => 1 / r, df: (r) => -1 / r ** 2 });
 */
export function allPairsReference(q: Float64Array, n: number, dim: number, box: readonly number[] | null, cutoff: number, potential: HandWrittenPotential) {
  let E = 0;
  const G = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const d = Array.from({ length: dim }, (_, a) => { const x = q[i * dim + a]! - q[j * dim + a]!; return box ? x - box[a]! * Math.round(x / box[a]!) : x; });
    const r = Math.hypot(...d);
    if (r >= cutoff) continue;
    E += potential.f(r);
    const w = potential.df(r) / r;
    for (let a = 0; a < dim; a++) { G[i * dim + a]! += w * d[a]!; G[j * dim + a]! -= w * d[a]!; }
  }
  return { E, G };
}

/** max |a − b| / max |b| over the elements. @example relativeError([1, 2.001], [1, 2]) // 0.0005 */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num = Math.max(num, Math.abs(a[i]! - b[i]!)); den = Math.max(den, Math.abs(b[i]!)); }
  return num / den;
}

/**
 * A periodic pair-sum system H = p²/2 + Σ V(r) (params eps, sig) and a runner of it: `run(threads, wasm)` compiles a
 * fresh copy (compiled runners are cached per system; the WebAssembly switch is read when they are lowered) with the
 * WebAssembly pair loop on or off, checks which loop the source holds, and runs `steps` leapfrog steps (dt 0.004).
 *
 * @example
 * const run = pairLoopRunner({ n: 343, dim: 3, box: [9, 9.3, 10.1], potential: lj, params: { eps: 1, sig: 1 } }, q0, p0);
 * const wasm = await run(2, true), js = await run(2, false);
 */
export function pairLoopRunner(
  spec: { n: number; dim: number; box: number[]; potential: (r: Expr) => Expr; params: Record<string, number>; cutoff?: number },
  q0: Float64Array, p0: Float64Array, steps = 150,
) {
  const system = () => {
    const q = input('q', 'q', [spec.n * spec.dim]), p = input('p', 'p', [spec.n * spec.dim]);
    const V = pairSum(q, { n: spec.n, dim: spec.dim, potential: spec.potential, box: spec.box, cutoff: spec.cutoff ?? 2.5, shift: false });
    return new Hamiltonian({ H: add(mul(0.5, dot(p, p)), V), q, p, params: spec.params });
  };
  return async (threads: number, wasm: boolean) => {
    wasmPairLoops.enabled = wasm;
    const st = await compile(system(), { method: 'leapfrog', dt: 0.004, backend: 'cpu', threads }).finally(() => (wasmPairLoops.enabled = true));
    expect(st.source!.includes('.exports.pairs')).toBe(wasm);
    const out = await st.run({ q0, p0, steps });
    st.dispose();
    return out;
  };
}
