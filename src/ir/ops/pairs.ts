/**
 * Reductions over pairs of particles as op records: `pairSum` (Σ over pairs i < j or over an edge list of a body
 * B(r)), `pairGradient` (its per-site gather ∂/∂q: Σ_j f(r_ij) d_ij / r_ij) and `pairHessianVector` (the gather's
 * Jacobian times a vector). The body is a small closed graph over the bound variables r (and s, a projection
 * used by parameter gradients), stored in the `body` attribute (see pair-body.ts); everything it reads from
 * outside is a lifted argument. So the graph of a particle Hamiltonian has a size independent of N.
 * Argument layout: [q, (v), a0, a1, …] — v (a vector [n·dim]) for `pairHessianVector` and a projected
 * `pairSum`. Builders `pairSum`, `edgeSum` (this file) and `siteSum` (sites.ts) are the public forms.
 */
import { DarbouxError } from '../../errors.js';
import { Expr, type Attrs } from '../expr.js';
import { add, constant, div, dot, mul, sub } from '../build.js';
import { make } from '../make.js';
import { defineOp, graphCalculus, type Value } from '../op.js';
import { size } from '../shape.js';
import { bound, decodeBody, liftBody, printReduction, liftedBodyTangents, withArgumentPlaceholders } from './pair-body.js';
import { emitPairLoop, forEachPair, geometry } from './pair-geometry.js';
import { emitThreadSum, pairThreads } from './pair-threads.js';
import { pairWeightOverR2, R_SQUARED_BOUND } from './pair-parity.js';
import { arrayElem, emitSiteVectors, leading, liftedBindings, projected, projections, PROJECTIONS, scalarCode } from './pair-emit.js';

const geometryAttrs = (attrs: Attrs): Attrs => {
  const out: Record<string, Attrs[string]> = {};
  for (const k of ['n', 'dim', 'box', 'cutoff', 'edges']) if (attrs[k] !== undefined) out[k] = attrs[k]!;
  return out;
};

/** Builds a pair op over an instantiated body (roots over r, s and outer expressions), lifting it. */
function pairNode(op: string, q: Expr, vectors: readonly Expr[], roots: readonly Expr[], attrs: Attrs): Expr {
  const { text, lifted } = liftBody(roots);
  return make(op, [q, ...vectors, ...lifted], { ...attrs, body: text });
}

const third = (node: Expr) =>
  new DarbouxError('SPEC', `${node.op}: this derivative (a third derivative of a pair potential, or a second one through a projection) is not supported; differentiate at most twice in q`, { op: node.op });

function checkShape(op: string, args: readonly Expr[], attrs: Attrs): void {
  const { n, dim } = geometry(attrs);
  const q = args[0];
  if (q === undefined || q.shape.length !== 1 || q.shape[0] !== n * dim) {
    throw new DarbouxError('SHAPE', `${op}: q must be a vector of n·dim = ${n * dim} elements, got [${q?.shape.join('×') ?? ''}]`, { n, dim });
  }
  for (let k = 1; k < leading({ op, attrs }); k++) {
    if (args[k] === undefined || args[k]!.shape.length !== 1 || args[k]!.shape[0] !== n * dim) {
      throw new DarbouxError('SHAPE', `${op}: argument ${k} must be a vector of n·dim = ${n * dim} elements`, { n, dim });
    }
  }
}

/** The lifted placeholders' values and the body evaluator for a node. */
function bodyEval(node: { op: string; args: readonly Expr[]; attrs: Attrs }, variables: string[]) {
  const lifted = node.args.length - leading(node);
  const f = decodeBody(node.attrs.body as string).evaluator(variables, lifted);
  return f;
}

