/**
 * Bound-variable bodies of the index-set reductions (`pairSum`, `pairGradient`, `pairHessianVector`, `siteSum`,
 * `siteMap`): a small closed graph over placeholder inputs (role 'bound'), stored in the reducing node's `body`
 * attribute as its graph JSON text. A body is closed: every subexpression that does not depend on a bound
 * variable (a parameter, an expression of parameters, a tangent) is lifted out into an argument of the reducing
 * node and replaced in the body by the placeholder `a0`, `a1`, … So
 * - interning stays structural (equal bodies have equal text, equal nodes are `===`),
 * - traversals (`inputsOf`, `substitute`, separability, JSON, the evaluator) see the lifted arguments as ordinary
 *   arguments and never enter the body,
 * - derivative rules differentiate the body over its placeholders, then instantiate and lift again.
 */
import type { Expr } from '../expr.js';
import { make, isConstant } from '../make.js';
import { constant } from '../build.js';
import { graphCalculus } from '../op.js';
import { graphEvaluator, type GraphEvaluator } from '../evaluate-graph.js';
import { serializeGraph, deserializeGraph } from '../json.js';
import { substitute, topologicalOrder } from '../traverse.js';
import type { Shape } from '../shape.js';
import { printExpr } from '../printer.js';

/** A bound placeholder (role 'bound'): `r`, `s`, `x`, or a lifted argument `a0`, `a1`, … @example bound('r') */
export function bound(name: string, shape: Shape = []): Expr {
  return make('input', [], { role: 'bound', name, shape: [...shape] });
}

/** Whether a node is a bound placeholder. @example isBound(bound('r')) // true */
export function isBound(e: Expr): boolean {
  return e.op === 'input' && e.attrs.role === 'bound';
}

/** A decoded body: its roots, its bound variables by name, and an f64 evaluator over (variables…, a0, a1, …). */
export interface Body {
  readonly roots: readonly Expr[];
  /** Placeholder by name (`r`, `s`, `x`, `a0`, …); missing names are not used by the body. */
  readonly vars: ReadonlyMap<string, Expr>;
  /** Evaluator with inputs [...variables, a0 … a(k−1)] (variables as given to `evaluator`). */
  evaluator(variables: readonly string[], lifted: number): GraphEvaluator;
}

const cache = new Map<string, Body>();
const BODY_CACHE_LIMIT = 4096;

/** The body stored in a node's `body` attribute (decoded once per text). @example decodeBody(node.attrs.body as string).roots */
export function decodeBody(text: string): Body {
  let body = cache.get(text);
  if (body === undefined) {
    const roots = deserializeGraph(text);
    const vars = new Map<string, Expr>();
    for (const n of topologicalOrder(roots)) if (isBound(n)) vars.set(n.attrs.name as string, n);
    const evaluators = new Map<string, GraphEvaluator>();
    body = {
      roots,
      vars,
      evaluator(variables, lifted) {
        const key = `${variables.join(',')}|${lifted}`;
        let f = evaluators.get(key);
        if (f === undefined) {
          const names = [...variables, ...Array.from({ length: lifted }, (_, k) => `a${k}`)];
          // An unused placeholder still needs a slot: bind a fresh scalar input of the right shape.
          const inputs = names.map((n) => vars.get(n) ?? bound(`unused_${n}`));
          f = graphEvaluator(inputs, roots);
          evaluators.set(key, f);
        }
        return f;
      },
    };
    // Bounded, like the weak intern table: a long-lived process that builds many distinct bodies does not grow.
    if (cache.size >= BODY_CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(text, body);
  }
  return body;
}

/**
 * Closure conversion: the maximal subexpressions of `roots` that depend on no bound variable (constants aside)
 * become arguments, replaced by placeholders a0, a1, … in order of first appearance. Returns the body text and
 * the lifted arguments.
 *
 * @example
 * const r = bound('r');
 * liftBody([mul(param('eps'), powi(r, -12))]); // { text: '…a0 * r^-12…', lifted: [eps] }
 */
export function liftBody(roots: readonly Expr[]): { text: string; lifted: Expr[] } {
  const order = topologicalOrder(roots);
  const dependent = new Set<Expr>();
  for (const n of order) if (isBound(n) || n.args.some((a) => dependent.has(a))) dependent.add(n);
  const lifted: Expr[] = [];
  const replacements = new Map<Expr, Expr>();
  const lift = (e: Expr) => {
    if (dependent.has(e) || isConstant(e) || replacements.has(e)) return;
    replacements.set(e, bound(`a${lifted.length}`, e.shape));
    lifted.push(e);
  };
  for (const n of order) if (dependent.has(n)) n.args.forEach(lift);
  roots.forEach(lift);
  return { text: serializeGraph(substitute(roots, replacements)), lifted };
}

/**
 * Differentiates an instantiated body with respect to lifted arguments without confusing them with their own
 * subexpressions: each argument is replaced by a fresh placeholder `d0`, `d1`, … first, the rule runs over those,
 * and the results are instantiated back.
 *
 * @example
 * withArgumentPlaceholders(roots, args, (ph) => vjp(roots2, [s], ph))
 */
export function withArgumentPlaceholders(text: string, args: readonly Expr[], rule: (roots: readonly Expr[], placeholders: readonly Expr[]) => Expr[]): Expr[] {
  const body = decodeBody(text);
  const placeholders = args.map((a, k) => body.vars.get(`a${k}`) ?? bound(`a${k}`, a.shape));
  const out = rule(body.roots, placeholders);
  const back = new Map<Expr, Expr>();
  placeholders.forEach((p, k) => back.set(p, args[k]!));
  return substitute(out, back);
}

/**
 * How the printer writes a reduction: its name, its arguments, and its body as `vars ↦ expression` (placeholders
 * a0, a1, … stand for the arguments after the leading ones).
 *
 * @example
 * printReduction('pairSum', ['q', 'eps', 'sig'], text, ['r']) // 'pairSum(q, eps, sig; r ↦ 4 * a0 * …)'
 */
export function printReduction(op: string, args: readonly string[], text: string, vars: readonly string[]): string {
  const body = decodeBody(text);
  const shown = body.roots.map((root) => printExpr(root)).join(', ');
  return `${op}(${args.join(', ')}; ${vars.join(', ')} ↦ ${body.roots.length > 1 ? `(${shown})` : shown})`;
}

/**
 * The tangents of a body's roots through its lifted arguments (`seeds[k]` the tangent of argument k, null = zero),
 * one per root; null when every seed is zero. Shared by the JVP rules of every reduction over index sets.
 *
 * @example
 * const [t] = liftedBodyTangents(node.attrs.body as string, node.args.slice(lift), tangents.slice(lift)) ?? [];
 */
export function liftedBodyTangents(text: string, args: readonly Expr[], seeds: readonly (Expr | null)[]): Expr[] | null {
  if (seeds.every((t) => t === null)) return null;
  return withArgumentPlaceholders(text, args, (roots, placeholders) => {
    const tangents = new Map<Expr, Expr>();
    placeholders.forEach((p, k) => {
      if (seeds[k]) tangents.set(p, seeds[k]!);
    });
    return graphCalculus().jvp(roots, tangents).map((d, k) => d ?? constant(0, roots[k]!.shape));
  });
}
