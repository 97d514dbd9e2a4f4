import { DarbouxError } from '../errors.js';
import type { Attrs, Expr } from './expr.js';
import type { OpDef } from './op.js';
import { size, type Shape } from './shape.js';

/**
 * f64 evaluation of one op on flat row-major argument values, with scalar broadcasting for elementwise ops.
 *
 * @example
 * evaluateOp(opDef('add'), [Float64Array.of(1), Float64Array.of(2)], node) // Float64Array [3]
 */
export function evaluateOp(
  def: OpDef,
  values: Float64Array[],
  node: { args: readonly Expr[]; attrs: Attrs; shape: Shape },
): Float64Array {
  if (def.elementwise !== undefined) {
    const n = size(node.shape);
    const out = new Float64Array(n);
    const f = def.elementwise.apply;
    const xs = new Array<number>(values.length);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < values.length; k++) {
        const v = values[k]!;
        xs[k] = v.length === 1 ? v[0]! : v[i]!;
      }
      out[i] = f(xs, node.attrs);
    }
    return out;
  }
  if (def.evaluate === undefined) {
    throw new DarbouxError('INTERNAL', `op '${def.name}' has neither elementwise kernels nor an evaluate rule: add one to its op record`, { op: def.name });
  }
  return def.evaluate(values, node);
}
