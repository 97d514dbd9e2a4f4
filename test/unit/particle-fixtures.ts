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
