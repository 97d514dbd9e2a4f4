/**
 * Reductions over sites as op records: `siteSum` (Σ_i B(x_i), x_i the dim-vector of particle i) and `siteMap`
 * (the per-site vectors G(x_i) [, y_i], e.g. ∂B/∂x_i, concatenated to n·dim). Bodies as in pair-body.ts: a closed
 * graph over the bound variables x (and y, the site's slice of a second vector argument) and lifted arguments.
 */
import { DarbouxError } from '../../errors.js';
import type { Attrs, Expr } from '../expr.js';
import { add, constant, dot } from '../build.js';
import { make } from '../make.js';
import { defineOp, graphCalculus, type EmitContext, type Value } from '../op.js';
import { size } from '../shape.js';
import { substitute, topologicalOrder } from '../traverse.js';
import { bound, decodeBody, liftBody, printReduction, liftedBodyTangents, withArgumentPlaceholders } from './pair-body.js';
import { checkParticles } from './pair-builders.js';

const leading = (attrs: Attrs) => (attrs.vector === true ? 2 : 1);
const siteAttrs = (attrs: Attrs, vector: boolean): Attrs => ({ n: attrs.n!, dim: attrs.dim!, ...(vector ? { vector: true } : {}) });

function siteNode(op: string, q: Expr, v: Expr | null, roots: readonly Expr[], attrs: Attrs): Expr {
  const { text, lifted } = liftBody(roots);
  return make(op, v === null ? [q, ...lifted] : [q, v, ...lifted], { ...attrs, body: text });
}
const unsupported = (node: Expr) => new DarbouxError('SPEC', `${node.op}: a third derivative of a site body is not supported`, { op: node.op });

/** Evaluates the body once per site, handing each result to `use`. */
function eachSite(values: Float64Array[], node: { args: readonly Expr[]; attrs: Attrs }, use: (i: number, out: Float64Array) => void, outSize: number): void {
  const n = node.attrs.n as number, dim = node.attrs.dim as number, lead = leading(node.attrs);
  const vars = lead === 2 ? ['x', 'y'] : ['x'];
  const f = decodeBody(node.attrs.body as string).evaluator(vars, node.args.length - lead);
  const x = new Float64Array(dim), y = new Float64Array(dim);
  const inputs = lead === 2 ? [x, y, ...values.slice(2)] : [x, ...values.slice(1)];
  const out = [new Float64Array(outSize)];
  for (let i = 0; i < n; i++) {
    x.set(values[0]!.subarray(i * dim, i * dim + dim));
    if (lead === 2) y.set(values[1]!.subarray(i * dim, i * dim + dim));
    f(inputs, out);
    use(i, out[0]!);
  }
}

/** Emits the site loop: binds x (and y) to the site's slices and lowers the body. */
function emitSites(ctx: EmitContext, node: Expr, use: (i: string, v: Value) => void): void {
  const n = node.attrs.n as number, dim = node.attrs.dim as number, lead = leading(node.attrs);
  const body = decodeBody(node.attrs.body as string);
  ctx.loop(n, (i) => {
    const m = new Map<Expr, Value>();
    const slice = (e: Expr): Value => ({ kind: 'unrolled', elems: Array.from({ length: dim }, (_, k) => ctx.temp(ctx.elem(e, `${i} * ${dim} + ${k}`))) });
    const xv = body.vars.get('x'), yv = body.vars.get('y');
    if (xv) m.set(xv, slice(node.args[0]!));
    if (yv && lead === 2) m.set(yv, slice(node.args[1]!));
    node.args.slice(lead).forEach((a, k) => {
      const ph = body.vars.get(`a${k}`);
      if (ph) m.set(ph, ctx.value(a));
    });
    const [v] = ctx.lowerBody(body.roots, m);
    use(i, v!);
  });
}
const elemOf = (v: Value, k: number) =>
  v.kind === 'scalar' ? v.code : v.kind === 'unrolled' ? v.elems[k]! : v.kind === 'fused' ? v.at(k) : v.offset === undefined || v.offset === 0 ? `${v.name}[${k}]` : `${v.name}[${v.offset} + ${k}]`;

