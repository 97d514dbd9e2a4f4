/** The Legendre transform of a Lagrangian quadratic in the velocities, as a `Hamiltonian`. */
import { DarbouxError } from '../errors.js';
import { addAll, constant, index, input, mul, sub } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { constantValues, isConstant, isConstantValue } from '../ir/make.js';
import { printExpr } from '../ir/printer.js';
import { inputsOf, substitute } from '../ir/traverse.js';
import { Hamiltonian } from './hamiltonian.js';
import type { ParamValues } from './hamiltonian.js';

/** What the Legendre transform needs of a Lagrangian (declared here so that this module does not import it). */
export interface LegendreSubject {
  readonly dof: number;
  readonly L: Expr;
  readonly q: Expr;
  readonly v: Expr;
  readonly names: { readonly q: readonly string[]; readonly v: readonly string[] };
  eulerLagrange(): { readonly dv: Expr; readonly velocityHessian: readonly (readonly Expr[])[] };
  paramsByName(): ParamValues;
}
import { luFactor, luSolve, pivotedSolve, SINGULAR_CONDITION } from './lagrangian-linear.js';

/** Non-constant mass matrices are inverted symbolically up to this many degrees of freedom. */
export const SYMBOLIC_MASS_MAX_DOF = 6;

/**
 * H(q, p) = ½(p − b)ᵀM⁻¹(p − b) − L₀ for L = ½vᵀMv + b·v + L₀ (M, b, L₀ functions of q, t, θ). Quadratic means
 * ∂²L/∂v² does not depend on v (checked on the symbolic Hessian). A constant M is inverted in f64 at build time
 * (so a Cartesian kinetic energy stays separable and leapfrog applies); a non-constant M by a symbolic pivoted
 * elimination, for dof ≤ SYMBOLIC_MASS_MAX_DOF. Used by `Lagrangian.toHamiltonian`. @internal
 *
 * @example
 * const h = legendreTransform(lagrangian({ q: ['x'], v: ['vx'], L: 'vx^2/2 - x^2/2' }));
 */
export function legendreTransform(L: LegendreSubject): Hamiltonian {
  const n = L.dof;
  const { velocityHessian, dv } = L.eulerLagrange();
  velocityHessian.forEach((row, i) =>
    row.forEach((entry, j) => {
      if (inputsOf([entry]).includes(L.v)) {
        throw new DarbouxError(
          'SPEC',
          `toHamiltonian: L is not quadratic in the velocities (∂²L/∂v${i}∂v${j} = ${printExpr(entry)} depends on v); ` +
            `the Legendre transform has no closed form here — integrate the Lagrangian directly with 'variationalMidpoint' or 'variationalTrapezoid'`,
          { entry: [i, j] },
        );
      }
    }),
  );
  const p = input('p', 'p', [n]);
  const atRest = new Map<Expr, Expr>([[L.v, constant(0, [n])]]);
  const [b, L0] = substitute([dv, L.L], atRest) as [Expr, Expr];
  const u = Array.from({ length: n }, (_, i) => {
    const bi = b.shape.length === 0 ? b : index(b, i);
    return isConstantValue(bi, 0) ? index(p, i) : sub(index(p, i), bi);
  });
  const M = velocityHessian.map((row) => row.map((e) => substitute([e], atRest)[0]!));
  let kinetic: Expr;
  if (M.flat().every(isConstant)) {
    const values = Float64Array.from(M.flat().map((e) => constantValues(e)[0]!));
    const f = luFactor(values, n);
    if (!(f.condition < SINGULAR_CONDITION)) {
      throw new DarbouxError('SINGULAR', `toHamiltonian: the mass matrix ∂²L/∂v² is singular (condition number ${f.condition.toExponential(2)}): L is degenerate and has no Hamiltonian`, { condition: f.condition });
    }
    const inverse = Array.from({ length: n }, (_, j) => luSolve(f, Array.from({ length: n }, (_, i) => (i === j ? 1 : 0))));
    const terms: Expr[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        const c = i === j ? 0.5 * inverse[j]![i]! : 0.5 * (inverse[j]![i]! + inverse[i]![j]!);
        if (c !== 0) terms.push(mul(c, mul(u[i]!, u[j]!)));
      }
    }
    kinetic = terms.length === 0 ? constant(0) : addAll(terms);
  } else {
    if (n > SYMBOLIC_MASS_MAX_DOF) {
      throw new DarbouxError(
        'SPEC',
        `toHamiltonian: the mass matrix ∂²L/∂v² depends on q, and ${n} degrees of freedom is beyond the symbolic inverse's limit (${SYMBOLIC_MASS_MAX_DOF}); ` +
          `integrate the Lagrangian directly with 'variationalMidpoint' or 'variationalTrapezoid'`,
        { dof: n, limit: SYMBOLIC_MASS_MAX_DOF },
      );
    }
    const y = pivotedSolve(M, u);
    kinetic = mul(0.5, addAll(u.map((ui, i) => mul(ui, y[i]!))));
  }
  const H = isConstantValue(L0, 0) ? kinetic : sub(kinetic, L0);
  const pNames = L.names.v.map((name) => `p_${name}`);
  return new Hamiltonian({ H, q: L.q, p, params: L.paramsByName(), names: { q: L.names.q, p: pNames } });
}
