/** The public builders of the pair reductions: validation, then a lifted `pairSum` node. */
import { DarbouxError } from '../../errors.js';
import type { Expr } from '../expr.js';
import { make } from '../make.js';
import { bound, liftBody } from './pair-body.js';

/** Checks n, dim, q's shape and the box; returns the attributes n, dim (and box). @example checkParticles('pairSum', q, 4, 3, [5, 5, 5]) // { n: 4, dim: 3, box: [5, 5, 5] } */
export function checkParticles(op: string, q: Expr, n: number, dim: number, box?: readonly number[]): Record<string, number | readonly number[]> {
  if (!Number.isInteger(n) || n < 1) throw new DarbouxError('SPEC', `${op}: n must be a positive integer, got ${n}`, { n });
  if (!Number.isInteger(dim) || dim < 1) throw new DarbouxError('SPEC', `${op}: dim must be a positive integer, got ${dim}`, { dim });
  if (q.shape.length !== 1 || q.shape[0] !== n * dim) {
    throw new DarbouxError('SPEC', `${op}: q must be a vector of n·dim = ${n * dim} coordinates, got shape [${q.shape.join('×')}]`, { n, dim, shape: [...q.shape] });
  }
  const attrs: Record<string, number | readonly number[]> = { n, dim };
  if (box !== undefined) {
    if (box.length !== dim || !box.every((L) => Number.isFinite(L) && L > 0)) {
      throw new DarbouxError('SPEC', `${op}: box must list ${dim} positive side lengths, got [${box.join(', ')}]`, { box: [...box], dim });
    }
    attrs.box = [...box];
  }
  return attrs;
}

/** Applies the potential to the placeholder r and checks it is a scalar. */
function potentialBody(op: string, potential: (r: Expr) => Expr): Expr {
  const V = potential(bound('r'));
  if (V.shape.length !== 0) throw new DarbouxError('SPEC', `${op}: the potential must return a scalar expression of r, got shape [${V.shape.join('×')}]`, { shape: [...V.shape] });
  return V;
}

/**
 * Σ_{i<j} V(r_ij) over all pairs of n particles in `dim` dimensions, q = (x₀…, x₁…, …) of length n·dim;
 * r_ij = |q_i − q_j| (minimum image when `box` is given: orthorhombic, side lengths per dimension); pairs with
 * r ≥ cutoff skipped; shift: V(r) − V(cutoff) inside the cutoff. One node whatever n is.
 *
 * @example
 * const eps = param('eps'), sig = param('sig');
 * const V = pairSum(q, { n: 256, dim: 3, box: [L, L, L], cutoff: 2.5, potential: (r) => mul(mul(4, eps), sub(powi(div(sig, r), 12), powi(div(sig, r), 6))) });
 */
export function pairSum(q: Expr, options: { n: number; dim: number; potential: (r: Expr) => Expr; cutoff?: number; shift?: boolean; box?: readonly number[] }): Expr {
  const attrs: Record<string, number | boolean | readonly number[]> = checkParticles('pairSum', q, options.n, options.dim, options.box);
  const { cutoff } = options;
  if (cutoff !== undefined) {
    if (!(Number.isFinite(cutoff) && cutoff > 0)) throw new DarbouxError('OPTION', `pairSum: cutoff must be a positive number, got ${cutoff}`, { cutoff });
    if (options.box !== undefined && cutoff > Math.min(...options.box) / 2) {
      throw new DarbouxError('OPTION', `pairSum: cutoff ${cutoff} is larger than half the smallest box side (${Math.min(...options.box) / 2}); use a larger box or a smaller cutoff`, { cutoff, box: [...options.box] });
    }
    attrs.cutoff = cutoff;
    if (options.shift === true) attrs.shift = true;
  }
  const { text, lifted } = liftBody([potentialBody('pairSum', options.potential)]);
  return make('pairSum', [q, ...lifted], { ...attrs, body: text });
}

/**
 * Σ_{(i,j)∈edges} V(r_ij) over an explicit edge list (same r and box convention as `pairSum`; no cutoff).
 *
 * @example
 * const bonds = edgeSum(q, { n: 3, dim: 2, edges: [[0, 1], [1, 2]], potential: (r) => mul(50, powi(sub(r, 1), 2)) });
 */
export function edgeSum(q: Expr, options: { n: number; dim: number; edges: readonly (readonly [number, number])[]; potential: (r: Expr) => Expr; box?: readonly number[] }): Expr {
  const attrs = checkParticles('edgeSum', q, options.n, options.dim, options.box);
  if (options.edges.length === 0) throw new DarbouxError('SPEC', 'edgeSum: the edge list is empty; give at least one edge [i, j]', {});
  options.edges.forEach(([i, j], k) => {
    const ok = (x: number) => Number.isInteger(x) && x >= 0 && x < options.n;
    if (!ok(i) || !ok(j)) throw new DarbouxError('SPEC', `edgeSum: edge ${k} = [${i}, ${j}] is out of range: sites are 0 … ${options.n - 1}`, { edge: k, i, j, n: options.n });
    if (i === j) throw new DarbouxError('SPEC', `edgeSum: edge ${k} = [${i}, ${j}] joins a site to itself; remove it`, { edge: k, i, j });
  });
  const { text, lifted } = liftBody([potentialBody('edgeSum', options.potential)]);
  return make('pairSum', [q, ...lifted], { ...attrs, edges: options.edges.flatMap(([i, j]) => [i, j]), body: text });
}