/** Cotangents of lifted arguments: `op` nodes over the body's vjp. */
function liftedParts(node: Expr, rule: (roots: readonly Expr[], ph: readonly Expr[]) => Expr[], op: string, vector: Expr | null): Expr[] {
  const lead = leading(node.attrs);
  if (node.args.length === lead) return [];
  return withArgumentPlaceholders(node.attrs.body as string, node.args.slice(lead), rule).map((part) =>
    siteNode(op, node.args[0]!, vector, [part], siteAttrs(node.attrs, vector !== null)));
}

defineOp({
  name: 'siteSum',
  print: { custom: (args, n) => printReduction('siteSum', args, n.attrs.body as string, n.attrs.vector === true ? ['x', 'y'] : ['x']) },
  shape(args, attrs) {
    if (args[0]?.shape.length !== 1 || args[0].shape[0] !== (attrs.n as number) * (attrs.dim as number)) throw new DarbouxError('SHAPE', 'siteSum: q must be a vector of n·dim elements');
    return [...decodeBody(attrs.body as string).roots[0]!.shape];
  },
  evaluate(values, node) {
    const total = new Float64Array(size(node.shape));
    eachSite(values, node, (_i, out) => out.forEach((v, k) => (total[k]! += v)), total.length);
    return total;
  },
  emit(ctx, node) {
    const count = size(node.shape);
    const acc = Array.from({ length: count }, () => ctx.mutable(ctx.literal(0)));
    emitSites(ctx, node, (_i, v) => acc.forEach((a, k) => ctx.line(`${a} += ${elemOf(v, k)}`)));
    return node.shape.length === 0 ? { kind: 'scalar', code: acc[0]! } : { kind: 'unrolled', elems: acc };
  },
  jvp(node, tangents) {
    const lead = leading(node.attrs);
    const [tq] = tangents;
    if ((tq && (node.shape.length !== 0 || lead === 2)) || (lead === 2 && tangents[1])) throw unsupported(node);
    let out: Expr | null = tq ? dot(siteGradient(node), tq) : null;
    const seeds = tangents.slice(lead);
    const [t] = liftedBodyTangents(node.attrs.body as string, node.args.slice(lead), seeds) ?? [];
    if (t) {
      const term = siteNode('siteSum', node.args[0]!, lead === 2 ? node.args[1]! : null, [t], siteAttrs(node.attrs, lead === 2));
      out = out === null ? term : add(out, term);
    }
    return out;
  },
  vjp(node, c, needed) {
    const lead = leading(node.attrs);
    // Unsupported (refused where needed): q and y derivatives with a vector, q derivative of a tensor-valued sum.
    if ((lead === 2 || node.shape.length !== 0) && (needed?.[0] !== false || (lead === 2 && needed[1] !== false))) throw unsupported(node);
    const dq = lead === 1 && node.shape.length === 0 ? make('mul', [c, siteGradient(node)]) : null;
    const rest = liftedParts(node, (roots, ph) => graphCalculus().vjp(roots, [c], ph), 'siteSum', lead === 2 ? node.args[1]! : null);
    return [dq, ...(lead === 2 ? [null] : []), ...rest];
  },
});

/** ∂/∂q of a scalar siteSum: the siteMap of ∂B/∂x. */
function siteGradient(node: Expr): Expr {
  const x = bound('x', [node.attrs.dim as number]);
  const [g] = withArgumentPlaceholders(node.attrs.body as string, node.args.slice(1), (roots) => graphCalculus().vjp(roots, [constant(1)], [x]));
  return siteNode('siteMap', node.args[0]!, null, [g!], siteAttrs(node.attrs, false));
}

