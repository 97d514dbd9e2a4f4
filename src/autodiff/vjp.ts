import { DarbouxError } from '../errors.js';
import { add, constant, stack } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { opDef, registerGraphCalculus } from '../ir/op.js';
import { jvp } from './jvp.js';
import { topologicalOrder } from '../ir/traverse.js';

/** Pending cotangent of one node: dense contributions, plus per-element scalars from element reads (`index`). */
interface Pending {
  dense: Expr | null;
  elements: Map<number, Expr> | null;
}

/**
 * Reverse mode over the DAG: the cotangents ⟨c, ∂outputs/∂x⟩ for each node x in `wrt`. Each node is
 * visited once in reverse topological order, so shared subexpressions are differentiated once and the
 * gradient graph stays within a small constant factor of the original. Contributions through ops that read one
 * element of a vector (an op record's `elementRead`, e.g. `index`) are gathered into one `stack` per vector
 * instead of a sum of one-hot vectors.
 *
 * @example
 * const [dHdq, dHdp] = vjp([H], [constant(1)], [q, p]);
 */
export function vjp(outputs: readonly Expr[], cotangents: readonly Expr[], wrt: readonly Expr[]): Expr[] {
  const order = topologicalOrder(outputs);
  const pending = new Map<Expr, Pending>();
  const contribute = (node: Expr, c: Expr) => {
    const p = pending.get(node) ?? { dense: null, elements: null };
    p.dense = p.dense === null ? c : add(p.dense, c);
    pending.set(node, p);
  };
  const contributeElement = (node: Expr, at: number, c: Expr) => {
    const p = pending.get(node) ?? { dense: null, elements: null };
    p.elements ??= new Map();
    const prev = p.elements.get(at);
    p.elements.set(at, prev === undefined ? c : add(prev, c));
    pending.set(node, p);
  };
  outputs.forEach((o, k) => contribute(o, cotangents[k]!));

  const total = (node: Expr): Expr | null => {
    const p = pending.get(node);
    if (p === undefined) return null;
    let c = p.dense;
    if (p.elements !== null) {
      const n = node.shape[0]!;
      const gathered = stack(Array.from({ length: n }, (_, i) => p.elements!.get(i) ?? 0));
      c = c === null ? gathered : add(c, gathered);
    }
    return c;
  };

  const wanted = new Set(wrt);
  // Only nodes that depend on something in `wrt` need cotangents.
  const relevant = new Set<Expr>();
  for (const node of order) if (wanted.has(node) || node.args.some((a) => relevant.has(a))) relevant.add(node);
  const result = new Map<Expr, Expr | null>();
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    const c = total(node);
    if (wanted.has(node)) result.set(node, c);
    pending.delete(node);
    if (c === null || node.args.length === 0 || !relevant.has(node)) continue;
    const def = opDef(node.op);
    const read = def.elementRead?.(node) ?? null;
    if (read !== null) {
      const a = node.args[read.arg]!;
      if (relevant.has(a)) contributeElement(a, read.element, c);
      continue;
    }
    const parts = def.vjp(node, c, node.args.map((a) => relevant.has(a)));
    node.args.forEach((a, i) => {
      const part = parts[i];
      if (part !== null && part !== undefined && relevant.has(a)) contribute(a, part);
    });
  }
  return wrt.map((x) => result.get(x) ?? constant(0, x.shape));
}

/**
 * Gradient of a scalar expression with respect to input nodes.
 *
 * @example
 * const [dq, dp] = gradient(H, [q, p]);
 */
export function gradient(f: Expr, wrt: readonly Expr[]): Expr[] {
  if (f.shape.length !== 0) {
    throw new DarbouxError('SHAPE', `gradient: the function must be scalar, got shape [${f.shape.join('×')}]; use vjp with a cotangent of that shape`, { shape: [...f.shape] });
  }
  return vjp([f], [constant(1)], wrt);
}

registerGraphCalculus({ vjp, jvp });
