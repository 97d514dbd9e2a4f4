/**
 * fast-check generators of random smooth, well-defined scalar expressions and Hamiltonians, for property
 * tests (printer/parser round trips, gradients against finite differences, symplecticity of integrators).
 *
 * Every generated expression is built through the public builders (so it is simplified and interned), is
 * C^∞ and finite for all real leaf values — poles and non-smooth points are avoided by construction — and
 * stays moderate in size and slope when the leaves lie in [-2, 2]:
 *
 * - constants are drawn from [-2, 2] (including -0 and tiny values, which printers must handle);
 * - functions with singularities only ever see arguments away from them: `log(1 + u²)`, `sqrt(1 + u²)`,
 *   `u / (1 + v²)`, `(1 + u²)^c`, `tan(tanh(u)/2)`, `abs(2 + sin(u))`;
 * - functions that grow fast only see bounded arguments: `exp(sin u)`, `exp(tanh u)`, `sinh(sin u)`,
 *   `cosh(tanh u)`; and powers `s^n` (n = 2, 3, 4) and products `u·s` take one *squashed* factor `s`
 *   (a leaf, a constant, or a bounded function with |s| ≤ 3), so magnitudes grow at most geometrically
 *   with depth instead of doubly exponentially.
 *
 * Shrinking works through fast-check's structural shrinking of the choices, so counterexamples come out small.
 */
import fc from 'fast-check';
import {
  abs, add, constant, cos, cosh, div, dot, exp, index, input, log, mul, neg, pow, powi, sigmoid, sin, sinh, softplus,
  sqrt, sub, tan, tanh, matvec, param, sum,
} from '../../src/ir/build.js';
import type { Expr } from '../../src/ir/expr.js';
import { substitute } from '../../src/ir/traverse.js';

/** A double spread evenly over [min, max] (fc.double favours extreme exponents such as 1e-300). */
const uniform = (min: number, max: number) => fc.integer({ min: 0, max: 1 << 30 }).map((k) => min + ((max - min) * k) / (1 << 30));

/**
 * A coefficient in [-2, 2]: "nice" values, values spread evenly over the interval, and now and then any
 * double in it (-0, subnormals, 1e-300: awkward for printers, harmless for the arithmetic).
 *
 * @example
 * fc.assert(fc.property(arbitraryCoefficient, (c) => Math.abs(c) <= 2));
 */
export const arbitraryCoefficient: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.constantFrom(1, -1, 2, -2, 0.5, -0.5, 1.5, 3 / 7), weight: 3 },
  { arbitrary: uniform(-2, 2), weight: 3 },
  { arbitrary: fc.double({ min: -2, max: 2, noNaN: true }), weight: 1 },
);

/** 1 + u², a smooth quantity ≥ 1 (safe under log, sqrt, division and real powers). */
const onePlusSquare = (u: Expr) => add(1, powi(u, 2));

/** Bounded, smooth functions of an arbitrary real argument (|result| ≤ 3). */
const squashers: readonly ((u: Expr) => Expr)[] = [
  sin,
  cos,
  tanh,
  sigmoid,
  (u) => exp(sin(u)),
  (u) => exp(tanh(u)),
  (u) => tan(div(tanh(u), 2)), // |tanh(u)/2| < 1/2 < π/2
  (u) => sinh(sin(u)),
  (u) => cosh(tanh(u)),
  (u) => abs(add(2, sin(u))), // 2 + sin u ≥ 1: abs is smooth there
  (u) => div(1, onePlusSquare(u)),
];

/**
 * Random smooth scalar expressions over `leaves` (scalar nodes, e.g. `index(q, i)`), nested at most `depth`
 * levels (default 3). With no leaves, the expressions are constants. See the module comment for the
 * guarantees (smooth and finite everywhere, moderate on [-2, 2]).
 *
 * @example
 * const z = input('aux', 'z', [3]);
 * fc.assert(fc.property(arbitraryExpr([0, 1, 2].map((i) => index(z, i)), 4), (f) => f.shape.length === 0));
 */
export function arbitraryExpr(leaves: readonly Expr[], depth = 3): fc.Arbitrary<Expr> {
  const leaf: fc.Arbitrary<Expr> =
    leaves.length === 0
      ? arbitraryCoefficient.map((c) => constant(c))
      : fc.oneof({ arbitrary: fc.constantFrom(...leaves), weight: 3 }, { arbitrary: arbitraryCoefficient.map((c) => constant(c)), weight: 1 });

  // Memoised per level, so the arbitrary objects form a chain of `depth` levels rather than a tree.
  const general: fc.Arbitrary<Expr>[] = [leaf];
  const squashed: fc.Arbitrary<Expr>[] = [leaf];
  for (let d = 1; d <= depth; d++) {
    const g = general[d - 1]!, s = squashed[d - 1]!;
    squashed.push(
      fc.oneof(
        { arbitrary: leaf, weight: 1 },
        { arbitrary: fc.tuple(fc.constantFrom(...squashers), g).map(([f, u]) => f(u)), weight: 3 },
      ),
    );
    general.push(
      fc.oneof(
        { arbitrary: leaf, weight: 1 },
        { arbitrary: squashed[d]!, weight: 3 },
        { arbitrary: fc.tuple(g, g).map(([a, b]) => add(a, b)), weight: 3 },
        { arbitrary: fc.tuple(g, g).map(([a, b]) => sub(a, b)), weight: 2 },
        { arbitrary: g.map(neg), weight: 1 },
        { arbitrary: fc.tuple(g, s).map(([a, b]) => mul(a, b)), weight: 3 },
        { arbitrary: fc.tuple(arbitraryCoefficient, g).map(([c, a]) => mul(c, a)), weight: 2 },
        { arbitrary: fc.tuple(g, g).map(([a, b]) => div(a, onePlusSquare(b))), weight: 1 },
        { arbitrary: fc.tuple(s, fc.integer({ min: 2, max: 4 })).map(([a, n]) => powi(a, n)), weight: 2 },
        {
          arbitrary: fc.tuple(s, uniform(-1.5, 1.5)).map(([a, c]) => pow(onePlusSquare(a), c)),
          weight: 1,
        },
        { arbitrary: g.map((a) => log(onePlusSquare(a))), weight: 1 },
        { arbitrary: g.map((a) => sqrt(onePlusSquare(a))), weight: 1 },
        { arbitrary: g.map(softplus), weight: 1 },
      ),
    );
  }
  return general[depth]!;
}

