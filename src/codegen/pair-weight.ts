/**
 * The per-pair weight w(r) = f(r)/r of a force gather (f = dB/dr, the pairGradient body), rewritten for the
 * inner loop of a per-particle kernel:
 * - when the body reads r only through r² and one multiplicative factor r (as dB/dr of any potential of r² does:
 *   d/dr g(r²) = g′(r²)·2r), w is written over r² directly: no square root and no division by r per pair;
 * - divisions by the same denominator share one reciprocal.
 * Both are exact rewrites up to rounding. Bodies of other forms keep f(r)/r.
 */
import type { Expr } from '../ir/expr.js';
import { constant, div, mul } from '../ir/build.js';
import { make } from '../ir/make.js';
import { substitute, topologicalOrder } from '../ir/traverse.js';
import { bound } from '../ir/ops/pair-body.js';

/** The bound variable r² of a rewritten weight. */
export const R_SQUARED = bound('rSquared');

/** Whether `e` is r·r or r² (powi, or pow with the constant exponent 2). */
function isSquare(e: Expr, r: Expr): boolean {
  if (e.op === 'mul' && e.args[0] === r && e.args[1] === r) return true;
  if (e.op === 'powi' && e.args[0] === r && e.attrs.n === 2) return true;
  return e.op === 'pow' && e.args[0] === r && e.args[1]!.op === 'const' && e.args[1]!.attrs.value === 2;
}

/**
 * w = f/r over r² (R_SQUARED), or null when f has another form: f must be a product (through mul, neg and the
 * numerator of div) with r as one factor once, and r² everywhere else.
 *
 * @example
 * weightOverSquare(f, r) // for f = −c/t/t·(0.5/t)·(2r), t = √(r² + ε²): −c/t/t·(0.5/t)·2
 */
export function weightOverSquare(f: Expr, r: Expr): Expr | null {
  const squares = new Map<Expr, Expr>();
  for (const e of topologicalOrder([f])) if (isSquare(e, r)) squares.set(e, R_SQUARED);
  const [g] = substitute([f], squares);
  const holding = new Set<Expr>();
  for (const e of topologicalOrder([g!])) if (e === r || e.args.some((a) => holding.has(a))) holding.add(e);
  if (!holding.has(g!)) return null; // f does not depend on r at all: f/r needs r
  let at = g!, chain = 1;
  while (at !== r) {
    const next = at.op === 'mul' || at.op === 'neg' ? at.args.filter((a) => holding.has(a)) : at.op === 'div' && !holding.has(at.args[1]!) ? [at.args[0]!] : [];
    if (next.length !== 1 || (at.op === 'mul' && at.args[0] === at.args[1])) return null;
    at = next[0]!;
    chain++;
  }
  if (chain !== holding.size) return null; // r also appears off the product chain
  return substitute([g!], new Map([[r, constant(1)]]))[0]!;
}

/**
 * The same value with every division by a denominator used two or more times replaced by a multiplication by
 * one shared reciprocal.
 *
 * @example
 * shareReciprocals(div(div(a, t), t)) // mul(mul(a, 1/t), 1/t)
 */
export function shareReciprocals(root: Expr): Expr {
  const order = topologicalOrder([root]);
  const uses = new Map<Expr, number>();
  for (const e of order) if (e.op === 'div' && e.shape.length === 0) uses.set(e.args[1]!, (uses.get(e.args[1]!) ?? 0) + 1);
  const memo = new Map<Expr, Expr>(), reciprocal = new Map<Expr, Expr>();
  for (const e of order) {
    const args = e.args.map((a) => memo.get(a)!);
    if (e.op === 'div' && e.shape.length === 0 && (uses.get(e.args[1]!) ?? 0) >= 2) {
      let inv = reciprocal.get(args[1]!);
      if (inv === undefined) reciprocal.set(args[1]!, (inv = div(1, args[1]!)));
      memo.set(e, mul(args[0]!, inv));
    } else memo.set(e, args.length === 0 || args.every((a, k) => a === e.args[k]) ? e : make(e.op, args, e.attrs));
  }
  return memo.get(root)!;
}
