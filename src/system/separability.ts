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
 * The additive terms of `H` with their scale factors, left to right: H is flattened over +, −, negation and
 * multiplication by factors that depend on neither q nor p (`deps` 0). Iterative (an explicit stack), so a sum
 * of any length is fine. A term's scale is built when the term is reached, in the order a left-to-right walk
 * builds it, so new nodes get the same creation order (and commutative arguments the same order) as always.
 */
function additiveTerms(H: Expr, deps: ReadonlyMap<Expr, number>): { term: Expr; scale: Expr }[] {
  const terms: { term: Expr; scale: Expr }[] = [];
  const pending: { term: Expr; scale: () => Expr }[] = [{ term: H, scale: () => constant(1) }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    const e = next.term, scale = next.scale();
    // Children are pushed right to left so they are visited left to right.
    if (deps.get(e) === (Q | P)) {
      if (e.op === 'add') {
        for (let k = e.args.length - 1; k >= 0; k--) pending.push({ term: e.args[k]!, scale: () => scale });
        continue;
      }
      if (e.op === 'sub') {
        pending.push({ term: e.args[1]!, scale: () => neg(scale) }, { term: e.args[0]!, scale: () => scale });
        continue;
      }
      if (e.op === 'neg') {
        pending.push({ term: e.args[0]!, scale: () => neg(scale) });
        continue;
      }
      if (e.op === 'mul' && e.shape.length === 0) {
        const [a, b] = e.args as [Expr, Expr];
        const constantFactor = deps.get(a) === 0 ? a : deps.get(b) === 0 ? b : undefined;
        if (constantFactor !== undefined) {
          pending.push({ term: constantFactor === a ? b : a, scale: () => mul(scale, constantFactor) });
          continue;
        }
      }
    }
    terms.push({ term: e, scale });
  }
  return terms;
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
  let T: Expr = constant(0), V: Expr = constant(0);
  for (const { term, scale } of additiveTerms(H, deps)) {
    const d = deps.get(term)!;
    if (d === (Q | P)) return { separable: false, coupling: term };
    if (d === P) T = add(T, mul(scale, term));
    else V = add(V, mul(scale, term));
  }
  return { separable: true, T, V };
}
