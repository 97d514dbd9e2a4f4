/**
 * What `Lowering.emit` decides about the nodes of one call before it lowers them (pure: reads the graph only):
 * how often each node is read, who reads it, which tensors are read only by sibling reductions (computed once per
 * element in one shared loop: sibling-reductions.ts), and which nodes may be fused into their reader.
 */
import type { Expr } from '../ir/expr.js';
import { opDef } from '../ir/op.js';
import { size } from '../ir/shape.js';
import { siblingReductions, type SiblingReduction } from './sibling-reductions.js';

/** One reading of a node: the reader and which of its arguments the node is. */
interface Reading {
  reader: Expr;
  arg: number;
}

/** The emission plan of one `emit` call (see `emissionPlan`). */
export interface EmissionPlan {
  /** Whether a node is read once only (a scalar reader counts 1; a tensor reader or being a root counts 2). */
  usedOnce(node: Expr): boolean;
  /** Whether a node may be fused into its reader: not a root, and read once per element by its only reader, or only by sibling reductions. */
  fusible(node: Expr): boolean;
  /** The tensor whose sibling-reduction group `reader` belongs to, if any. */
  groupOf(reader: Expr): Expr | undefined;
  /** The sibling reductions that read tensor `x` (all its readers), if they share one loop. */
  siblingsOf(x: Expr): SiblingReduction[] | undefined;
}

/**
 * The emission plan for `order` (the nodes to lower, in dependency order) computing `roots`, with tensors of at
 * most `unrollLimit` elements unrolled.
 *
 * @example
 * const plan = emissionPlan(roots, order, 16);
 * const value = lower(node, plan.usedOnce(node), plan.fusible(node));
 */
export function emissionPlan(roots: readonly Expr[], order: readonly Expr[], unrollLimit: number): EmissionPlan {
  const uses = new Map<Expr, number>();
  const readers = new Map<Expr, Reading[]>();
  for (const r of roots) uses.set(r, (uses.get(r) ?? 0) + 2);
  for (const n of order) {
    n.args.forEach((a, k) => {
      uses.set(a, (uses.get(a) ?? 0) + (n.shape.length === 0 ? 1 : 2));
      const list = readers.get(a);
      if (list) list.push({ reader: n, arg: k });
      else readers.set(a, [{ reader: n, arg: k }]);
    });
  }
  const isRoot = new Set(roots);
  // Tensors whose readers are all reductions over them: computed once per element inside one shared loop.
  const siblingsOf = new Map<Expr, SiblingReduction[]>();
  const groupOf = new Map<Expr, Expr>(); // reader → the tensor its group reduces
  for (const node of order) {
    if (isRoot.has(node) || size(node.shape) <= unrollLimit) continue;
    const group = siblingReductions(readers.get(node) ?? [], unrollLimit);
    if (group === null) continue;
    siblingsOf.set(node, group);
    for (const { reader } of group) groupOf.set(reader, node);
  }
  return {
    usedOnce: (node) => (uses.get(node) ?? 0) === 1,
    fusible: (node) => {
      const only = readers.get(node);
      return !isRoot.has(node) && ((only?.length === 1 && readsEachElementOnce(only[0]!.reader, only[0]!.arg)) || siblingsOf.has(node));
    },
    groupOf: (reader) => groupOf.get(reader),
    siblingsOf: (x) => siblingsOf.get(x),
  };
}

/**
 * Whether `reader` reads every element of its argument `arg` exactly once, in one loop or straight-line (its op
 * record's `readsOnce`, and the argument not repeated): then an elementwise argument can be fused into it.
 */
function readsEachElementOnce(reader: Expr, arg: number): boolean {
  if (reader.args.filter((a) => a === reader.args[arg]).length !== 1) return false;
  return opDef(reader.op).readsOnce?.(reader, arg) ?? false;
}
