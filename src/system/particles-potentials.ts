/**
 * The potential terms of a particle system: formulas in `r` (pairs, bonds) or in one particle's coordinates
 * x, y, z (external field), or DSL functions, turned into builders for the pair, edge and site sums; and the
 * merge of every term's named parameters into one table.
 */
import { DarbouxError, showValue } from '../errors.js';
import { isFormulaName } from '../ir/tokenizer.js';
import { index, param, type Scalar, type Vector } from '../ir/build.js';
import type { Expr } from '../ir/expr.js';
import { FORMULA_FUNCTIONS, parseFormula } from '../ir/parser.js';

/** A pair (or bond) potential: a formula in `r` and named params, or a DSL function of the distance. */
export type PairPotential = string | ((r: Scalar) => Expr);

/** An external potential: a formula in one particle's coordinates x, y, z, or a DSL function of its [dim] position. */
export type ExternalPotential = string | ((x: Vector) => Expr);

const COORDINATES = ['x', 'y', 'z'] as const;

/** Checks a term's params: identifiers, finite numbers, not a variable or function name. */
function checkParams(term: string, params: Record<string, number>, reserved: readonly string[]): void {
  if (params === null || typeof params !== 'object') throw new DarbouxError('SPEC', `${term}.params must be an object of numbers`, { term });
  for (const [name, value] of Object.entries(params)) {
    if (!isFormulaName(name) || name === '__proto__' || FORMULA_FUNCTIONS.has(name) || reserved.includes(name)) {
      throw new DarbouxError('SPEC', `${term}.params: ${showValue(name)} cannot be a parameter name (it must be an identifier, not a function name or one of ${reserved.join(', ')})`, { term, name });
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new DarbouxError('SPEC', `${term}.params.${name} must be a finite number, got ${showValue(value)}`, { term, name, value });
    }
  }
}

/**
 * The builder V(r) of a pair or bond term. A formula is parsed once per call with `r` bound to the distance
 * node and each name in `params` to `param(name)`.
 *
 * @example
 * const V = pairPotential('pair', '4*eps*((sig/r)^12 - (sig/r)^6)', { eps: 1, sig: 1 });
 */
export function pairPotential(term: string, V: PairPotential, params: Record<string, number>): (r: Expr) => Expr {
  checkParams(term, params, ['r']);
  if (typeof V === 'function') return (r) => checked(term, V(r as Scalar));
  if (typeof V !== 'string') throw new DarbouxError('SPEC', `${term}.V must be a formula in r or a function of r`, { term });
  return (r) => {
    const scope = new Map<string, Expr>([['r', r]]);
    for (const name of Object.keys(params)) scope.set(name, param(name));
    return checked(term, parseFormula(V, scope, { finiteConstants: true }));
  };
}

/**
 * The builder f(x_i) of an external term over one particle's [dim] position; a formula names its coordinates
 * x, y, z (the first `dim` of them).
 *
 * @example
 * const f = externalPotential('g*z', { g: 0.1 }, 3);
 */
export function externalPotential(V: ExternalPotential, params: Record<string, number>, dim: number): (x: Expr) => Expr {
  const coordinates = COORDINATES.slice(0, dim);
  checkParams('external', params, coordinates);
  if (typeof V === 'function') return (x) => checked('external', V(x as Vector));
  if (typeof V !== 'string') throw new DarbouxError('SPEC', 'external.V must be a formula in x, y, z or a function of the position', {});
  if (dim > 3) throw new DarbouxError('SPEC', `external.V as a formula names x, y, z, so it needs dim ≤ 3 (got ${dim}); pass a function of the position instead`, { dim });
  return (x) => {
    const scope = new Map<string, Expr>();
    coordinates.forEach((name, k) => scope.set(name, index(x, k)));
    for (const name of Object.keys(params)) scope.set(name, param(name));
    return checked('external', parseFormula(V, scope, { finiteConstants: true }));
  };
}

function checked(term: string, value: Expr): Expr {
  if (value === null || typeof value !== 'object' || !Array.isArray(value.shape) || value.shape.length !== 0) {
    throw new DarbouxError('SHAPE', `${term}.V must give a scalar expression`, { term });
  }
  return value;
}

/**
 * Merges the params of every term into one table; a name used by two terms with different values is refused.
 *
 * @example
 * mergeParams([['pair', { eps: 1 }], ['bonds', { k: 100 }]]); // { eps: 1, k: 100 }
 */
export function mergeParams(terms: readonly (readonly [string, Record<string, number> | undefined])[]): Record<string, number> {
  const merged: Record<string, number> = {};
  const owner: Record<string, string> = {};
  for (const [term, params] of terms) {
    for (const [name, value] of Object.entries(params ?? {})) {
      if (name in merged && merged[name] !== value) {
        throw new DarbouxError('SPEC', `parameter '${name}' is ${merged[name]} in ${owner[name]} but ${value} in ${term}: rename one of them`, { name, terms: [owner[name], term] });
      }
      merged[name] = value;
      owner[name] = term;
    }
  }
  return merged;
}
