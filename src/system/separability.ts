import { add, constant, neg, mul } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { topologicalOrder } from '../ir/traverse.js';

/** Additive split H = T(p) + V(q) (+ terms depending on neither), or the first term coupling q and p. */
export type SeparableSplit =
  | { separable: true; T: Expr; V: Expr }
  | { separable: false; coupling: Expr };

const Q = 1, P = 2;

/** Bitmask of which state inputs (q: 1, p: 2) each node depends on. */
function dependencies(root: Expr, q: Expr, p: Expr): Map<Expr, number> {
  const deps = new Map<Expr, number>();
  for (const node of topologicalOrder([root])) {
    let d = node === q ? Q : node === p ? P : 0;
    for (const a of node.args) d |= deps.get(a)!;
    deps.set(node, d);
  }
  return deps;
}

/**
 * Detects separability structurally: H is flattened over +, −, negation and multiplication by factors that
 * depend on neither q nor p (constants, parameters); each term must depend on q only or on p only.
 *
 * @example
 * splitSeparable(H, q, p) // { separable: true, T, V } or { separable: false, coupling }
 */
export function splitSeparable(H: Expr, q: Expr, p: Expr): SeparableSplit {
  const deps = dependencies(H, q, p);
  const terms: { term: Expr; scale: Expr }[] = [];
  const visit = (e: Expr, scale: Expr): void => {
    const d = deps.get(e)!;
    if (d === (Q | P)) {
      if (e.op === 'add') return e.args.forEach((a) => visit(a, scale));
      if (e.op === 'sub') return visit(e.args[0]!, scale), visit(e.args[1]!, neg(scale));
      if (e.op === 'neg') return visit(e.args[0]!, neg(scale));
      if (e.op === 'mul' && e.shape.length === 0) {
        const [a, b] = e.args as [Expr, Expr];
        if (deps.get(a) === 0) return visit(b, mul(scale, a));
        if (deps.get(b) === 0) return visit(a, mul(scale, b));
      }
    }
    terms.push({ term: e, scale });
  };
  visit(H, constant(1));
  let T: Expr = constant(0), V: Expr = constant(0);
  for (const { term, scale } of terms) {
    const d = deps.get(term)!;
    if (d === (Q | P)) return { separable: false, coupling: term };
    if (d === P) T = add(T, mul(scale, term));
    else V = add(V, mul(scale, term));
  }
  return { separable: true, T, V };
}
