import type { Expr } from './expr.js';
import { make } from './make.js';

/**
 * Nodes reachable from `roots`, each after its arguments (iterative, so deep graphs are fine). Nodes for
 * which `stopAt` holds are listed but not descended into.
 *
 * @example
 * topologicalOrder([H]).length // number of distinct nodes in H
 */
export function topologicalOrder(roots: readonly Expr[], stopAt?: (node: Expr) => boolean): Expr[] {
  const order: Expr[] = [];
  const seen = new Set<Expr>();
  // Parallel stacks (node, next argument to visit; -1 once the node is a leaf or a stop): no tuple per node.
  const nodes: Expr[] = [];
  const next: number[] = [];
  const push = (node: Expr) => {
    seen.add(node);
    nodes.push(node);
    next.push(node.args.length > 0 && !(stopAt?.(node) ?? false) ? 0 : -1);
  };
  for (const root of roots) {
    if (seen.has(root)) continue;
    push(root);
    while (nodes.length > 0) {
      const top = nodes.length - 1;
      const node = nodes[top]!;
      const k = next[top]!;
      if (k >= 0 && k < node.args.length) {
        next[top] = k + 1;
        const child = node.args[k]!;
        if (!seen.has(child)) push(child);
      } else {
        nodes.pop();
        next.pop();
        order.push(node);
      }
    }
  }
  return order;
}

/** Number of distinct nodes reachable from `roots` (graph size). @example graphSize([H]) */
export function graphSize(roots: readonly Expr[]): number {
  return topologicalOrder(roots).length;
}

/**
 * Rebuilds `roots` with some nodes replaced (typically inputs by expressions), through the factory, so the
 * result is simplified and interned. Shapes of replacements must match.
 *
 * @example
 * substitute([gradV], new Map([[q, qNext]]))[0] // ∇V evaluated at qNext
 */
export function substitute(roots: readonly Expr[], replacements: ReadonlyMap<Expr, Expr>): Expr[] {
  const memo = new Map<Expr, Expr>(replacements);
  for (const node of topologicalOrder(roots)) {
    if (memo.has(node)) continue;
    if (node.args.length === 0) {
      memo.set(node, node);
      continue;
    }
    const args = node.args.map((a) => memo.get(a)!);
    memo.set(node, args.every((a, i) => a === node.args[i]) ? node : make(node.op, args, node.attrs));
  }
  return roots.map((r) => memo.get(r)!);
}

/** The input nodes a graph depends on. @example inputsOf([H]).map((n) => n.attrs.name) */
export function inputsOf(roots: readonly Expr[]): Expr[] {
  return topologicalOrder(roots).filter((n) => n.op === 'input');
}
