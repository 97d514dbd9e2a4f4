import { DarbouxError } from '../errors.js';
import { Expr, intern, internedNode, internKey, type Attrs } from './expr.js';
import { opDef } from './op.js';
import { evaluateOp } from './evaluate-op.js';
import { size } from './shape.js';
import './ops/index.js';

/** Whether a node is a compile-time constant (uniform `const` or general `tensor`). @example isConstant(constant(2)) // true */
export function isConstant(e: Expr): boolean {
  return e.op === 'const' || e.op === 'tensor';
}

/** Flat f64 values of a constant node. @example constantValues(constant(2))[0] // 2 */
export function constantValues(e: Expr): Float64Array {
  if (e.op === 'const') return new Float64Array(size(e.shape)).fill(e.attrs.value as number);
  if (e.op === 'tensor') return Float64Array.from(e.attrs.values as readonly number[]);
  throw new DarbouxError('INTERNAL', `constantValues: a '${e.op}' node is not a constant; test it with isConstant first`, { op: e.op, id: e.id });
}

/** Whether `e` is a constant whose every element equals `v` (so 0 matches -0). @example isConstantValue(constant(0), 0) */
export function isConstantValue(e: Expr, v: number): boolean {
  return e.op === 'const' && e.attrs.value === v;
}

/**
 * A constant node holding `values` with `shape`, folded to a uniform `const` when all elements agree. @internal
 *
 * @example
 * constantNode(Float64Array.of(2, 2), [2]).op; // 'const'
 * constantNode(Float64Array.of(1, 2), [2]).op; // 'tensor'
 */
export function constantNode(values: Float64Array, shape: readonly number[]): Expr {
  const first = values[0]!;
  if (values.every((v) => Object.is(v, first))) return intern('const', [], { value: first, shape: [...shape] }, shape);
  return intern('tensor', [], { values: Array.from(values), shape: [...shape] }, shape);
}

/**
 * The node factory: checks shapes, folds constants, applies the op's local simplifications, then interns.
 * Every node in darboux is built here.
 *
 * @example
 * make('add', [x, constant(0)]) === x; // true: x + 0 simplifies to x
 */
export function make(op: string, args: readonly Expr[], attrs: Attrs = {}): Expr {
  const def = opDef(op);
  for (const a of args) {
    if (!(a instanceof Expr)) throw new DarbouxError('SHAPE', `${op}: argument is not an expression (got ${String(a)})`);
  }
  // A node that already exists was built here from the same op, args and attrs (shape checked, not folded, not
  // simplified away): building it again gives the same node, so the checks and rewrites can be skipped.
  const key = internKey(op, args, attrs);
  const existing = internedNode(key);
  if (existing !== undefined) return existing;
  const shape = def.shape(args, attrs);
  if (args.length > 0 && args.every(isConstant) && op !== 'input') {
    const values = evaluateOp(def, args.map(constantValues), { args, attrs, shape });
    return constantNode(values, shape);
  }
  const simplified = def.simplify?.(args, attrs, shape);
  if (simplified !== undefined) return simplified;
  return intern(op, args, attrs, shape, key);
}
