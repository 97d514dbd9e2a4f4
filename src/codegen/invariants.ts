import type { Expr } from '../ir/expr.js';
import { topologicalOrder } from '../ir/traverse.js';

/**
 * The maximal non-leaf subexpressions of `roots` that do not depend on any of `varying` (e.g. the state and
 * time): they can be computed once, outside the step loop.
 *
 * @example
 * loopInvariants([next.q, next.p], [h.q, h.p, h.time]) // e.g. dt/2, λ/3
 */
export function loopInvariants(roots: readonly Expr[], varying: readonly Expr[]): Expr[] {
  const order = topologicalOrder(roots);
  const dependent = new Set<Expr>(varying);
  for (const node of order) if (node.args.some((a) => dependent.has(a))) dependent.add(node);
  const invariant = (n: Expr) => !dependent.has(n) && n.args.length > 0;
  const result = new Set<Expr>();
  for (const node of order) {
    if (!dependent.has(node)) continue;
    for (const a of node.args) if (invariant(a)) result.add(a);
  }
  for (const r of roots) if (invariant(r)) result.add(r);
  return [...result];
}
