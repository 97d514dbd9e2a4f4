/**
 * The force weight w = f(r)/r of a pair body f = dV/dr written over r² (no square root, no division by r per
 * pair) when V is a function of r² in disguise — as every potential built from even powers of r, or of σ/r, is
 * (Lennard-Jones, soft spheres, Gaussians, harmonic bonds through r²): a parity analysis classifies each node of
 * f as even (a function of R = r²: its rewritten value) or odd (E·r or E/r with E even), through +, −, ×, ÷,
 * negation and integer powers; any other op must have even arguments. f must be odd; w = E (or E/R). Exact up to
 * rounding. The JS pair loops use it (src/ir/ops/pairs.ts, pairGradient); bodies of other forms keep f(r)/r.
 */
import type { Expr } from '../expr.js';
import { add, constant, div, mul, neg, powi, sub } from '../build.js';
import { make } from '../make.js';
import { topologicalOrder } from '../traverse.js';
import { bound } from './pair-body.js';

/** The bound variable R = r² of a rewritten weight. */
export const R_SQUARED_BOUND = bound('rSquared');

/** A rewritten node: even (a function of R) or odd (E·r^side, side ±1, E even). */
type Parity = { even: Expr } | { odd: Expr; side: 1 | -1 };

const R = R_SQUARED_BOUND;
/** 1/R: one shared reciprocal (an interned node) for every division by R. */
const overR = (e: Expr) => mul(e, div(1, R));
/** E·r^side as E'·r (side +1). */
const timesR = (p: { odd: Expr; side: 1 | -1 }): Expr => (p.side === 1 ? p.odd : overR(p.odd));
/** E·R^k for k in {−1, 0, 1}. */
const withR = (e: Expr, k: number): Expr => (k === 0 ? e : k > 0 ? mul(e, R) : overR(e));
/** The square of an odd value: E²·R^side. */
const square = (p: { odd: Expr; side: 1 | -1 }) => withR(mul(p.odd, p.odd), p.side);

/** The parity of x^n (n ≠ 0) from the parity of x. */
function power(x: Parity, n: number): Parity {
  if ('even' in x) return { even: powi(x.even, n) };
  const m = Math.abs(n);
  const half = Math.floor(m / 2);
  const evenPart = half === 0 ? null : powi(square(x), half);
  if (m % 2 === 0) return { even: n > 0 ? evenPart! : div(1, evenPart!) };
  const odd = evenPart === null ? x.odd : mul(x.odd, evenPart);
  return n > 0 ? { odd, side: x.side } : { odd: div(1, odd), side: x.side === 1 ? -1 : 1 };
}

/** The parity of one node from its arguments' (null: not expressible). */
function rewriteNode(e: Expr, args: readonly Parity[]): Parity | null {
  const [a, b] = args;
  if (args.every((x, k) => 'even' in x && x.even === e.args[k])) return { even: e }; // independent of r
  const evens = args.every((x) => 'even' in x);
  switch (e.op) {
    case 'neg':
      return 'even' in a! ? { even: neg(a.even) } : { odd: neg(a!.odd), side: a!.side };
    case 'add':
    case 'sub': {
      const join = e.op === 'add' ? add : sub;
      if ('even' in a! && 'even' in b!) return { even: join(a.even, b.even) };
      if ('odd' in a! && 'odd' in b!) return a.side === b.side ? { odd: join(a.odd, b.odd), side: a.side } : { odd: join(timesR(a), timesR(b)), side: 1 };
      return null;
    }
    case 'mul':
    case 'div': {
      const op = e.op === 'mul' ? mul : div;
      if ('even' in a! && 'even' in b!) return { even: op(a.even, b.even) };
      if ('odd' in a! && 'odd' in b!) return { even: withR(op(a.odd, b.odd), e.op === 'mul' ? (a.side + b.side) / 2 : (a.side - b.side) / 2) };
      if ('odd' in a!) return { odd: op(a.odd, (b as { even: Expr }).even), side: a.side };
      const bo = b as { odd: Expr; side: 1 | -1 };
      return e.op === 'mul' ? { odd: mul(a!.even, bo.odd), side: bo.side } : { odd: div(a!.even, bo.odd), side: bo.side === 1 ? -1 : 1 };
    }
    case 'powi':
      return power(a!, e.attrs.n as number);
    default:
      return evens ? { even: make(e.op, args.map((x) => (x as { even: Expr }).even), e.attrs) } : null;
  }
}

/**
 * w = f/r over R_SQUARED_BOUND, or null when f (a scalar body in the bound variable r) is not odd in r.
 *
 * @example
 * weightOverR2(ljForce, r) // for f = 4ε(−12σ¹²/r¹³ + 6σ⁶/r⁷): 4ε(−12(σ²/R)⁶ + 6(σ²/R)³)/R, up to the form
 */
export function weightOverR2(f: Expr, r: Expr): Expr | null {
  const parity = new Map<Expr, Parity>();
  for (const e of topologicalOrder([f])) {
    if (e === r) { parity.set(e, { odd: constant(1), side: 1 }); continue; }
    const args: Parity[] = [];
    for (const a of e.args) args.push(parity.get(a)!);
    const p = rewriteNode(e, args);
    if (p === null) return null;
    parity.set(e, p);
  }
  const top = parity.get(f)!;
  if ('even' in top) return null; // f/r would need r itself
  return top.side === 1 ? top.odd : overR(top.odd);
}

const weights = new Map<string, Expr | null>();

/**
 * The JS force weight of a pairGradient body (its encoded text, decoded as `body`): `weightOverR2` of its root
 * over its r, cached per body.
 *
 * @example
 * const w = pairWeightOverR2(node.attrs.body as string, decodeBody(node.attrs.body as string));
 */
export function pairWeightOverR2(text: string, body: { roots: readonly Expr[]; vars: ReadonlyMap<string, Expr> }): Expr | null {
  if (!weights.has(text)) {
    const r = body.vars.get('r');
    weights.set(text, r === undefined || body.roots.length !== 1 || body.roots[0]!.shape.length !== 0 ? null : weightOverR2(body.roots[0]!, r));
  }
  return weights.get(text)!;
}
