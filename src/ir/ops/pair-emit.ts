/**
 * Emission helpers of the pair ops (pairs.ts): argument layout, the bound variables of a pair body and their
 * values for one emitted pair, and per-site vectors (forces, Hessian-vector products) as a half loop with
 * Newton's third law in JS or a gather in WGSL.
 */
import type { Attrs, Expr } from '../expr.js';
import type { EmitContext, Value } from '../op.js';
import type { Body } from './pair-body.js';
import { emitGather, emitPairLoop, geometry, type EmittedPair } from './pair-geometry.js';
import { emitNeighbourSiteVector, emitNeighbourSlotSums, neighbourGrid } from './pair-neighbours.js';
import { emitThreadedSlotSums, emitThreadedVector, pairThreads } from './pair-threads.js';

/** Number of vectors a projected pairSum reads (0, 1 or 2; see PROJECTIONS). @example projected(node.attrs) // 1 for a force's parameter gradient */
export const projected = (attrs: Attrs) => (attrs.project as number | undefined) ?? 0;
/** Number of leading non-lifted arguments: q, then the vectors the node reads. @example node.args.slice(leading(node)) // the lifted arguments */
export const leading = (node: { op: string; attrs: Attrs }) => (node.op === 'pairHessianVector' ? 2 : 1 + projected(node.attrs));
/**
 * The bound variables of a pairSum body reading `project` vectors c (and w): r; s = Δc·d̂; t = Δw·d̂, u = Δc·Δw,
 * with Δc = c_i − c_j and d̂ = d_ij / r. They make the parameter gradients of forces (one vector) and of
 * Hessian-vector products (two) pair sums again.
 */
export const PROJECTIONS: readonly (readonly string[])[] = [['r'], ['r', 's'], ['r', 's', 't', 'u']];

/** The values of the bound variables (PROJECTIONS) for one emitted pair. @example ctx.lowerBody(body.roots, bind(projections(ctx, node, pair, 1))) */
export function projections(ctx: EmitContext, node: Expr, p: EmittedPair, project: number): Value[] {
  const dim = node.attrs.dim as number;
  const scalar = (code: string): Value => ({ kind: 'scalar', code: ctx.temp(code) });
  const delta = (v: Expr) => Array.from({ length: dim }, (_, k) => ctx.temp(`${ctx.elem(v, `${p.i} * ${dim} + ${k}`)} - ${ctx.elem(v, `${p.j} * ${dim} + ${k}`)}`));
  const along = (dv: string[]) => `(${dv.map((x, k) => `${x} * ${p.d[k]}`).join(' + ')}) / ${p.r}`;
  const values: Value[] = [{ kind: 'scalar', code: p.r }];
  if (project === 0) return values;
  const dc = delta(node.args[1]!);
  values.push(scalar(along(dc)));
  if (project === 2) {
    const dw = delta(node.args[2]!);
    values.push(scalar(along(dw)), scalar(dc.map((x, k) => `${x} * ${dw[k]}`).join(' + ')));
  }
  return values;
}


/**
 * A per-site vector Σ_j term(i, j) with term(j, i) = −term(i, j) (forces and their Jacobians). JS: one half loop
 * over pairs i < j adding to i and subtracting from j (Newton's third law, each pair's body evaluated once).
 * WGSL: a gather over each site's partners (no scatter), the form a per-particle kernel needs.
 *
 * @example
 * emitSiteVectors(ctx, node, (p) => p.d.map((dk) => `${w} * ${dk}`)) // forces
 */
export function emitSiteVectors(ctx: EmitContext, node: Expr, term: (p: EmittedPair) => string[]): Value {
  const g = geometry(node.attrs);
  const q = node.args[0]!;
  const out = ctx.array(g.n * g.dim);
  const threads = pairThreads(ctx);
  const grid = ctx.target === 'js' ? neighbourGrid(g) : null;
  if (grid !== null) {
    // Neighbour lists: sums in slot order (pair-neighbours.ts); threaded, each worker's slot sums summed across
    // workers in slot order and copied to the sites while summing.
    if (threads !== null) {
      const { sums, site, builds, release } = emitNeighbourSlotSums(ctx, g, q, grid, term);
      emitThreadedSlotSums(ctx, threads, out, g.n, g.dim, sums, site, builds, release);
    } else emitRemembered(ctx, node, out, () => emitNeighbourSiteVector(ctx, g, q, grid, out, term));
  } else if (threads !== null) {
    // Threaded (pair-threads.ts): this worker's pairs into its shared slice, then the slices summed into out.
    emitThreadedVector(ctx, threads, out, g.n * g.dim, (at) =>
      emitPairLoop(ctx, g, q, (p) => {
        term(p).forEach((t, k) => {
          const x = ctx.temp(t);
          ctx.line(`${at(`${p.i} * ${g.dim} + ${k}`)} += ${x}`);
          ctx.line(`${at(`${p.j} * ${g.dim} + ${k}`)} -= ${x}`);
        });
      }),
    );
  } else if (ctx.target === 'js') {
    ctx.loop(g.n * g.dim, (i) => ctx.line(`${out}[${i}] = 0`));
    emitPairLoop(ctx, g, q, (p) => {
      term(p).forEach((t, k) => {
        const x = ctx.temp(t);
        ctx.line(`${out}[${p.i} * ${g.dim} + ${k}] += ${x}`);
        ctx.line(`${out}[${p.j} * ${g.dim} + ${k}] -= ${x}`);
      });
    });
  } else {
    let acc: string[] = [];
    emitGather(
      ctx, g, q,
      () => { acc = Array.from({ length: g.dim }, () => ctx.mutable(ctx.literal(0))); },
      (p) => term(p).forEach((t, k) => ctx.line(`${acc[k]} += ${t}`)),
      (i) => acc.forEach((a, k) => ctx.line(`${out}[${i} * ${g.dim} + ${k}] = ${a}`)),
    );
  }
  return { kind: 'array', name: out, size: g.n * g.dim };
}

