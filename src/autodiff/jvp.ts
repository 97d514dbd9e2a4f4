import type { Expr } from '../ir/expr.js';
import { opDef, registerGraphCalculus } from '../ir/op.js';
import { topologicalOrder } from '../ir/traverse.js';

/**
 * Forward mode: the tangents of `outputs` given tangents of some input nodes, as new expressions built with
 * each op's one-line rule. Inputs not in `seeds` have zero tangent; zero tangents stay symbolic (`null`).
 *
 * @example
 * const [dH] = jvp([H], new Map([[q, v]])); // directional derivative of H along v (in q)
 */
export function jvp(outputs: readonly Expr[], seeds: ReadonlyMap<Expr, Expr>): (Expr | null)[] {
  const tangent = new Map<Expr, Expr | null>();
  for (const node of topologicalOrder(outputs)) {
    const seed = seeds.get(node);
    if (seed !== undefined) {
      tangent.set(node, seed);
      continue;
    }
    if (node.args.length === 0) {
      tangent.set(node, null);
      continue;
    }
    const ts = node.args.map((a) => tangent.get(a) ?? null);
    tangent.set(node, ts.every((t) => t === null) ? null : opDef(node.op).jvp(node, ts));
  }
  return outputs.map((o) => tangent.get(o) ?? null);
}

registerGraphCalculus({ jvp });
