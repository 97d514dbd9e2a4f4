import { DarbouxError, showValue } from '../errors.js';
import { isFormulaName } from '../ir/tokenizer.js';
import { index, input, param, time } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { FORMULA_FUNCTIONS, parseFormula } from '../ir/parser.js';
import { Hamiltonian } from './hamiltonian.js';

/** A Hamiltonian written as a formula. */
export interface FormulaSpec {
  /** Names of the positions. */
  q: readonly string[];
  /** Names of the conjugate momenta (same length as q). */
  p: readonly string[];
  /**
   * The formula: numbers, the names, + − * / ^, unary minus, parentheses, and the one-argument functions of
   * `FORMULA_FUNCTIONS` (sqrt exp log sin cos tan tanh sinh cosh abs sign softplus sigmoid).
   */
  H: string;
  /** Scalar parameters and their values. */
  params?: Record<string, number>;
  /**
   * The name the formula uses for the time (the Hamiltonian's time input, as the DSL's `time()` gives), e.g. `'t'`
   * for a driven H. Without it H is autonomous and every name must be a position, momentum or parameter. The
   * name must not be one of q, p or params (SPEC). `lagrangian({ q, v, L, time })` takes the same option.
   */
  time?: string;
}


/**
 * Parses a Hamiltonian formula into a typed expression graph.
 *
 * @example
 * const h = parse({ q: ['x', 'y'], p: ['px', 'py'], H: '(px^2+py^2)/2 + (x^2+y^2)/2 + lam*(x^2*y - y^3/3)', params: { lam: 1 } });
 * h.dof; // 2
 * h.isSeparable; // true
 * const driven = parse({ q: ['x'], p: ['px'], H: 'px^2/2 + x^2/2 - A*x*cos(w*t)', params: { A: 0.1, w: 1.3 }, time: 't' });
 * driven.energy([1], [0], Math.PI); // 0.5 - 0.1*cos(1.3π)
 */
export function parse(spec: FormulaSpec): Hamiltonian {
  if (spec === null || typeof spec !== 'object') throw new DarbouxError('SPEC', `parse needs { q, p, H, params?, time? }, got ${showValue(spec)}`, { value: showValue(spec) });
  const { q, p, H } = spec;
  const params = spec.params ?? {};
  if (!Array.isArray(q) || !Array.isArray(p)) throw new DarbouxError('SPEC', `q and p must be arrays of names, got ${showValue(q)} and ${showValue(p)}`, { field: Array.isArray(q) ? 'p' : 'q' });
  if (q.length === 0) throw new DarbouxError('SPEC', 'q is empty: a Hamiltonian needs at least one degree of freedom', { field: 'q', length: 0 });
  if (q.length !== p.length) {
    throw new DarbouxError('SPEC', `q and p must have the same length (got ${q.length} positions and ${p.length} momenta)`, { q: q.length, p: p.length });
  }
  if (typeof H !== 'string') throw new DarbouxError('SPEC', `H must be a formula string, got ${showValue(H)}`, { field: 'H' });
  const seen = new Map<string, string>();
  const declare = (name: unknown, kind: string) => {
    if (!isFormulaName(name) || name === '__proto__') {
      throw new DarbouxError(
        'SPEC',
        `${kind} name ${showValue(name)} is not a valid identifier: use a letter (Unicode letters such as θ or ω included) or _, ` +
          'then letters, digits, _, subscript or superscript digits and primes (x₁, p_θ, x′); no spaces, operators or invisible characters',
        { name, kind },
      );
    }
    if (FORMULA_FUNCTIONS.has(name)) throw new DarbouxError('SPEC', `${kind} name '${name}' is a function name: rename it`, { name, kind });
    const prev = seen.get(name);
    if (prev !== undefined) throw new DarbouxError('SPEC', `duplicate name '${name}' (used as ${prev} and as ${kind}): rename one`, { name, kind });
    seen.set(name, kind);
  };
  q.forEach((n) => declare(n, 'a position'));
  p.forEach((n) => declare(n, 'a momentum'));
  for (const [name, value] of Object.entries(params)) {
    declare(name, 'a parameter');
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new DarbouxError('SPEC', `parameter '${name}' must be a finite number, got ${showValue(value)}`, { name, value });
    }
  }
  if (spec.time !== undefined) declare(spec.time, 'the time');
  const dof = q.length;
  const qv = input('q', 'q', [dof]), pv = input('p', 'p', [dof]);
  const scope = new Map<string, Expr>();
  q.forEach((n, i) => scope.set(n, index(qv, i)));
  p.forEach((n, i) => scope.set(n, index(pv, i)));
  for (const name of Object.keys(params)) scope.set(name, param(name));
  if (spec.time !== undefined) scope.set(spec.time, time());
  const expr = parseFormula(H, scope, { finiteConstants: true });
  return new Hamiltonian({ H: expr, q: qv, p: pv, params, names: { q, p } });
}