/**
 * Emits `compute()` (which assigns the n·dim array `out` from q and the node's lifted scalars) behind a memo of
 * the last evaluation of this op and body in the generated function: when q and the lifted values equal those of
 * the last evaluation (q compared element by element, stopping at the first difference), the last result is
 * copied instead. This is the force at the start of a windowed run's next window (the windowed CPU runner
 * evaluates the carried force again at each window's first state, which the previous window's last step had
 * just evaluated): one evaluation per step instead of two when a step outlasts a window. Ops reading other
 * vectors (projected, Hessian-vector products) or lifted values that are not scalars are not remembered. In a
 * forward runner's step the evaluation is stored only in the call's last step (`ctx.lastStep`: only the last one
 * can meet the next window), saving two copies of the state per step.
 *
 * @example
 * emitRemembered(ctx, node, out, () => emitNeighbourSiteVector(ctx, g, q, grid, out, term));
 */
function emitRemembered(ctx: EmitContext, node: Expr, out: string, compute: () => void): void {
  const g = geometry(node.attrs);
  const q = node.args[0]!;
  const lifted = node.args.slice(leading(node)).map((a) => ctx.value(a));
  if (leading(node) !== 1 || lifted.some((v) => v.kind !== 'scalar')) return compute();
  const length = g.n * g.dim;
  const values = lifted.map((v) => scalarCode(v));
  const memo = ctx.shared(`remembered ${node.op} ${JSON.stringify(g)} ${node.attrs.body as string}`, () => ({
    q: ctx.array(length), out: ctx.array(length), args: ctx.array(Math.max(1, values.length)), valid: ctx.intArray(1),
  }));
  const hit = ctx.mutable([`${memo.valid}[0] === 1`, ...values.map((v, k) => `${memo.args}[${k}] === ${v}`)].join(' && '));
  ctx.line(`if (${hit}) {`, false);
  const k = ctx.mutable('0');
  ctx.line(`for (; ${k} < ${length}; ${k}++) if (${memo.q}[${k}] !== ${ctx.elem(q, k)}) { ${hit} = false; break; }`, false);
  ctx.line('}', false);
  ctx.line(`if (${hit}) {`, false);
  ctx.line(`${out}.set(${memo.out})`);
  ctx.line('} else {', false);
  compute();
  if (ctx.lastStep !== undefined) ctx.line(`if (${ctx.lastStep}) {`, false);
  const qv = ctx.value(q);
  if (qv.kind === 'array' && (qv.offset === undefined || qv.offset === 0) && qv.size === length) ctx.line(`${memo.q}.set(${qv.name})`);
  else ctx.loop(length, (i) => ctx.line(`${memo.q}[${i}] = ${ctx.elem(q, i)}`));
  ctx.line(`${memo.out}.set(${out})`);
  values.forEach((v, k) => ctx.line(`${memo.args}[${k}] = ${v}`));
  ctx.line(`${memo.valid}[0] = 1`);
  if (ctx.lastStep !== undefined) ctx.line('}', false);
  ctx.line('}', false);
}

/** Element k of an array value (its offset included). @example arrayElem({ kind: 'array', name: 'a1', size: 4, offset: 2 }, 'k') // 'a1[2 + k]' */
export const arrayElem = (v: Extract<Value, { kind: 'array' }>, k: number | string) =>
  v.offset === undefined || v.offset === 0 ? `${v.name}[${k}]` : `${v.name}[${v.offset} + ${k}]`;

/** The code of a scalar value (element 0 of any value). @example scalarCode({ kind: 'scalar', code: 't3' }) // 't3' */
export const scalarCode = (v: Value) => (v.kind === 'scalar' ? v.code : v.kind === 'unrolled' ? v.elems[0]! : v.kind === 'fused' ? v.at(0) : `${v.name}[0]`);

/** Bindings of a body's r and lifted placeholders a0, a1, … for one pair. @example ctx.lowerBody(body.roots, liftedBindings(ctx, node, body, pair.r)) */
export function liftedBindings(ctx: { value(e: Expr): Value }, node: Expr, body: Body, r: string): Map<Expr, Value> {
  const m = new Map<Expr, Value>();
  const rv = body.vars.get('r');
  if (rv) m.set(rv, { kind: 'scalar', code: r });
  node.args.slice(leading(node)).forEach((a, k) => {
    const ph = body.vars.get(`a${k}`);
    if (ph) m.set(ph, ctx.value(a));
  });
  return m;
}

