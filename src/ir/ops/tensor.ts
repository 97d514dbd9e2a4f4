/** Tensor ops (never scalarised in the IR): dot, sum, index, stack, broadcast, matvec, matTvec, outer. */
import { DarbouxError } from '../../errors.js';
import type { Expr } from '../expr.js';
import { add, dot, index, matTvec, matvec, mul, outer, stack, sum } from '../build.js';
import { make } from '../make.js';
import { defineOp, type EmitContext, type ReductionRule, type Value } from '../op.js';
import { showShape, size, type Shape } from '../shape.js';

const shapeError = (op: string, args: readonly Expr[], need: string) =>
  new DarbouxError('SHAPE', `${op}: got ${args.map((a) => showShape(a.shape)).join(', ')}; ${need}`);

/**
 * Flat row-major index i·n + j, folded when both parts are constants.
 *
 * @example
 * flat(1, 3, 2);     // 5
 * flat('i', 3, 'j'); // '(i * 3 + j)'
 */
export function flat(i: number | string, n: number, j: number | string): number | string {
  if (typeof i === 'number' && typeof j === 'number') return i * n + j;
  if (i === 0) return j;
  return `(${i} * ${n} + ${j})`;
}

/**
 * Σⱼ term(j) for j < n: an inline sum when short, else an accumulator loop. Returns scalar code.
 *
 * @example
 * const code = reduce(ctx, n, (j) => `${ctx.elem(a, j)} * ${ctx.elem(b, j)}`); // a · b
 */
export function reduce(ctx: EmitContext, n: number, term: (j: number | string) => string): string {
  if (n <= ctx.unrollLimit) {
    return n === 0 ? ctx.literal(0) : `(${Array.from({ length: n }, (_, j) => term(j)).join(' + ')})`;
  }
  const acc = ctx.mutable(ctx.literal(0));
  ctx.loop(n, (j) => ctx.line(`${acc} += ${term(j)}`));
  return acc;
}

/**
 * A tensor value of `count` elements: unrolled scalars when short, computed inside its reader's loop when the
 * node is fusible, else an array filled by a loop.
 *
 * @example
 * return produce(ctx, rows, (i) => reduce(ctx, cols, (j) => `${ctx.elem(m, flat(i, cols, j))} * ${ctx.elem(v, j)}`)); // m·v
 */
export function produce(ctx: EmitContext, count: number, element: (i: number | string) => string): Value {
  if (count <= ctx.unrollLimit) {
    return { kind: 'unrolled', elems: Array.from({ length: count }, (_, i) => ctx.temp(element(i))) };
  }
  if (ctx.fusible) return { kind: 'fused', size: count, at: element };
  const name = ctx.array(count);
  ctx.loop(count, (i) => ctx.line(`${name}[${i}] = ${element(i)}`));
  return { kind: 'array', name, size: count };
}

/**
 * The reduction rule of a scalar sum Σᵢ term(i) over the reduced argument: one accumulator, `acc += term`.
 *
 * @example
 * reduction: scalarSum((_ctx, _n, _arg, _i, xi) => xi) // sum(x)
 */
function scalarSum(term: (ctx: EmitContext, node: Expr, arg: number, i: string, xi: string) => string): ReductionRule {
  return {
    accumulators: () => 1,
    init: 0,
    update: (ctx, node, arg, i, xi, [acc]) => ctx.line(`${acc} += ${term(ctx, node, arg, i, xi)}`),
  };
}

const need = (cond: boolean, op: string, args: readonly Expr[], what: string) => {
  if (!cond) throw shapeError(op, args, what);
};

defineOp({
  name: 'dot',
  print: { call: 'dot' },
  shape(args) {
    const [a, b] = args;
    need(args.length === 2 && a!.shape.length === 1 && b!.shape.length === 1 && a!.shape[0] === b!.shape[0], 'dot', args, 'needs two vectors of equal length');
    return [];
  },
  evaluate: ([a, b]) => Float64Array.of(a!.reduce((s, x, i) => s + x * b![i]!, 0)),
  emit: (ctx, n) => ({ kind: 'scalar', code: reduce(ctx, n.args[0]!.shape[0]!, (j) => `${ctx.elem(n.args[0]!, j)} * ${ctx.elem(n.args[1]!, j)}`) }),
  readsOnce: () => true,
  reduction: scalarSum((ctx, n, arg, i, xi) => `${ctx.elem(n.args[1 - arg]!, i)} * ${xi}`),
  jvp: (n, [ta, tb]) => sumOf(ta && dot(ta, n.args[1]!), tb && dot(n.args[0]!, tb)),
  vjp: (n, c) => [mul(c, n.args[1]!), mul(c, n.args[0]!)],
});

