/** + − × ÷, negation and powers: their kernels, simplifications and derivative rules. */
import type { Expr } from '../expr.js';
import { constant, div, log, mul, neg, pow, powi, sub, add } from '../build.js';
import { isConstant, isConstantValue, make } from '../make.js';
import { elementwiseOp } from './elementwise.js';
import { sameShape, type Shape } from '../shape.js';

const isZero = (e: Expr) => isConstantValue(e, 0);
const isOne = (e: Expr) => isConstantValue(e, 1);
const scalarConst = (e: Expr) => e.op === 'const' && e.shape.length === 0;
/** Keeps `e` only if it already has the result shape (so simplification never changes a shape). */
const ifShape = (e: Expr, shape: Shape) => (sameShape(e.shape, shape) ? e : undefined);
/** Canonical order of commutative arguments: constants first, then creation order. */
const ordered = (a: Expr, b: Expr): [Expr, Expr] => {
  const ca = isConstant(a), cb = isConstant(b);
  if (ca !== cb) return ca ? [a, b] : [b, a];
  return a.id <= b.id ? [a, b] : [b, a];
};

elementwiseOp({
  name: 'add',
  arity: 2,
  impl: binary((a, b) => a + b, '+'),
  partial: () => constant(1),
  print: { infix: '+', precedence: 1 },
  simplify([a, b], _attrs, shape) {
    if (isZero(a)) return ifShape(b, shape);
    if (isZero(b)) return ifShape(a, shape);
    if (b.op === 'neg') return make('sub', [a, b.args[0]!]);
    if (a.op === 'neg') return make('sub', [b, a.args[0]!]);
    if (a === b) return make('mul', [constant(2), a]);
    const [x, y] = ordered(a, b);
    if (x !== a) return make('add', [x, y]);
    return undefined;
  },
  jvp: (_n, [ta, tb]) => (ta === null ? tb : tb === null ? ta : add(ta, tb)),
  vjp: (n, c) => n.args.map((a) => (isConstant(a) ? null : unbroadcastLocal(c, a.shape))),
});

elementwiseOp({
  name: 'sub',
  arity: 2,
  impl: binary((a, b) => a - b, '-'),
  partial: (_n, i) => constant(i === 0 ? 1 : -1),
  print: { infix: '-', precedence: 1 },
  simplify([a, b], _attrs, shape) {
    if (isZero(b)) return ifShape(a, shape);
    if (isZero(a)) return ifShape(make('neg', [b]), shape);
    if (a === b) return constant(0, shape);
    if (b.op === 'neg') return make('add', [a, b.args[0]!]);
    return undefined;
  },
  jvp: (_n, [ta, tb]) => (tb === null ? ta : ta === null ? neg(tb) : sub(ta, tb)),
  vjp: (n, c) => [isConstant(n.args[0]!) ? null : unbroadcastLocal(c, n.args[0]!.shape), isConstant(n.args[1]!) ? null : unbroadcastLocal(neg(c), n.args[1]!.shape)],
});

elementwiseOp({
  name: 'neg',
  arity: 1,
  impl: { apply: ([a]) => -a!, code: ([a]) => `(-${a})` },
  partial: () => constant(-1),
  print: { prefix: '-', precedence: 3 },
  simplify([a]) {
    if (a.op === 'neg') return a.args[0]!;
    if (a.op === 'sub') return make('sub', [a.args[1]!, a.args[0]!]);
    if (a.op === 'mul' && scalarConst(a.args[0]!)) return make('mul', [constant(-(a.args[0]!.attrs.value as number)), a.args[1]!]);
    return undefined;
  },
  jvp: (_n, [t]) => (t === null ? null : neg(t)),
  vjp: (_n, c) => [neg(c)],
});

elementwiseOp({
  name: 'mul',
  arity: 2,
  impl: binary((a, b) => a * b, '*'),
  partial: (n, i) => n.args[1 - i]!,
  print: { infix: '*', precedence: 2 },
  simplify([a, b], _attrs, shape) {
    if (isZero(a) || isZero(b)) return constant(0, shape);
    if (isOne(a)) return ifShape(b, shape);
    if (isOne(b)) return ifShape(a, shape);
    const [x, y] = ordered(a, b);
    if (x !== a) return make('mul', [x, y]);
    if (isConstantValue(a, -1)) return ifShape(make('neg', [b]), shape);
    if (b.op === 'neg') return make('neg', [make('mul', [a, b.args[0]!])]);
    if (scalarConst(a) && b.op === 'mul' && scalarConst(b.args[0]!)) {
      return make('mul', [constant((a.attrs.value as number) * (b.args[0]!.attrs.value as number)), b.args[1]!]);
    }
    if (a === b) return make('powi', [a], { n: 2 });
    return undefined;
  },
});

