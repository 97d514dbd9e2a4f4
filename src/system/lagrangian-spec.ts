/** Defining Lagrangians: from a formula (`lagrangian(spec)`) and from the DSL (`configurationSpace`, `lagrangian(space, L)`). */
import { DarbouxError } from '../errors.js';
import { index, input, param, time, type Scalar, type Vector } from '../ir/build.js';
import { Expr } from '../ir/expr.js';
import { FORMULA_FUNCTIONS, parseFormula } from '../ir/parser.js';
import type { ParamValues } from './hamiltonian.js';
import { Lagrangian } from './lagrangian.js';

/** A Lagrangian written as a formula (the syntax of `parse`, with velocity names in place of momentum names). */
export interface LagrangianFormulaSpec {
  /** Names of the positions. */
  q: readonly string[];
  /** Names of the velocities (same length as q). */
  v: readonly string[];
  /**
   * The formula: numbers, the names, `t` (the time, unless a coordinate or parameter is called t), + − * / ^,
   * unary minus, parentheses, and the one-argument functions of `parse` (sqrt exp log sin cos …).
   */
  L: string;
  /** Scalar parameters and their values. */
  params?: Record<string, number>;
  /**
   * The name of the time, as in `parse`: with it, that name is the time and a clash with q, v or params is refused
   * (SPEC); without it, `t` is the time unless a coordinate or parameter is called t.
   */
  time?: string;
}

/** Configuration space for the DSL: q and v as vectors, and their scalar components. */
export interface ConfigurationSpace {
  readonly dof: number;
  /** Position vector [dof]. */
  readonly q: Vector;
  /** Velocity vector [dof]. */
  readonly v: Vector;
  /** Scalar position components q[0], q[1], … */
  readonly qs: readonly Scalar[];
  /** Scalar velocity components v[0], v[1], … */
  readonly vs: readonly Scalar[];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The position and velocity input nodes of a Lagrangian with `dof` degrees of freedom. */
function stateInputs(dof: number): { q: Vector; v: Vector } {
  // The velocity occupies the second state slot of `rk4` on the Euler–Lagrange equations, hence role 'p'.
  return { q: input('q', 'q', [dof]), v: input('p', 'v', [dof]) };
}

/**
 * Configuration space with `dof` degrees of freedom: typed q and v vectors for writing Lagrangians in TypeScript.
 *
 * @example
 * const s = configurationSpace(2);
 * const L = lagrangian(s, sub(mul(0.5, dot(s.v, s.v)), mul(0.5, dot(s.q, s.q))));
 */
export function configurationSpace(dof: number): ConfigurationSpace {
  if (!Number.isInteger(dof) || dof < 1) {
    throw new DarbouxError('SPEC', `configurationSpace: dof must be a positive integer, got ${String(dof)}`, { dof });
  }
  const { q, v } = stateInputs(dof);
  return {
    dof,
    q,
    v,
    qs: Array.from({ length: dof }, (_, i) => index(q, i)),
    vs: Array.from({ length: dof }, (_, i) => index(v, i)),
  };
}

/**
 * A Lagrangian from a formula `{ q, v, L, params }`, or from a DSL expression over a configuration space
 * `lagrangian(space, L, { params, names })`. L may depend on the time (`t` in formulas, `time()` in the DSL).
 *
 * @example
 * const L = lagrangian({ q: ['x', 'y'], v: ['vx', 'vy'], L: '(vx^2+vy^2)/2 + 1/sqrt(x^2+y^2)' });
 * L.accelerations([1, 0], [0, 1]); // [-1, 0]
 */
export function lagrangian(spec: LagrangianFormulaSpec): Lagrangian;
export function lagrangian(space: ConfigurationSpace, L: Expr, options?: { params?: ParamValues; names?: { q?: readonly string[]; v?: readonly string[] } }): Lagrangian;
export function lagrangian(
  specOrSpace: LagrangianFormulaSpec | ConfigurationSpace,
  L?: Expr,
  options: { params?: ParamValues; names?: { q?: readonly string[]; v?: readonly string[] } } = {},
): Lagrangian {
  if (L !== undefined) {
    const space = specOrSpace as ConfigurationSpace;
    if (!(L instanceof Expr)) throw new DarbouxError('SPEC', 'lagrangian(space, L): L must be an expression built with the DSL');
    if (space === null || typeof space !== 'object' || !(space.q instanceof Expr) || !(space.v instanceof Expr)) {
      throw new DarbouxError('SPEC', 'lagrangian(space, L): space must come from configurationSpace(dof)');
    }
    return new Lagrangian({ L, q: space.q, v: space.v, params: options.params, names: options.names });
  }
  return fromFormula(specOrSpace as LagrangianFormulaSpec);
}

/** `lagrangian(spec)`: validates the names (as `parse` does) and parses the formula. */
function fromFormula(spec: LagrangianFormulaSpec): Lagrangian {
  if (spec === null || typeof spec !== 'object') throw new DarbouxError('SPEC', 'lagrangian needs { q, v, L, params? }');
  const { q, v, L } = spec;
  const params = spec.params ?? {};
  if (!Array.isArray(q) || !Array.isArray(v)) throw new DarbouxError('SPEC', 'q and v must be arrays of names');
  if (q.length === 0) throw new DarbouxError('SPEC', 'q is empty: a Lagrangian needs at least one degree of freedom');
  if (q.length !== v.length) {
    throw new DarbouxError('SPEC', `q and v must have the same length (got ${q.length} positions and ${v.length} velocities)`, { q: q.length, v: v.length });
  }
  if (typeof L !== 'string') throw new DarbouxError('SPEC', 'L must be a formula string');
  const seen = new Map<string, string>();
  const declare = (name: unknown, kind: string) => {
    if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
      throw new DarbouxError('SPEC', `${kind} name ${JSON.stringify(name)} is not a valid identifier (letters, digits, _; not starting with a digit)`, { name });
    }
    if (FORMULA_FUNCTIONS.has(name)) throw new DarbouxError('SPEC', `${kind} name '${name}' is a function name`, { name });
    const prev = seen.get(name);
    if (prev !== undefined) throw new DarbouxError('SPEC', `duplicate name '${name}' (used as ${prev} and as ${kind})`, { name });
    seen.set(name, kind);
  };
  q.forEach((n) => declare(n, 'a position'));
  v.forEach((n) => declare(n, 'a velocity'));
  for (const [name, value] of Object.entries(params)) {
    declare(name, 'a parameter');
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new DarbouxError('SPEC', `parameter '${name}' must be a finite number, got ${String(value)}`, { name });
    }
  }
  if (spec.time !== undefined) declare(spec.time, 'the time');
  const dof = q.length;
  const { q: qv, v: vv } = stateInputs(dof);
  const scope = new Map<string, Expr>();
  q.forEach((n, i) => scope.set(n, index(qv, i)));
  v.forEach((n, i) => scope.set(n, index(vv, i)));
  for (const name of Object.keys(params)) scope.set(name, param(name));
  const timeName = spec.time ?? 't';
  if (!scope.has(timeName)) scope.set(timeName, time());
  return new Lagrangian({ L: parseFormula(L, scope), q: qv, v: vv, params, names: { q, v } });
}