defineOp({
  name: 'sum',
  print: { call: 'sum' },
  shape(args) {
    need(args.length === 1, 'sum', args, 'needs one tensor');
    return [];
  },
  simplify([a]) {
    if (a!.shape.length === 0) return a;
    if (a!.op === 'broadcast') return mul(size(a!.shape), a!.args[0]!);
    return undefined;
  },
  evaluate: ([a]) => Float64Array.of(a!.reduce((s, x) => s + x, 0)),
  emit: (ctx, n) => ({ kind: 'scalar', code: reduce(ctx, size(n.args[0]!.shape), (j) => ctx.elem(n.args[0]!, j)) }),
  readsOnce: () => true,
  reduction: scalarSum((_ctx, _n, _arg, _i, xi) => xi),
  jvp: (_n, [t]) => t && sum(t),
  vjp: (n, c) => [broadcast(c, n.args[0]!.shape)],
});

/** A scalar repeated over a shape. @example broadcast(x, [3]) */
export function broadcast(x: Expr, shape: Shape): Expr {
  return make('broadcast', [x], { shape: [...shape] });
}

defineOp({
  name: 'broadcast',
  print: { custom: ([x], n) => `broadcast(${x}, ${size(n.shape)})` },
  shape(args, attrs) {
    need(args.length === 1 && args[0]!.shape.length === 0, 'broadcast', args, 'needs a scalar');
    return attrs.shape as number[];
  },
  simplify([x], _attrs, shape) {
    if (shape.length === 0) return x;
    return undefined;
  },
  evaluate: ([x], n) => new Float64Array(size(n.shape)).fill(x![0]!),
  emit: (ctx, n) => {
    const x = ctx.elem(n.args[0]!, 0);
    return size(n.shape) <= ctx.unrollLimit ? { kind: 'unrolled', elems: Array(size(n.shape)).fill(x) } : produce(ctx, size(n.shape), () => x);
  },
  jvp: (n, [t]) => t && broadcast(t, n.shape),
  vjp: (_n, c) => [sum(c)],
});

defineOp({
  name: 'index',
  print: { custom: ([a], n) => (n.attrs.j === undefined ? `${a}[${n.attrs.i}]` : `${a}[${n.attrs.i}, ${n.attrs.j}]`) },
  shape(args, attrs) {
    const a = args[0]!;
    const i = attrs.i as number, j = attrs.j as number | undefined;
    const ok =
      args.length === 1 &&
      Number.isInteger(i) && i >= 0 && i < (a.shape[0] ?? 0) &&
      (j === undefined ? a.shape.length === 1 : a.shape.length === 2 && Number.isInteger(j) && j >= 0 && j < a.shape[1]!);
    need(ok, 'index', args, `index [${j === undefined ? i : `${i}, ${j}`}] is out of range or of the wrong rank`);
    return [];
  },
  simplify([a], attrs) {
    if (a!.op === 'stack') return a!.args[attrs.i as number];
    if (a!.op === 'broadcast') return a!.args[0];
    return undefined;
  },
  evaluate: ([a], n) => Float64Array.of(a![flatIndex(n.args[0]!.shape, n.attrs.i as number, n.attrs.j as number | undefined)]!),
  emit: (ctx, n) => ({ kind: 'scalar', code: ctx.elem(n.args[0]!, flatIndex(n.args[0]!.shape, n.attrs.i as number, n.attrs.j as number | undefined)) }),
  readsOnce: () => true,
  selectsOnly: true,
  elementRead: (n) => (n.args[0]!.shape.length === 1 ? { arg: 0, element: n.attrs.i as number } : null),
  jvp: (n, [t]) => t && make('index', [t], n.attrs),
  vjp: (n, c) => {
    const a = n.args[0]!;
    const at = flatIndex(a.shape, n.attrs.i as number, n.attrs.j as number | undefined);
    if (a.shape.length === 1) return [stack(Array.from({ length: a.shape[0]! }, (_, k) => (k === at ? c : 0)))];
    const unit = new Float64Array(size(a.shape));
    unit[at] = 1;
    return [mul(c, make('tensor', [], { values: Array.from(unit), shape: [...a.shape] }))];
  },
});

function flatIndex(shape: Shape, i: number, j: number | undefined): number {
  return j === undefined ? i : i * shape[1]! + j;
}

defineOp({
  name: 'stack',
  print: { custom: (args) => `[${args.join(', ')}]` },
  shape(args) {
    need(args.length > 0 && args.every((a) => a.shape.length === 0), 'stack', args, 'needs one or more scalars');
    return [args.length];
  },
  evaluate: (vals) => Float64Array.from(vals, (v) => v[0]!),
  emit: (ctx, n) => {
    const elems = n.args.map((a) => ctx.elem(a, 0));
    if (elems.length <= ctx.unrollLimit || ctx.keepsLongVectorsUnrolled) return { kind: 'unrolled', elems };
    const name = ctx.array(elems.length);
    elems.forEach((e, i) => ctx.line(`${name}[${i}] = ${e}`));
    return { kind: 'array', name, size: elems.length };
  },
  jvp: (n, ts) => (ts.every((t) => t === null) ? null : stack(ts.map((t) => t ?? 0))),
  vjp: (n, c) => n.args.map((_a, i) => index(c, i)),
});

