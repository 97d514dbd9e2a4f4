/**
 * Reference pair, edge and site sums that unroll every pair, edge and site into an ordinary expression graph
 * with the DSL builders. They have the signatures of the IR reductions in `src/ir/ops/pairs.ts` (whose graph
 * size is independent of n) and stay as the test oracle for them; the graph here grows as n² (pairs), |E| or n.
 *
 * Minimum image without a `round` op: each displacement component d is wrapped as d − L·round(d/L), with
 * round(u) written exactly (not smoothed) as a sum of steps built from `sign`, valid for |u| < IMAGE_RANGE + ½,
 * i.e. for particles at most about two box lengths apart in each coordinate (positions are not wrapped
 * during a run, so a particle that diffuses further than that from another gets a wrong image here; the IR
 * reduction has no such limit). `sign` has derivative 0, so the forces are exact everywhere else. The cutoff is
 * the exact step [r < cutoff] built the same way.
 */
import { DarbouxError } from '../../src/errors.js';
import { add, addAll, constant, index, mul, sign, sqrt, stack, sub, type Operand } from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';

/** Displacements |d/L| < IMAGE_RANGE + ½ get the right minimum image. */
const IMAGE_RANGE = 2;

/** Options of {@link pairSum}. */
export interface PairSumOptions {
  n: number;
  dim: number;
  potential: (r: Expr) => Expr;
  cutoff?: number;
  shift?: boolean;
  box?: readonly number[];
}

/** Options of {@link edgeSum}. */
export interface EdgeSumOptions {
  n: number;
  dim: number;
  edges: readonly (readonly [number, number])[];
  potential: (r: Expr) => Expr;
  box?: readonly number[];
}

/** Options of {@link siteSum}. */
export interface SiteSumOptions {
  n: number;
  dim: number;
  body: (x: Expr) => Expr;
}

/** The exact step H(x) = 1 for x ≥ 0, 0 for x < 0, from `sign` alone (sign(0) = 0 is lifted by ½ first). */
function stepAtLeastZero(x: Operand): Expr {
  return mul(0.5, add(1, sign(add(sign(x), 0.5))));
}

/** round(u) (ties away from zero), exact for |u| < IMAGE_RANGE + ½. */
function roundBounded(u: Expr): Expr {
  const terms: Expr[] = [];
  for (let k = 0; k < IMAGE_RANGE; k++) {
    terms.push(sub(stepAtLeastZero(sub(u, k + 0.5)), stepAtLeastZero(sub(mul(-1, u), k + 0.5))));
  }
  return addAll(terms);
}

/** |q_i − q_j| with the minimum image in `box` when one is given. */
function distance(q: Expr, dim: number, i: number, j: number, box: readonly number[] | undefined): Expr {
  const squares: Expr[] = [];
  for (let k = 0; k < dim; k++) {
    let d = sub(index(q, i * dim + k), index(q, j * dim + k));
    if (box !== undefined) d = sub(d, mul(box[k]!, roundBounded(mul(1 / box[k]!, d))));
    squares.push(mul(d, d));
  }
  return sqrt(addAll(squares));
}

function checkLayout(q: Expr, n: number, dim: number, where: string): void {
  if (q.shape.length !== 1 || q.shape[0] !== n * dim) {
    throw new DarbouxError('SHAPE', `${where}: q must have shape [${n * dim}] (n·dim), got [${q.shape.join('×')}]`, { n, dim, shape: q.shape });
  }
}

/**
 * Σ_{i<j} V(r_ij) over all pairs, unrolled; pairs with r ≥ cutoff are skipped, `shift` subtracts V(cutoff).
 *
 * @example
 * const q = input('q', 'q', [9]);
 * const E = pairSum(q, { n: 3, dim: 3, potential: (r) => powi(r, -12) });
 */
export function pairSum(q: Expr, options: PairSumOptions): Expr {
  const { n, dim, potential, cutoff, shift, box } = options;
  checkLayout(q, n, dim, 'pairSum');
  const offset = shift === true && cutoff !== undefined ? potential(constant(cutoff)) : undefined;
  const terms: Expr[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const r = distance(q, dim, i, j, box);
      let v = potential(r);
      if (offset !== undefined) v = sub(v, offset);
      // [r < cutoff] = 1 − [r − cutoff ≥ 0].
      if (cutoff !== undefined) v = mul(v, sub(1, stepAtLeastZero(sub(r, cutoff))));
      terms.push(v);
    }
  }
  return addAll(terms);
}

/**
 * Σ_{(i,j)∈E} V(r_ij) over an explicit edge list, unrolled.
 *
 * @example
 * const q = input('q', 'q', [6]);
 * const E = edgeSum(q, { n: 3, dim: 2, edges: [[0, 1], [1, 2]], potential: (r) => mul(50, powi(sub(r, 1), 2)) });
 */
export function edgeSum(q: Expr, options: EdgeSumOptions): Expr {
  const { n, dim, edges, potential, box } = options;
  checkLayout(q, n, dim, 'edgeSum');
  return addAll(edges.map(([i, j]) => potential(distance(q, dim, i, j, box))));
}

/**
 * Σ_i f(x_i) over the sites, unrolled; `body` gets particle i's position as a [dim] vector.
 *
 * @example
 * const q = input('q', 'q', [6]);
 * const E = siteSum(q, { n: 2, dim: 3, body: (x) => mul(0.1, index(x, 2)) });
 */
export function siteSum(q: Expr, options: SiteSumOptions): Expr {
  const { n, dim, body } = options;
  checkLayout(q, n, dim, 'siteSum');
  const terms: Expr[] = [];
  for (let i = 0; i < n; i++) {
    terms.push(body(stack(Array.from({ length: dim }, (_, k) => index(q, i * dim + k)))));
  }
  return addAll(terms);
}
