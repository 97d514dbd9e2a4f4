/**
 * Builders: the typed functions that construct expression nodes. Numbers are lifted to constants.
 * Every builder goes through `make`, so results are simplified and interned.
 */
import { DarbouxError } from '../errors.js';
import type { Expr } from './expr.js';
import { constantNode, make } from './make.js';
import type { Shape } from './shape.js';

/** An expression or a plain number (lifted to a scalar constant). */
export type Operand = Expr | number;

/**
 * Rank-branded expressions, so TypeScript catches rank errors where the rank is known statically
 * (`dot(dot(a, b), c)` does not compile). Plain `Expr` stays accepted everywhere; shapes are always checked at
 * runtime too.
 */
export interface Scalar extends Expr { readonly __rank?: 0 }
/** A vector-valued expression. @example const v: Vector = param('b', [16]) */
export interface Vector extends Expr { readonly __rank?: 1 }
/** A matrix-valued expression. @example const W: Matrix = param('W', [16, 2]) */
export interface Matrix extends Expr { readonly __rank?: 2 }

/** Lifts a number to a scalar constant node. @example lift(2) === constant(2) */
export function lift(x: Operand): Expr {
  return typeof x === 'number' ? constant(x) : x;
}

/** A constant filled with `value`, scalar by default. @example constant(0.5); constant(0, [3]) */
export function constant(value: number, shape: Shape = []): Expr {
  return make('const', [], { value, shape: [...shape] });
}

/** A constant tensor from flat row-major values. @example tensorConstant([1, 2, 3], [3]) */
export function tensorConstant(values: ArrayLike<number>, shape: Shape): Expr {
  let n = 1;
  for (const d of shape) n *= d;
  if (values.length !== n) throw new DarbouxError('SHAPE', `tensorConstant: ${values.length} values for shape [${shape.join('×')}]`);
  return constantNode(Float64Array.from(values), shape);
}

/** A zero constant of a shape. @example zeros([2]) */
export function zeros(shape: Shape = []): Expr {
  return constant(0, shape);
}

/** Unit vector e_i of length n. @example unitVector(3, 1) // [0, 1, 0] */
export function unitVector(n: number, i: number): Expr {
  const v = new Float64Array(n);
  v[i] = 1;
  return tensorConstant(v, [n]);
}

/** Roles an input node can play. */
export type InputRole = 'q' | 'p' | 'param' | 'time' | 'dt' | 'aux';

/**
 * An input node: the state vectors q and p, a named parameter tensor, time, the step size, or an auxiliary
 * input (tangents, cotangents). @example input('q', 'q', [2])
 */
export function input(role: InputRole, name: string, shape: Shape = []): Expr {
  return make('input', [], { role, name, shape: [...shape] });
}

/** A named parameter tensor. @example param('W1', [16, 2]) */
export function param(name: string, shape?: readonly []): Scalar;
export function param(name: string, shape: readonly [number]): Vector;
export function param(name: string, shape: readonly [number, number]): Matrix;
export function param(name: string, shape?: Shape): Expr;
export function param(name: string, shape: Shape = []): Expr {
  return input('param', name, shape);
}

/** The time input t. @example time() */
export function time(): Expr {
  return input('time', 't');
}

/** The step-size input. @example stepSize() */
export function stepSize(): Expr {
  return input('dt', 'dt');
}

/** a + b (elementwise, scalars broadcast). @example add(x, 1) */
export function add(a: Operand, b: Operand): Expr {
  return make('add', [lift(a), lift(b)]);
}
/** a − b. @example sub(x, y) */
export function sub(a: Operand, b: Operand): Expr {
  return make('sub', [lift(a), lift(b)]);
}
/** a · b (elementwise). @example mul(0.5, x) */
export function mul(a: Operand, b: Operand): Expr {
  return make('mul', [lift(a), lift(b)]);
}
/** a / b. @example div(x, 2) */
export function div(a: Operand, b: Operand): Expr {
  return make('div', [lift(a), lift(b)]);
}
/** −a. @example neg(x) */
export function neg(a: Operand): Expr {
  return make('neg', [lift(a)]);
}
/** a raised to an integer power n (any sign). @example powi(x, 3) */
export function powi(a: Operand, n: number): Expr {
  if (!Number.isInteger(n)) throw new DarbouxError('SHAPE', `powi: exponent ${n} is not an integer`);
  return make('powi', [lift(a)], { n });
}
/** a^b with a real exponent; an integer constant exponent becomes `powi`. @example pow(x, 2.5) */
export function pow(a: Operand, b: Operand): Expr {
  const e = lift(b);
  if (e.op === 'const' && e.shape.length === 0 && Number.isInteger(e.attrs.value) && Math.abs(e.attrs.value as number) <= 64) {
    return powi(a, e.attrs.value as number);
  }
  return make('pow', [lift(a), e]);
}

