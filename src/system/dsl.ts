import { DarbouxError, showValue } from '../errors.js';
import { index, input, type Scalar, type Vector } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { Hamiltonian, type ParamValues } from './hamiltonian.js';

/** Phase-space coordinates for the DSL: q and p as vectors, and their scalar components. */
export interface PhaseSpace {
  readonly dof: number;
  /** Position vector [dof]. */
  readonly q: Vector;
  /** Momentum vector [dof]. */
  readonly p: Vector;
  /** Scalar position components q[0], q[1], … */
  readonly qs: readonly Scalar[];
  /** Scalar momentum components p[0], p[1], … */
  readonly ps: readonly Scalar[];
}

/**
 * Phase space with `dof` degrees of freedom: typed q and p vectors for writing Hamiltonians in TypeScript.
 *
 * @example
 * const { q, p, qs: [x, y] } = phaseSpace(2);
 * const H = add(mul(0.5, dot(p, p)), mul(0.5, add(mul(x, x), mul(y, y))));
 */
export function phaseSpace(dof: number): PhaseSpace {
  if (!Number.isInteger(dof) || dof < 1) {
    throw new DarbouxError('SPEC', `phaseSpace: dof must be a positive integer, got ${showValue(dof)}`, { dof });
  }
  const q = input('q', 'q', [dof]), p = input('p', 'p', [dof]);
  return {
    dof,
    q,
    p,
    qs: Array.from({ length: dof }, (_, i) => index(q, i)),
    ps: Array.from({ length: dof }, (_, i) => index(p, i)),
  };
}

/**
 * A Hamiltonian from a DSL expression over a phase space, with parameter values.
 *
 * @example
 * const s = phaseSpace(1);
 * const h = hamiltonian(s, add(mul(0.5, dot(s.p, s.p)), mul(param('k'), mul(0.5, dot(s.q, s.q)))), { params: { k: 2 } });
 */
export function hamiltonian(
  space: PhaseSpace,
  H: Expr,
  options: { params?: ParamValues; names?: { q?: readonly string[]; p?: readonly string[] } } = {},
): Hamiltonian {
  return new Hamiltonian({ H, q: space.q, p: space.p, params: options.params, names: options.names });
}
