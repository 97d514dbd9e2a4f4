import { DarbouxError } from '../../errors.js';
import type { Attrs, Expr } from '../expr.js';
import { defineOp, type ElementwiseImpl, type OpDef, type PrintRule } from '../op.js';
import { sameShape, showShape, type Shape } from '../shape.js';
import { add, mul, sum } from '../build.js';
import { isConstant } from '../make.js';

/**
 * Result shape of an elementwise op: equal shapes, or scalars broadcast against one shape.
 *
 * @example
 * broadcastShape('add', [q, constant(1)]); // q.shape, e.g. [2]
 */
export function broadcastShape(op: string, args: readonly Expr[]): Shape {
  let shape: Shape = [];
  for (const a of args) {
    if (a.shape.length === 0) continue;
    if (shape.length === 0) shape = a.shape;
    else if (!sameShape(shape, a.shape)) {
      throw new DarbouxError(
        'SHAPE',
        `${op}: shapes ${args.map((x) => showShape(x.shape)).join(' and ')} do not match (elementwise ops need equal shapes or a scalar)`,
      );
    }
  }
  return shape;
}

/**
 * Reduces a cotangent to an argument's shape (sums over broadcast dimensions).
 *
 * @example
 * unbroadcast(c, []); // sum(c) for a vector cotangent c of a scalar argument that was broadcast
 */
export function unbroadcast(cotangent: Expr, shape: Shape): Expr {
  return shape.length === 0 && cotangent.shape.length > 0 ? sum(cotangent) : cotangent;
}

interface ElementwiseSpec {
  name: string;
  arity: number;
  /** Kernels; `call` defaults to the op's name. */
  impl: Omit<ElementwiseImpl, 'call'> & { call?: string };
  /** ∂out/∂args[i] as an expression (elementwise), built only when needed. */
  partial: (node: Expr, i: number) => Expr;
  simplify?: (args: readonly Expr[], attrs: Attrs, shape: Shape) => Expr | undefined;
  print: PrintRule;
  /** Optional direct rules overriding the partial-based ones (add, sub, neg). */
  jvp?: OpDef['jvp'];
  vjp?: OpDef['vjp'];
}

/**
 * Defines an elementwise op from its scalar kernels and its partial derivatives; JVP and VJP follow
 * (tangent = Σ ∂out/∂aᵢ · ȧᵢ, cotangent_i = unbroadcast(c · ∂out/∂aᵢ)). A tensor node reads each element of
 * its arguments once (so elementwise chains fuse into one loop).
 *
 * @example
 * elementwiseOp({ name: 'exp', arity: 1, print: { call: 'exp' }, partial: (node) => node, impl: { apply: ([x]) => Math.exp(x!) } });
 */
export function elementwiseOp(spec: ElementwiseSpec): OpDef {
  return defineOp({
    name: spec.name,
    arity: spec.arity,
    elementwise: { ...spec.impl, call: spec.impl.call ?? spec.name },
    print: spec.print,
    readsOnce: (node, arg) => node.shape.length > 0 || node.args[arg]!.shape.length === 0,
    shape(args) {
      if (args.length !== spec.arity) {
        throw new DarbouxError('SHAPE', `${spec.name}: expected ${spec.arity} argument(s), got ${args.length}`);
      }
      return broadcastShape(spec.name, args);
    },
    simplify: spec.simplify,
    jvp:
      spec.jvp ??
      ((node, tangents) => {
        let acc: Expr | null = null;
        tangents.forEach((t, i) => {
          if (t === null) return;
          const term = mul(spec.partial(node, i), t);
          acc = acc === null ? term : add(acc, term);
        });
        return acc;
      }),
    vjp:
      spec.vjp ??
      ((node, c) =>
        node.args.map((a, i) => (isConstant(a) ? null : unbroadcast(mul(c, spec.partial(node, i)), a.shape)))),
  });
}