defineOp({
  name: 'pairSum',
  print: { custom: (args, n) => printReduction('pairSum', args, n.attrs.body as string, PROJECTIONS[projected(n.attrs)]!) },
  shape(args, attrs) {
    checkShape('pairSum', args, attrs);
    return [...decodeBody(attrs.body as string).roots[0]!.shape];
  },
  evaluate(values, node) {
    const g = geometry(node.attrs);
    const project = projected(node.attrs);
    const vars = PROJECTIONS[project]!;
    const f = bodyEval({ op: 'pairSum', ...node }, [...vars]);
    const lifted = values.slice(1 + project);
    const out = new Float64Array(size(node.shape));
    const one = [new Float64Array(out.length)];
    const slots = vars.map(() => new Float64Array(1));
    const inputs = [...slots, ...lifted];
    const rv = slots[0]!;
    let shift: Float64Array | null = null;
    if (node.attrs.shift === true && g.cutoff !== null && project === 0) {
      rv[0] = g.cutoff;
      f(inputs, one);
      shift = Float64Array.from(one[0]!);
    }
    const [c, w] = [values[1]!, values[2]!];
    forEachPair(g, values[0]!, (i, j, d, r) => {
      rv[0] = r;
      if (project > 0) {
        let s = 0, t = 0, u = 0;
        for (let k = 0; k < g.dim; k++) {
          const dc = c[i * g.dim + k]! - c[j * g.dim + k]!;
          s += dc * d[k]!;
          if (project === 2) {
            const dw = w[i * g.dim + k]! - w[j * g.dim + k]!;
            t += dw * d[k]!;
            u += dc * dw;
          }
        }
        slots[1]![0] = s / r;
        if (project === 2) [slots[2]![0], slots[3]![0]] = [t / r, u];
      }
      f(inputs, one);
      for (let k = 0; k < out.length; k++) out[k]! += one[0]![k]! - (shift?.[k] ?? 0);
    });
    return out;
  },
  emit(ctx, node) {
    const g = geometry(node.attrs);
    const body = decodeBody(node.attrs.body as string);
    const project = projected(node.attrs);
    const bindings = (variables: readonly Value[]) => {
      const m = new Map<Expr, Value>();
      PROJECTIONS[project]!.forEach((name, k) => {
        const placeholder = body.vars.get(name);
        if (placeholder && variables[k]) m.set(placeholder, variables[k]!);
      });
      node.args.slice(leading(node)).forEach((a, k) => {
        const ph = body.vars.get(`a${k}`);
        if (ph) m.set(ph, ctx.value(a));
      });
      return m;
    };
    const count = size(node.shape);
    const elemOf = (v: Value, k: number) => (v.kind === 'scalar' ? v.code : v.kind === 'unrolled' ? v.elems[k]! : v.kind === 'fused' ? v.at(k) : arrayElem(v, k));
    let shift: string[] | null = null;
    if (node.attrs.shift === true && g.cutoff !== null && project === 0) {
      const [sv] = ctx.lowerBody(body.roots, bindings([{ kind: 'scalar', code: ctx.literal(g.cutoff) }]));
      shift = Array.from({ length: count }, (_, k) => ctx.temp(elemOf(sv!, k)));
    }
    // A long body (a parameter gradient of a learned potential) accumulates into an array, added by a loop.
    const long = count > ctx.unrollLimit;
    const accArray = long ? ctx.array(count) : '';
    if (long) ctx.loop(count, (k) => ctx.line(`${accArray}[${k}] = ${ctx.literal(0)}`));
    const acc = long ? [] : Array.from({ length: count }, () => ctx.mutable(ctx.literal(0)));
    emitPairLoop(ctx, g, node.args[0]!, (p) => {
      const [bv] = ctx.lowerBody(body.roots, bindings(projections(ctx, node, p, project)));
      const minus = (k: number | string) => (shift ? ` - ${shift[k as number]}` : '');
      if (!long) acc.forEach((a, k) => ctx.line(`${a} += ${elemOf(bv!, k)}${minus(k)}`));
      else if (bv!.kind === 'array' && shift === null) {
        const arr = bv!;
        ctx.loop(count, (k) => ctx.line(`${accArray}[${k}] += ${arrayElem(arr, k)}`));
      } else for (let k = 0; k < count; k++) ctx.line(`${accArray}[${k}] += ${elemOf(bv!, k)}${minus(k)}`);
    });
    const threads = pairThreads(ctx); // a threaded runner: this worker's partial sums, summed over workers
    if (threads !== null) emitThreadSum(ctx, threads, long ? { array: accArray, length: count } : { scalars: acc });
    if (long) return { kind: 'array', name: accArray, size: count };
    return count === 1 && node.shape.length === 0 ? { kind: 'scalar', code: acc[0]! } : { kind: 'unrolled', elems: acc };
  },
  jvp(node, tangents) {
    const [tq] = tangents;
    const project = projected(node.attrs);
    if ((project > 0 && tangents.slice(0, 1 + project).some((t) => t !== null)) || (tq && node.shape.length !== 0)) throw third(node);
    let out: Expr | null = tq ? dot(gradientOf(node), tq) : null;
    const lift = leading(node);
    const seeds = tangents.slice(lift);
    const [t] = liftedBodyTangents(node.attrs.body as string, node.args.slice(lift), seeds) ?? [];
    if (t) {
      const term = pairNode('pairSum', node.args[0]!, node.args.slice(1, lift), [t], pairSumAttrs(node.attrs));
      out = out === null ? term : add(out, term);
    }
    return out;
  },
  vjp(node, c, needed) {
    const project = projected(node.attrs);
    const lift = leading(node);
    // Unsupported: q and vector derivatives of a projected sum, and the q derivative of a tensor-valued one.
    if (project > 0 && (needed === undefined || needed.slice(0, lift).some((k) => k))) throw third(node);
    if (node.shape.length !== 0 && needed?.[0] !== false) throw third(node);
    const dq = project ? null : node.shape.length === 0 ? mul(c, gradientOf(node)) : null;
    const rest = liftedVjp(node, (roots, ph) => graphCalculus().vjp(roots, [c], ph), 'pairSum', pairSumAttrs(node.attrs));
    return [dq, ...node.args.slice(1, lift).map(() => null), ...rest];
  },
});