/**
 * The builder of a one-argument function op (see `isUnaryFunction` in op.ts): every such op has one, exported
 * below under the op's name, and the formula parser calls the same builders.
 *
 * @example
 * export const sin = unaryBuilder('sin');
 */
export function unaryBuilder(op: string): (a: Operand) => Expr {
  return (a) => make(op, [lift(a)]);
}
/** √a. @example sqrt(r2) */
export const sqrt = unaryBuilder('sqrt');
/** e^a. @example exp(x) */
export const exp = unaryBuilder('exp');
/** ln a. @example log(x) */
export const log = unaryBuilder('log');
/** sin a. @example sin(q) */
export const sin = unaryBuilder('sin');
/** cos a. @example cos(q) */
export const cos = unaryBuilder('cos');
/** tan a. @example tan(x) */
export const tan = unaryBuilder('tan');
/** tanh a. @example tanh(x) */
export const tanh = unaryBuilder('tanh');
/** sinh a. @example sinh(x) */
export const sinh = unaryBuilder('sinh');
/** cosh a. @example cosh(x) */
export const cosh = unaryBuilder('cosh');
/** |a|. @example abs(x) */
export const abs = unaryBuilder('abs');
/** sign(a) ∈ {−1, 0, 1} (derivative of |a|). @example sign(x) */
export const sign = unaryBuilder('sign');
/** log(1 + e^a), computed stably. @example softplus(x) */
export const softplus = unaryBuilder('softplus');
/** 1 / (1 + e^−a). @example sigmoid(x) */
export const sigmoid = unaryBuilder('sigmoid');

/** Dot product of two vectors of equal length. @example dot(p, p) */
export function dot(a: Vector, b: Vector): Scalar {
  return make('dot', [a, b]);
}
/** Sum of all elements. @example sum(v) */
export function sum(a: Expr): Scalar {
  return make('sum', [a]);
}
/** Element of a vector (`index(v, i)`) or of a matrix (`index(m, i, j)`). @example index(q, 0) */
export function index(a: Vector, i: number): Scalar;
export function index(a: Matrix, i: number, j: number): Scalar;
export function index(a: Expr, i: number, j?: number): Scalar;
export function index(a: Expr, i: number, j?: number): Scalar {
  return make('index', [a], j === undefined ? { i } : { i, j });
}
/** Matrix–vector product M·v. @example matvec(W, q) */
export function matvec(m: Matrix, v: Vector): Vector {
  return make('matvec', [m, v]);
}
/** Transposed matrix–vector product Mᵀ·v. @example matTvec(W, y) */
export function matTvec(m: Matrix, v: Vector): Vector {
  return make('matTvec', [m, v]);
}
/** Outer product a·bᵀ of two vectors. @example outer(u, v) */
export function outer(a: Vector, b: Vector): Matrix {
  return make('outer', [a, b]);
}
/** A vector from scalars. @example stack([x, y]) */
export function stack(elems: readonly (Scalar | number)[]): Vector {
  return make('stack', elems.map(lift));
}
/** Sum of many operands (0 for none). @example addAll([a, b, c]) */
export function addAll(terms: readonly Operand[]): Expr {
  if (terms.length === 0) return constant(0);
  let acc = lift(terms[0]!);
  for (let k = 1; k < terms.length; k++) acc = add(acc, terms[k]!);
  return acc;
}

/**
 * Applies an elementwise function to every element of a tensor: `f` is built once on the tensor itself, since
 * every elementwise op broadcasts; the result must keep the tensor's shape.
 *
 * @example
 * const h = map(matvec(W, q), (x) => tanh(add(x, 1)));
 */
export function map<T extends Expr>(x: T, f: (e: T) => Expr): T {
  const y = f(x);
  if (y.shape.length !== x.shape.length || y.shape.some((d, i) => d !== x.shape[i])) {
    throw new DarbouxError('SHAPE', `map: the function changed the shape from [${x.shape.join('×')}] to [${y.shape.join('×')}]; it must be elementwise`);
  }
  return y as T;
}
