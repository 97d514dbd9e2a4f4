/**
 * Writing lowered values out element by element (JS and WGSL alike), and parameter gradients of outer-product
 * form Σ outer(a, b) straight into their accumulator (`g[i·n + j] += a[i]·b[j]`) without materialising any
 * outer product. Shared by the training kernels and the adjoint runners.
 */
import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { sameShape, size } from '../ir/shape.js';
import { flat } from '../ir/ops/tensor.js';
import type { Lowering } from './lowering.js';

/**
 * Appends statements to `lowering` that hand each element of `value` (the lowered `node`) to `write(k, code)`
 * with k the flat element index (a number, or a loop-index expression for array values).
 *
 * @example
 * writeElements(lowering, grad, values[1], (k, code) => `out[${1 + offset} + ${k}] += ${code}`);
 */
export function writeElements(lowering: Lowering, node: Expr, value: Value, write: (k: number | string, code: string) => string): void {
  const n = size(node.shape);
  const uniform = value.kind === 'unrolled' && value.elems.every((e) => e === value.elems[0]);
  if (value.kind === 'array' || value.kind === 'fused' || (uniform && n > lowering.unrollLimit)) {
    lowering.loop(n, (i) => lowering.line(write(i, lowering.elem(node, i))));
    return;
  }
  for (let i = 0; i < n; i++) lowering.line(write(i, value.kind === 'scalar' ? value.code : value.elems[i]!));
}

/**
 * A parameter gradient split for writing: Σ_k outer(a_k, b_k) + Σ rest. Gradients of weight matrices are sums
 * of outer products (one per use of the matrix); writing them term by term straight into the output never
 * materialises an m×n temporary per sample.
 */
export interface GradientParts {
  node: Expr;
  outers: [Expr, Expr][];
  rest: Expr[];
}

/**
 * Splits a gradient expression into outer-product terms and the rest (everything, for non-matrices).
 *
 * @example
 * gradientParts(add(outer(a, x), outer(b, y))).outers.length // 2
 */
export function gradientParts(g: Expr): GradientParts {
  const parts: GradientParts = { node: g, outers: [], rest: [] };
  const visit = (e: Expr) => {
    if (e.op === 'add' && e.args.every((a) => sameShape(a.shape, e.shape))) e.args.forEach(visit);
    else if (e.op === 'outer') parts.outers.push([e.args[0]!, e.args[1]!]);
    else parts.rest.push(e);
  };
  if (g.shape.length === 2) visit(g);
  else parts.rest.push(g);
  return parts;
}

/** The expressions to lower for a list of gradient parts (factors and remainders). @example lowering.emit(partRoots(parts)) */
export function partRoots(parts: readonly GradientParts[]): Expr[] {
  return parts.flatMap((p) => [...p.outers.flat(), ...p.rest]);
}

/**
 * Writes a lowered gradient (its parts already emitted) element by element: `target(k)` names output element
 * k; with `accumulate` every term adds (`+=`), else the first term assigns and the others add.
 *
 * @example
 * writeGradient(lowering, parts, (k) => `out[${offsetPlus(1, k)}]`, true);
 */
export function writeGradient(lowering: Lowering, parts: GradientParts, target: (k: number | string) => string, accumulate: boolean): void {
  let first = !accumulate;
  const op = () => {
    const o = first ? '=' : '+=';
    first = false;
    return o;
  };
  for (const r of parts.rest) {
    const o = op();
    writeElements(lowering, r, lowering.value(r), (k, code) => `${target(k)} ${o} ${code}`);
  }
  for (const [a, b] of parts.outers) {
    const o = op();
    const [m, n] = [a.shape[0]!, b.shape[0]!];
    const va = lowering.value(a), vb = lowering.value(b);
    const over = (v: Value, count: number, body: (i: number | string) => void) => {
      if (v.kind === 'array') lowering.loop(count, body);
      else for (let i = 0; i < count; i++) body(i);
    };
    over(va, m, (i) => over(vb, n, (j) => lowering.line(`${target(flat(i, n, j))} ${o} ${lowering.elem(a, i)} * ${lowering.elem(b, j)}`)));
  }
}

/** `a + b` for generated index arithmetic, folded when both are numbers. @example offsetPlus(3, 'i0') // '3 + i0' */
export function offsetPlus(a: number, b: number | string): number | string {
  if (typeof b === 'number') return a + b;
  return a === 0 ? b : `${a} + ${b}`;
}