const pairSumAttrs = (attrs: Attrs): Attrs => {
  const out: Record<string, Attrs[string]> = { ...geometryAttrs(attrs) };
  if (attrs.shift !== undefined) out.shift = attrs.shift;
  if (attrs.project !== undefined) out.project = attrs.project;
  return out;
};

/** Cotangents of the lifted arguments: one pair op per argument over the body's derivative. */
function liftedVjp(node: Expr, rule: (roots: readonly Expr[], ph: readonly Expr[]) => Expr[], op: string, attrs: Attrs): (Expr | null)[] {
  const lift = leading(node);
  const args = node.args.slice(lift);
  if (args.length === 0) return [];
  const parts = withArgumentPlaceholders(node.attrs.body as string, args, rule);
  return parts.map((part) => pairNode(op, node.args[0]!, node.args.slice(1, lift), [part], attrs));
}

/** ∂/∂q of a scalar, unprojected pairSum: the gather of B'(r). */
function gradientOf(node: Expr): Expr {
  const r = bound('r');
  const lift = leading(node);
  const [dB] = withArgumentPlaceholders(node.attrs.body as string, node.args.slice(lift), (roots) => graphCalculus().vjp(roots, [constant(1)], [r]));
  return pairNode('pairGradient', node.args[0]!, [], [dB!], geometryAttrs(node.attrs));
}

defineOp({
  name: 'pairGradient',
  print: { custom: (args, n) => printReduction('pairGradient', args, n.attrs.body as string, ['r']) },
  shape(args, attrs) {
    checkShape('pairGradient', args, attrs);
    return [args[0]!.shape[0]!];
  },
  evaluate(values, node) {
    const g = geometry(node.attrs);
    const f = bodyEval({ op: 'pairGradient', ...node }, ['r']);
    const rv = new Float64Array(1);
    const inputs = [rv, ...values.slice(1)];
    const one = [new Float64Array(1)];
    const out = new Float64Array(g.n * g.dim);
    forEachPair(g, values[0]!, (i, j, d, r) => {
      rv[0] = r;
      f(inputs, one);
      const w = one[0]![0]! / r;
      for (let k = 0; k < g.dim; k++) {
        out[i * g.dim + k]! += w * d[k]!;
        out[j * g.dim + k]! -= w * d[k]!;
      }
    });
    return out;
  },
  emit(ctx, node) {
    const body = decodeBody(node.attrs.body as string);
    // JS: the weight f/r over r² when the body allows (pair-parity.ts): no square root or division per pair.
    const weight = ctx.target === 'js' ? pairWeightOverR2(node.attrs.body as string, body) : null;
    return emitSiteVectors(ctx, node, (p) => {
      if (weight !== null) {
        const [w] = ctx.lowerBody([weight], liftedBindings(ctx, node, body, p.r).set(R_SQUARED_BOUND, { kind: 'scalar', code: p.r2 }));
        const wc = ctx.temp(scalarCode(w!));
        return p.d.map((dk) => `${wc} * ${dk}`);
      }
      const [f] = ctx.lowerBody(body.roots, liftedBindings(ctx, node, body, p.r));
      const w = ctx.temp(`${scalarCode(f!)} / ${p.r}`);
      return p.d.map((dk) => `${w} * ${dk}`);
    });
  },
  jvp(node, tangents) {
    const [tq, ...seeds] = tangents;
    let out: Expr | null = tq ? hessianVector(node, tq) : null;
    const [t] = liftedBodyTangents(node.attrs.body as string, node.args.slice(1), seeds) ?? [];
    if (t) {
      const term = pairNode('pairGradient', node.args[0]!, [], [t], geometryAttrs(node.attrs));
      out = out === null ? term : add(out, term);
    }
    return out;
  },
  vjp(node, c) {
    const s = bound('s');
    const rest = node.args.length > 1
      ? withArgumentPlaceholders(node.attrs.body as string, node.args.slice(1), (roots, ph) => graphCalculus().vjp(roots, [s], ph)).map((part) =>
          pairNode('pairSum', node.args[0]!, [c], [part], { ...geometryAttrs(node.attrs), project: 1 }))
      : [];
    return [hessianVector(node, c), ...rest];
  },
});

