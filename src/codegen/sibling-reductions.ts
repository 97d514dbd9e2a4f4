import type { Expr } from '../ir/expr.js';
import { opDef, type EmitContext, type ReductionRule, type Value } from '../ir/op.js';
import { size } from '../ir/shape.js';

/** A reduction that reads a tensor X once per element, by position in its reader. */
interface Reduction {
  reader: Expr;
  /** Which argument of the reader is X. */
  arg: number;
}

/** A reading of X by a reduction op, with its rule and accumulator count. */
export interface SiblingReduction extends Reduction {
  rule: ReductionRule;
  accumulators: number;
}

/** What emitting sibling reductions needs of the lowering: the op emitters' context, and which nodes have values. */
export interface ReductionContext extends EmitContext {
  /** Whether a node already has a value in this scope. */
  has(node: Expr): boolean;
}

/**
 * Whether every reader of X is a reduction over X's elements that reads each once — an op whose record has a
 * `reduction` rule accepting X's position (dot, sum, matTvec with X as its vector and few columns, …) — so that
 * all of them can share ONE loop over X (horizontal fusion): the network gradient W₀ᵀg, W₁ᵀg then costs one
 * pass over g, and g itself is never stored.
 *
 * @example
 * const group = siblingReductions(readers.get(g) ?? [], 16); // null unless ≥ 2 qualifying readers
 */
export function siblingReductions(readers: readonly Reduction[], unrollLimit: number): SiblingReduction[] | null {
  if (readers.length < 2) return null;
  const group: SiblingReduction[] = [];
  for (const { reader, arg } of readers) {
    if (reader.args.filter((a) => a === reader.args[arg]).length !== 1) return null;
    const rule = opDef(reader.op).reduction;
    const accumulators = rule?.accumulators(reader, arg, unrollLimit) ?? null;
    if (rule === undefined || accumulators === null) return null;
    group.push({ reader, arg, rule, accumulators });
  }
  return group;
}

/**
 * Emits the sibling reductions of X in one loop: X[i] computed once per element (from its fused value), each
 * reader's accumulators updated from it by its op's reduction rule. Returns the readers' values, or null when a
 * reader's other argument has no value yet (the caller then stores X and lowers the readers one by one).
 *
 * @example
 * const values = emitSiblingReductions(lowering, g, group);
 */
export function emitSiblingReductions(ctx: ReductionContext, x: Expr, group: readonly SiblingReduction[]): Map<Expr, Value> | null {
  for (const { reader, arg } of group) {
    if (reader.args.some((a, k) => k !== arg && !ctx.has(a))) return null;
  }
  const n = size(x.shape);
  const accumulators = group.map(({ rule, accumulators: count }) =>
    Array.from({ length: count }, () => ctx.mutable(ctx.literal(rule.init))),
  );
  ctx.loop(n, (i) => {
    const xi = ctx.temp(ctx.elem(x, i));
    group.forEach(({ reader, arg, rule }, k) => rule.update(ctx, reader, arg, i, xi, accumulators[k]!));
  });
  const values = new Map<Expr, Value>();
  group.forEach(({ reader }, k) => {
    const acc = accumulators[k]!;
    values.set(reader, reader.shape.length === 0 ? { kind: 'scalar', code: acc[0]! } : { kind: 'unrolled', elems: acc });
  });
  return values;
}
