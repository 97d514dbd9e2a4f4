import type { Expr } from '../ir/expr.js';

/**
 * What step programs, code generation, adjoints and backends need of a dynamical system: its state inputs
 * (positions q and conjugate momenta p, vectors of length `dof`), the time and step-size inputs, and its named
 * parameters with their current values. A `Hamiltonian` implements it; so will Lagrangian and particle systems,
 * whose integrators also advance (q, p).
 *
 * @example
 * const system: System = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + k*x^2/2', params: { k: 1 } });
 * system.params.map((n) => n.attrs.name); // ['k']
 */
export interface System {
  /** Degrees of freedom: the length of q and of p. */
  readonly dof: number;
  /** The position input vector (shape [dof]). */
  readonly q: Expr;
  /** The momentum input vector (shape [dof]). */
  readonly p: Expr;
  /** The time input node. */
  readonly time: Expr;
  /** The step-size input node of integrator programs. */
  readonly dt: Expr;
  /** Parameter input nodes, in a stable order. */
  readonly params: readonly Expr[];
  /** Current parameter values, aligned with `params`. */
  readonly paramValues: readonly Float64Array[];
  /** Display names of the coordinates. */
  readonly names: { readonly q: readonly string[]; readonly p: readonly string[] };
}

/**
 * Values of every parameter of a system by name: numbers for scalars, copies of the arrays for tensors.
 *
 * @example
 * parameterValuesByName(h); // { lam: 1 }
 */
export function parameterValuesByName(system: System): Record<string, number | Float64Array> {
  const out: Record<string, number | Float64Array> = {};
  system.params.forEach((node, k) => {
    out[node.attrs.name as string] = node.shape.length === 0 ? system.paramValues[k]![0]! : system.paramValues[k]!.slice();
  });
  return out;
}