defineOp({
  name: 'matvec',
  print: { call: 'matvec' },
  shape(args) {
    const [m, v] = args;
    need(args.length === 2 && m!.shape.length === 2 && v!.shape.length === 1 && m!.shape[1] === v!.shape[0], 'matvec', args, 'needs a matrix [m×n] and a vector [n]');
    return [m!.shape[0]!];
  },
  evaluate: ([m, v], n) => {
    const [rows, cols] = n.args[0]!.shape as [number, number];
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i]! += m![i * cols + j]! * v![j]!;
    return out;
  },
  emit: (ctx, n) => {
    const [m, v] = n.args as [Expr, Expr];
    const cols = m.shape[1]!;
    return produce(ctx, m.shape[0]!, (i) => reduce(ctx, cols, (j) => `${ctx.elem(m, flat(i, cols, j))} * ${ctx.elem(v, j)}`));
  },
  readsOnce: (_n, arg) => arg === 0, // the vector is read once per row
  jvp: (n, [tm, tv]) => sumOf(tm && matvec(tm, n.args[1]!), tv && matvec(n.args[0]!, tv)),
  vjp: (n, c) => [outer(c, n.args[1]!), matTvec(n.args[0]!, c)],
});

defineOp({
  name: 'matTvec',
  print: { call: 'matTvec' },
  shape(args) {
    const [m, v] = args;
    need(args.length === 2 && m!.shape.length === 2 && v!.shape.length === 1 && m!.shape[0] === v!.shape[0], 'matTvec', args, 'needs a matrix [m×n] and a vector [m]');
    return [m!.shape[1]!];
  },
  evaluate: ([m, v], n) => {
    const [rows, cols] = n.args[0]!.shape as [number, number];
    const out = new Float64Array(cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j]! += m![i * cols + j]! * v![i]!;
    return out;
  },
  emit: (ctx, n) => {
    const [m, v] = n.args as [Expr, Expr];
    const [rows, cols] = m.shape as [number, number];
    return produce(ctx, cols, (j) => reduce(ctx, rows, (i) => `${ctx.elem(m, flat(i, cols, j))} * ${ctx.elem(v, i)}`));
  },
  readsOnce: (_n, arg) => arg === 0, // the vector is read once per column
  reduction: {
    // Over the vector v (X = v): one accumulator per column, while there are few columns.
    accumulators: (n, arg, unrollLimit) => (arg === 1 && n.args[0]!.shape[1]! <= unrollLimit ? n.args[0]!.shape[1]! : null),
    init: 0,
    update(ctx, n, _arg, i, xi, acc) {
      const m = n.args[0]!, cols = m.shape[1]!;
      acc.forEach((a, j) => ctx.line(`${a} += ${ctx.elem(m, flat(i, cols, j))} * ${xi}`));
    },
  },
  jvp: (n, [tm, tv]) => sumOf(tm && matTvec(tm, n.args[1]!), tv && matTvec(n.args[0]!, tv)),
  vjp: (n, c) => [outer(n.args[1]!, c), matvec(n.args[0]!, c)],
});

defineOp({
  name: 'outer',
  print: { call: 'outer' },
  shape(args) {
    const [a, b] = args;
    need(args.length === 2 && a!.shape.length === 1 && b!.shape.length === 1, 'outer', args, 'needs two vectors');
    return [a!.shape[0]!, b!.shape[0]!];
  },
  evaluate: ([a, b]) => {
    const out = new Float64Array(a!.length * b!.length);
    for (let i = 0; i < a!.length; i++) for (let j = 0; j < b!.length; j++) out[i * b!.length + j] = a![i]! * b![j]!;
    return out;
  },
  emit: (ctx, n) => {
    const [a, b] = n.args as [Expr, Expr];
    const cols = b.shape[0]!;
    if (size(n.shape) <= ctx.unrollLimit) {
      return produce(ctx, size(n.shape), (k) => `${ctx.elem(a, Math.floor((k as number) / cols))} * ${ctx.elem(b, (k as number) % cols)}`);
    }
    const name = ctx.array(size(n.shape));
    ctx.loop(a.shape[0]!, (i) => ctx.loop(cols, (j) => ctx.line(`${name}[${flat(i, cols, j)}] = ${ctx.elem(a, i)} * ${ctx.elem(b, j)}`)));
    return { kind: 'array', name, size: size(n.shape) };
  },
  jvp: (n, [ta, tb]) => sumOf(ta && outer(ta, n.args[1]!), tb && outer(n.args[0]!, tb)),
  vjp: (n, c) => [matvec(c, n.args[1]!), matTvec(c, n.args[0]!)],
});

/** Sum of optional terms (null = symbolic zero). */
function sumOf(a: Expr | null, b: Expr | null): Expr | null {
  return a === null ? b : b === null ? a : add(a, b);
}