elementwiseOp({
  name: 'div',
  arity: 2,
  impl: binary((a, b) => a / b, '/'),
  partial: (n, i) => (i === 0 ? div(1, n.args[1]!) : neg(div(n, n.args[1]!))),
  print: { infix: '/', precedence: 2 },
  simplify([a, b], _attrs, shape) {
    if (isZero(a)) return constant(0, shape);
    if (isOne(b)) return ifShape(a, shape);
    if (isConstantValue(b, -1)) return ifShape(make('neg', [a]), shape);
    return undefined;
  },
});

/** Kernels of a binary infix op, identical in JS and WGSL. */
function binary(apply: (a: number, b: number) => number, symbol: string) {
  return { apply: ([a, b]: number[]) => apply(a!, b!), code: ([a, b]: string[]) => `(${a} ${symbol} ${b})` };
}

/** x^n for integer n by repeated multiplication, the same way the emitted code computes it. */
function powiValue(x: number, n: number): number {
  const r = positivePower(x, Math.abs(n), (a, b) => a * b);
  return n >= 0 ? r : 1 / r;
}

/**
 * x^m (m ≥ 1) by repeated squaring — x^(2k) = x^k·x^k, x^(2k+1) = x^(2k)·x — the same products, in the same
 * order, for the evaluator (numbers) and the emitters (code, where compilers share the repeated x^k).
 */
function positivePower<T>(x: T, m: number, times: (a: T, b: T) => T): T {
  const bits: boolean[] = []; // from the top: square, and multiply by x where the bit is set
  for (let k = m; k > 1; k = Math.floor(k / 2)) bits.push(k % 2 === 1);
  let r = x;
  for (let b = bits.length - 1; b >= 0; b--) {
    r = times(r, r);
    if (bits[b]) r = times(r, x);
  }
  return r;
}

/**
 * Code for x^n by repeated squaring (no pow(), so negative bases work on every backend): x^12 is
 * ((x·x·x)²)², written as one expression whose repeated factors V8 and WGSL compilers compute once (4
 * multiplications instead of 11).
 */
function powiCode(x: string, n: number): string {
  if (n === 0) return '1.0';
  const product = positivePower(x, Math.abs(n), (a, b) => `(${a} * ${b})`);
  return n > 0 ? product : `(1.0 / ${product})`;
}

elementwiseOp({
  name: 'powi',
  arity: 1,
  impl: {
    apply: ([a], { n }) => powiValue(a!, n as number),
    code: ([a], { n }) => powiCode(a!, n as number),
    repeatsArgs: true,
  },
  partial: (n) => mul(n.attrs.n as number, powi(n.args[0]!, (n.attrs.n as number) - 1)),
  print: { infix: '^', precedence: 4, rightAssociative: true, exponentAttr: 'n' },
  simplify([a], attrs, shape) {
    const n = attrs.n as number;
    if (n === 0) return constant(1, shape);
    if (n === 1) return a;
    if (a.op === 'powi' && Math.abs((a.attrs.n as number) * n) <= 64) return make('powi', [a.args[0]!], { n: (a.attrs.n as number) * n });
    return undefined;
  },
});

elementwiseOp({
  name: 'pow',
  arity: 2,
  impl: { apply: ([a, b]) => Math.pow(a!, b!) },
  partial: (n, i) => {
    const [a, b] = n.args as [Expr, Expr];
    return i === 0 ? mul(b, pow(a, sub(b, 1))) : mul(n, log(a));
  },
  print: { infix: '^', precedence: 4, rightAssociative: true },
  simplify([a, b]) {
    // The `pow` builder's canonical form, also for nodes rebuilt by `make` (e.g. `substitute` turning the
    // exponent into a constant): a small integer constant exponent is `powi`, so `x^2` means one node.
    const n = b!.op === 'const' && b!.shape.length === 0 ? (b!.attrs.value as number) : NaN;
    if (Number.isInteger(n) && Math.abs(n) <= 64) return make('powi', [a!], { n });
    return undefined;
  },
});

/** Local copy of unbroadcast (sum over broadcast dims) to keep add/sub rules one-liners. */
function unbroadcastLocal(c: Expr, shape: Shape): Expr {
  return shape.length === 0 && c.shape.length > 0 ? make('sum', [c]) : c;
}

