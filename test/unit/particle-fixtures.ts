/** Shared by the particle tests: a deterministic jittered cubic lattice with random momenta. */

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