/** The Jacobian of a pairGradient times v: a gather with bodies (f'(r), f(r)/r). */
function hessianVector(node: Expr, v: Expr): Expr {
  const r = bound('r');
  const roots = withArgumentPlaceholders(node.attrs.body as string, node.args.slice(1), (rs) => {
    const [df] = graphCalculus().vjp(rs, [constant(1)], [r]);
    return [df!, div(rs[0]!, r)];
  });
  return pairNode('pairHessianVector', node.args[0]!, [v], roots, geometryAttrs(node.attrs));
}

defineOp({
  name: 'pairHessianVector',
  print: { custom: (args, n) => printReduction('pairHessianVector', args, n.attrs.body as string, ['r']) },
  shape(args, attrs) {
    checkShape('pairHessianVector', args, attrs);
    return [args[0]!.shape[0]!];
  },
  evaluate(values, node) {
    const g = geometry(node.attrs);
    const f = bodyEval({ op: 'pairHessianVector', ...node }, ['r']);
    const rv = new Float64Array(1);
    const inputs = [rv, ...values.slice(2)];
    const two = [new Float64Array(1), new Float64Array(1)];
    const v = values[1]!;
    const out = new Float64Array(g.n * g.dim);
    forEachPair(g, values[0]!, (i, j, d, r) => {
      rv[0] = r;
      f(inputs, two);
      const A = two[0]![0]!, C = two[1]![0]!;
      let dw = 0;
      for (let k = 0; k < g.dim; k++) dw += (d[k]! / r) * (v[i * g.dim + k]! - v[j * g.dim + k]!);
      for (let k = 0; k < g.dim; k++) {
        const w = v[i * g.dim + k]! - v[j * g.dim + k]!, u = d[k]! / r;
        const term = A * u * dw + C * (w - u * dw);
        out[i * g.dim + k]! += term;
        out[j * g.dim + k]! -= term;
      }
    });
    return out;
  },
  emit(ctx, node) {
    const g = geometry(node.attrs);
    const body = decodeBody(node.attrs.body as string);
    const v = node.args[1]!;
    return emitSiteVectors(ctx, node, (p) => {
      const [A, C] = ctx.lowerBody(body.roots, liftedBindings(ctx, node, body, p.r));
      const u = p.d.map((dk) => ctx.temp(`${dk} / ${p.r}`));
      const w = u.map((_, k) => ctx.temp(`${ctx.elem(v, `${p.i} * ${g.dim} + ${k}`)} - ${ctx.elem(v, `${p.j} * ${g.dim} + ${k}`)}`));
      const dw = ctx.temp(u.map((uk, k) => `${uk} * ${w[k]}`).join(' + '));
      const a = ctx.temp(scalarCode(A!)), cc = ctx.temp(scalarCode(C!));
      return u.map((uk, k) => `${a} * ${uk} * ${dw} + ${cc} * (${w[k]} - ${uk} * ${dw})`);
    });
  },
  jvp(node, tangents) {
    const [tq, tv, ...seeds] = tangents;
    if (tq) throw third(node);
    let out: Expr | null = tv ? make('pairHessianVector', [node.args[0]!, tv, ...node.args.slice(2)], node.attrs) : null;
    const roots = liftedBodyTangents(node.attrs.body as string, node.args.slice(2), seeds);
    if (roots) {
      const term = pairNode('pairHessianVector', node.args[0]!, [node.args[1]!], roots, geometryAttrs(node.attrs));
      out = out === null ? term : add(out, term);
    }
    return out;
  },
  vjp(node, c, needed) {
    // Symmetric in v: the cotangent of v is the same gather applied to c. Lifted arguments: Σ_i c_i·(Jv)_i is
    // Σ_{i<j} A(r)·s·t + C(r)·(u − s·t), a pairSum reading c and v (PROJECTIONS). q: a third derivative (refused).
    if (needed === undefined || needed[0] !== false) throw third(node);
    const [s, t, u] = [bound('s'), bound('t'), bound('u')];
    const st = mul(s, t);
    const rest = node.args.length > 2
      ? withArgumentPlaceholders(node.attrs.body as string, node.args.slice(2), (roots, ph) => graphCalculus().vjp(roots, [st, sub(u, st)], ph)).map((part) =>
          pairNode('pairSum', node.args[0]!, [c, node.args[1]!], [part], { ...geometryAttrs(node.attrs), project: 2 }))
      : [];
    return [null, make('pairHessianVector', [node.args[0]!, c, ...node.args.slice(2)], node.attrs), ...rest];
  },
});

export { pairSum, edgeSum } from './pair-builders.js';
