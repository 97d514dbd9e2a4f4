import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { size } from '../ir/shape.js';
import { flat } from '../ir/ops/tensor.js';
import type { Lowering } from './lowering.js';

/** A reduction that reads a tensor X once per element, by position in its reader. */
interface Reduction {
  reader: Expr;
  /** Which argument of the reader is X. */
  arg: number;
}

/**
 * Whether every reader of X is a reduction over X's elements that reads each once — `dot`, `sum`, or `matTvec`
 * with X as its vector and few columns — so that all of them can share ONE loop over X (horizontal fusion): the
 * network gradient W₀ᵀg, W₁ᵀg then costs one pass over g, and g itself is never stored.
 *
 * @example
 * const group = siblingReductions(readers.get(g) ?? [], 16); // null unless ≥ 2 qualifying readers
 */
export function siblingReductions(readers: readonly Reduction[], unrollLimit: number): Reduction[] | null {
  if (readers.length < 2) return null;
  for (const { reader, arg } of readers) {
    if (reader.args.filter((a) => a === reader.args[arg]).length !== 1) return null;
    const ok =
      reader.op === 'dot' ||
      reader.op === 'sum' ||
      (reader.op === 'matTvec' && arg === 1 && reader.args[0]!.shape[1]! <= unrollLimit);
    if (!ok) return null;
  }
  return [...readers];
}

/**
 * Emits the sibling reductions of X in one loop: X[i] computed once per element (from its fused value), each
 * reader's accumulators updated from it. Returns the readers' values, or null when a reader's other argument
 * has no value yet (the caller then stores X and lowers the readers one by one).
 *
 * @example
 * const values = emitSiblingReductions(lowering, g, group);
 */
export function emitSiblingReductions(lowering: Lowering, x: Expr, group: readonly Reduction[]): Map<Expr, Value> | null {
  for (const { reader, arg } of group) {
    if (reader.args.some((a, k) => k !== arg && !lowering.has(a))) return null;
  }
  const n = size(x.shape);
  const accumulators = group.map(({ reader }) => {
    const count = reader.op === 'matTvec' ? reader.args[0]!.shape[1]! : 1;
    return Array.from({ length: count }, () => lowering.mutable(lowering.literal(0)));
  });
  lowering.loop(n, (i) => {
    const xi = lowering.temp(lowering.elem(x, i));
    group.forEach(({ reader, arg }, k) => {
      const acc = accumulators[k]!;
      if (reader.op === 'sum') lowering.line(`${acc[0]} += ${xi}`);
      else if (reader.op === 'dot') lowering.line(`${acc[0]} += ${lowering.elem(reader.args[1 - arg]!, i)} * ${xi}`);
      else {
        const m = reader.args[0]!, cols = m.shape[1]!;
        acc.forEach((a, j) => lowering.line(`${a} += ${lowering.elem(m, flat(i, cols, j))} * ${xi}`));
      }
    });
  });
  const values = new Map<Expr, Value>();
  group.forEach(({ reader }, k) => {
    const acc = accumulators[k]!;
    values.set(reader, reader.op === 'matTvec' ? { kind: 'unrolled', elems: acc } : { kind: 'scalar', code: acc[0]! });
  });
  return values;
}