/** A random separable Hamiltonian H = T(p) + V(q) over `dof` degrees of freedom. */
export interface SeparableSample {
  /** The position input, `input('q', 'q', [dof])`. */
  q: Expr;
  /** The momentum input, `input('p', 'p', [dof])`. */
  p: Expr;
  /** Kinetic part: depends on elements of p only. */
  T: Expr;
  /** Potential part: depends on elements of q only (may be constant). */
  V: Expr;
  /** T + V. */
  H: Expr;
}

const coordinates = (dof: number) => {
  const q = input('q', 'q', [dof]), p = input('p', 'p', [dof]);
  const qs = Array.from({ length: dof }, (_, i) => index(q, i));
  const ps = Array.from({ length: dof }, (_, i) => index(p, i));
  return { q, p, qs, ps };
};

/**
 * Random separable Hamiltonians: T = ½|p|² + f(p) and V = g(q), with f and g random smooth expressions
 * (depth ≤ `depth`, default 2) of the elements of p and of q respectively. T always depends on p.
 *
 * @example
 * fc.assert(fc.property(arbitrarySeparableHamiltonian(2), ({ q, p, H }) => new Hamiltonian({ H, q, p }).isSeparable));
 */
export function arbitrarySeparableHamiltonian(dof: number, depth = 2): fc.Arbitrary<SeparableSample> {
  const { q, p, qs, ps } = coordinates(dof);
  const kinetic = mul(0.5, dot(p, p));
  return fc.tuple(arbitraryExpr(ps, depth), arbitraryExpr(qs, depth)).map(([f, g]) => {
    const T = add(kinetic, f);
    return { q, p, T, V: g, H: add(T, g) };
  });
}

/** A random (generally non-separable) Hamiltonian over `dof` degrees of freedom. */
export interface HamiltonianSample {
  q: Expr;
  p: Expr;
  H: Expr;
}

/**
 * Random non-separable Hamiltonians H = ½|p|² + c·cos(q₀)·p₀² + f(q, p): a quadratic kinetic energy that
 * keeps the flow well-posed, a position-dependent mass term (c ∈ [0.05, 0.4], so the kinetic part stays
 * positive definite) that guarantees q–p coupling, and f a random smooth expression (depth ≤ `depth`,
 * default 2) of all elements of q and p.
 *
 * @example
 * fc.assert(fc.property(arbitraryHamiltonian(2), ({ q, p, H }) => !new Hamiltonian({ H, q, p }).isSeparable));
 */
export function arbitraryHamiltonian(dof: number, depth = 2): fc.Arbitrary<HamiltonianSample> {
  const { q, p, qs, ps } = coordinates(dof);
  const kinetic = mul(0.5, dot(p, p));
  return fc
    .tuple(arbitraryExpr([...qs, ...ps], depth), uniform(0.05, 0.4))
    .map(([f, c]) => ({ q, p, H: add(add(kinetic, mul(c, mul(cos(qs[0]!), powi(ps[0]!, 2)))), f) }));
}

/** Tensor length of `liftedCases`: above the unroll limit (16), so tensors become loops and single-reader chains fuse. */
const N = 24;

/**
 * Random scalar expressions f(x, y) lifted to vectors: every op broadcasts, so F(X, Y) with X, Y of length N is the
 * elementwise f — a chain of large elementwise tensors, fused into its readers. Oracle: the scalar f compiled on its
 * own (no tensors, no fusion), applied element by element.
 *
 * @example
 * for (const { F, outputs } of liftedCases(10, 1)) compileJs([X, Y, W, w], outputs);
 */
export function liftedCases(runs: number, seed: number) {
  const x = input('aux', 'x'), y = input('aux', 'y');
  const X = input('aux', 'X', [N]), Y = input('aux', 'Y', [N]);
  const W = param('W', [5, N]), w = param('w', [N]);
  return fc.sample(arbitraryExpr([x, y], 4), { numRuns: runs, seed }).map((f) => {
    const F = substitute([f], new Map([[x, X], [y, Y]]))[0]!;
    // Readers of the fused chain: a reduction, a dot product, a matvec's vector (read per row: must not fuse),
    // one element, an elementwise product, and the tensor itself.
    const outputs: Expr[] = F.shape.length === 0 ? [F] : [sum(F), dot(F, w), matvec(W, F), index(F, 7), sum(mul(F, F)), F];
    return { f, F, x, y, X, Y, W, w, outputs };
  });
}