defineOp({
  name: 'siteMap',
  print: { custom: (args, n) => printReduction('siteMap', args, n.attrs.body as string, n.attrs.vector === true ? ['x', 'y'] : ['x']) },
  shape(args, attrs) {
    const dim = attrs.dim as number;
    if (args[0]?.shape.length !== 1 || args[0].shape[0] !== (attrs.n as number) * dim) throw new DarbouxError('SHAPE', 'siteMap: q must be a vector of n·dim elements');
    const s = decodeBody(attrs.body as string).roots[0]!.shape;
    if (s.length !== 1 || s[0] !== dim) throw new DarbouxError('SHAPE', `siteMap: the body must be a vector [${dim}]`);
    return [args[0].shape[0]];
  },
  evaluate(values, node) {
    const dim = node.attrs.dim as number;
    const result = new Float64Array(size(node.shape));
    eachSite(values, node, (i, out) => result.set(out, i * dim), dim);
    return result;
  },
  emit(ctx, node) {
    const dim = node.attrs.dim as number;
    const name = ctx.array(size(node.shape));
    emitSites(ctx, node, (i, v) => {
      for (let k = 0; k < dim; k++) ctx.line(`${name}[${i} * ${dim} + ${k}] = ${elemOf(v, k)}`);
    });
    return { kind: 'array', name, size: size(node.shape) };
  },
  jvp(node, tangents) {
    const lead = leading(node.attrs);
    const [tq] = tangents;
    if (lead === 2 && (tq || tangents.slice(2).some((t) => t !== null))) throw unsupported(node);
    if (lead === 2) return tangents[1] ? make('siteMap', [node.args[0]!, tangents[1]!, ...node.args.slice(2)], node.attrs) : null; // linear in y when built as a Jacobian-vector map
    let out: Expr | null = tq ? jacobianVector(node, tq) : null;
    const seeds = tangents.slice(1);
    const [t] = liftedBodyTangents(node.attrs.body as string, node.args.slice(1), seeds) ?? [];
    if (t) {
      const term = siteNode('siteMap', node.args[0]!, null, [t], siteAttrs(node.attrs, false));
      out = out === null ? term : add(out, term);
    }
    return out;
  },
  vjp(node, c, needed) {
    const lead = leading(node.attrs);
    if (lead === 2) {
      if (node.args.length > 2 || needed?.[0] !== false) throw unsupported(node);
      return [null, transposed(node, c)];
    }
    const y = bound('y', [node.attrs.dim as number]);
    const rest = liftedParts(node, (roots, ph) => graphCalculus().vjp(roots, [y], ph), 'siteSum', c);
    return [vectorJacobian(node, c), ...rest];
  },
});

/** For a siteMap linear in y (G = M(x)·y, as built by the rules here): the map with Mᵀ per site, applied to c. */
function transposed(node: Expr, c: Expr): Expr {
  const dim = node.attrs.dim as number;
  const y = bound('y', [dim]), z = bound('z', [dim]);
  const body = decodeBody(node.attrs.body as string);
  const [t] = graphCalculus().vjp(body.roots, [z], [body.vars.get('y') ?? y]);
  if (topologicalOrder([t!]).includes(y)) throw unsupported(node);
  const [swapped] = substitute([t!], new Map([[z, y]]));
  return siteNode('siteMap', node.args[0]!, c, [swapped!], siteAttrs(node.attrs, true));
}

/** G's Jacobian in x applied per site to v (a siteMap reading v as y). Symmetric when G is a gradient. */
function jacobianVector(node: Expr, v: Expr): Expr {
  const x = bound('x', [node.attrs.dim as number]), y = bound('y', [node.attrs.dim as number]);
  const [t] = withArgumentPlaceholders(node.attrs.body as string, node.args.slice(1), (roots) => [graphCalculus().jvp(roots, new Map([[x, y]]))[0] ?? constant(0, [node.attrs.dim as number])]);
  return siteNode('siteMap', node.args[0]!, v, [t], siteAttrs(node.attrs, true));
}
function vectorJacobian(node: Expr, c: Expr): Expr {
  const x = bound('x', [node.attrs.dim as number]), y = bound('y', [node.attrs.dim as number]);
  const [t] = withArgumentPlaceholders(node.attrs.body as string, node.args.slice(1), (roots) => graphCalculus().vjp(roots, [y], [x]));
  return siteNode('siteMap', node.args[0]!, c, [t], siteAttrs(node.attrs, true));
}

/**
 * Σ_i f(x_i) over particles, x_i the `dim`-vector of particle i taken from `q` (e.g. an external potential).
 *
 * @example
 * const U = siteSum(q, { n: 4, dim: 3, body: (x) => mul(param('g'), index(x, 2)) }); // gravity g·z
 */
export function siteSum(q: Expr, options: { n: number; dim: number; body: (x: Expr) => Expr }): Expr {
  const attrs = checkParticles('siteSum', q, options.n, options.dim);
  const B = options.body(bound('x', [options.dim]));
  if (B.shape.length !== 0) throw new DarbouxError('SPEC', `siteSum: the body must return a scalar, got shape [${B.shape.join('×')}]`, { shape: [...B.shape] });
  return siteNode('siteSum', q, null, [B], attrs);
}
