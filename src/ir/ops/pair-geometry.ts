/**
 * The index sets of the pair reductions and their loops: all pairs i < j (optional cutoff, orthorhombic periodic
 * box with minimum image) or an explicit edge list. One f64 enumeration for evaluation, one emitted loop nest for
 * lowering (no scatter: a gather over each site's partners, valid in JS and WGSL alike).
 */
import { DarbouxError } from '../../errors.js';
import type { Attrs, Expr } from '../expr.js';
import type { EmitContext } from '../op.js';
import { cellGrid, emitCellPairLoop, forEachCellPair, type CellPair } from './pair-cells.js';
import { emitNeighbourPairLoop, neighbourGrid } from './pair-neighbours.js';
import { pairThreads, THREAD_INDEX } from './pair-threads.js';

/** Geometry attributes shared by the pair ops. */
export interface PairGeometry {
  n: number;
  dim: number;
  box: readonly number[] | null;
  cutoff: number | null;
  edges: readonly number[] | null;
}

/** The geometry of a pair op's attributes. @example geometry(node.attrs).n */
export function geometry(attrs: Attrs): PairGeometry {
  return {
    n: attrs.n as number,
    dim: attrs.dim as number,
    box: (attrs.box as readonly number[] | undefined) ?? null,
    cutoff: (attrs.cutoff as number | undefined) ?? null,
    edges: (attrs.edges as readonly number[] | undefined) ?? null,
  };
}

/**
 * Calls `visit(i, j, d, r)` for every pair i < j (or edge (i, j)) inside the cutoff, d = q_i − q_j (minimum image),
 * through cell lists (`forEachCellPair`: the same pairs and d, visited in another order) when `cellGrid` applies.
 *
 * @example
 * forEachPair(g, q, (i, j, d, r) => { energy += V(r); });
 */
export function forEachPair(g: PairGeometry, q: Float64Array, visit: (i: number, j: number, d: Float64Array, r: number) => void): void {
  const d = new Float64Array(g.dim);
  const rc2 = g.cutoff === null ? Infinity : g.cutoff * g.cutoff;
  const one = (i: number, j: number) => {
    let r2 = 0;
    for (let k = 0; k < g.dim; k++) {
      let x = q[i * g.dim + k]! - q[j * g.dim + k]!;
      if (g.box !== null) x -= g.box[k]! * Math.floor(x / g.box[k]! + 0.5);
      d[k] = x;
      r2 += x * x;
    }
    if (r2 === 0) {
      throw new DarbouxError('NONFINITE', `particles ${i} and ${j} overlap (r = 0): their pair term and force are not finite; move them apart`, { i, j });
    }
    if (r2 < rc2) visit(i, j, d, Math.sqrt(r2));
  };
  const cells = cellGrid(g);
  if (g.edges !== null) {
    for (let e = 0; e < g.edges.length; e += 2) one(g.edges[e]!, g.edges[e + 1]!);
  } else if (cells !== null) {
    forEachCellPair(g, cells, q, one);
  } else {
    for (let i = 0; i < g.n; i++) for (let j = i + 1; j < g.n; j++) one(i, j);
  }
}

/** Per-site partner lists of an edge list (CSR, padded to the largest degree). */
function adjacency(g: PairGeometry): { partners: number[]; degree: number[]; maxDegree: number } {
  const lists: number[][] = Array.from({ length: g.n }, () => []);
  for (let e = 0; e < g.edges!.length; e += 2) {
    lists[g.edges![e]!]!.push(g.edges![e + 1]!);
    lists[g.edges![e + 1]!]!.push(g.edges![e]!);
  }
  const maxDegree = Math.max(1, ...lists.map((l) => l.length));
  const partners = lists.flatMap((l) => [...l, ...Array(maxDegree - l.length).fill(0)]);
  return { partners, degree: lists.map((l) => l.length), maxDegree };
}

/** Code reading an integer from a constant f32/f64 array. */
const intAt = (ctx: EmitContext, array: string, at: string) => (ctx.target === 'wgsl' ? `i32(${array}[${at}])` : `${array}[${at}]`);
const sqrt = (ctx: EmitContext, x: string) => (ctx.target === 'wgsl' ? `sqrt(${x})` : `Math.sqrt(${x})`);
const floor = (ctx: EmitContext, x: string) => (ctx.target === 'wgsl' ? `floor(${x})` : `Math.floor(${x})`);

/** What the emitted pair visitor sees: the site indices, the components of d = q_i − q_j, r = |d| and r². */
export interface EmittedPair {
  i: string;
  j: string;
  d: string[];
  r: string;
  r2: string;
}

/**
 * Emits d, r and the cutoff test for sites i, j, then `visit` inside the test. `byReciprocal`: the minimum image
 * rounds x·(1/L) instead of x/L — the same d for every pair inside a cutoff below L/2 (the two can round to
 * different images only for |d| ≈ L/2), one multiplication instead of a division (the cell-list loops, which also give the coordinates of i and j as code: `cells`).
 */
function emitPair(ctx: EmitContext, g: PairGeometry, q: Expr, i: string, j: string, visit: (pair: EmittedPair) => void, cells?: CellPair): void {
  const byReciprocal = cells !== undefined;
  const d = Array.from({ length: g.dim }, (_, k) => {
    const x = cells ? `${cells.xi[k]} - ${cells.xj[k]}` : `${ctx.elem(q, `${i} * ${g.dim} + ${k}`)} - ${ctx.elem(q, `${j} * ${g.dim} + ${k}`)}`;
    if (g.box === null || cells?.imaged === true) return ctx.temp(x);
    const raw = ctx.temp(x);
    const L = ctx.literal(g.box[k]!);
    const scaled = byReciprocal ? `${raw} * ${ctx.literal(1 / g.box[k]!)}` : `${raw} / ${L}`;
    return ctx.temp(`${raw} - ${L} * ${floor(ctx, `${scaled} + ${ctx.literal(0.5)}`)}`);
  });
  const r2 = ctx.temp(d.map((x) => `${x} * ${x}`).join(' + '));
  if (g.cutoff !== null) ctx.line(`if (${r2} < ${ctx.literal(g.cutoff * g.cutoff)}) {`, false);
  visit({ i, j, d, r: ctx.temp(sqrt(ctx, r2)), r2 });
  if (g.cutoff !== null) ctx.line('}', false);
}

/**
 * Emits a loop over every pair i < j (or edge) inside the cutoff; in JS, through persistent Verlet lists
 * (pair-neighbours.ts) when the periodic box holds at least 3 cells of side ≥ cutoff + skin per dimension, else
 * through cell lists rebuilt at each evaluation (pair-cells.ts) when it holds 3 of side ≥ cutoff (pairs then
 * come in either order). @example emitPairLoop(ctx, g, q, (p) => ctx.line(`${acc} += ${p.r}`))
 */
export function emitPairLoop(ctx: EmitContext, g: PairGeometry, q: Expr, visit: (pair: EmittedPair) => void): void {
  const neighbours = ctx.target === 'js' ? neighbourGrid(g) : null;
  if (pairThreads(ctx) !== null && neighbours === null) {
    // Threaded runner (pair-threads.ts) without a neighbour list: worker 0 visits every pair, the others none.
    ctx.line(`if (${THREAD_INDEX} === 0) {`, false);
    emitSingleThreadPairLoop(ctx, g, q, visit, null);
    ctx.line('}', false);
    return;
  }
  emitSingleThreadPairLoop(ctx, g, q, visit, neighbours);
}

/** `emitPairLoop` over every pair (`neighbours`: the neighbour-list layout, or null). */
function emitSingleThreadPairLoop(ctx: EmitContext, g: PairGeometry, q: Expr, visit: (pair: EmittedPair) => void, neighbours: ReturnType<typeof neighbourGrid>): void {
  if (g.edges !== null) {
    const E = g.edges.length / 2;
    const first = ctx.constantArray(g.edges.filter((_, k) => k % 2 === 0));
    const second = ctx.constantArray(g.edges.filter((_, k) => k % 2 === 1));
    ctx.loop(E, (e) => {
      const i = ctx.temp(intAt(ctx, first, e)), j = ctx.temp(intAt(ctx, second, e));
      emitPair(ctx, g, q, i, j, visit);
    });
    return;
  }
  if (neighbours !== null) {
    emitNeighbourPairLoop(ctx, g, q, neighbours, (pair) => emitPair(ctx, g, q, pair.i, pair.j, visit, pair));
    return;
  }
  const cells = ctx.target === 'js' ? cellGrid(g) : null;
  if (cells !== null) {
    emitCellPairLoop(ctx, g, q, cells, (pair) => emitPair(ctx, g, q, pair.i, pair.j, visit, pair));
    return;
  }
  ctx.loop(g.n, (i) =>
    ctx.loop(g.n, (j) => {
      ctx.line(`if (${j} > ${i}) {`, false);
      emitPair(ctx, g, q, i, j, visit);
      ctx.line('}', false);
    }),
  );
}

/**
 * Emits, for each site i, a gather over its partners j (all j ≠ i inside the cutoff, or its edges): `open(i)` runs
 * before the partners, `visit` once per partner, `close(i)` after. No scatter, so the code is valid WGSL.
 *
 * @example
 * emitGather(ctx, g, q, (i) => …, (p) => …, (i) => …)
 */
export function emitGather(ctx: EmitContext, g: PairGeometry, q: Expr, open: (i: string) => void, visit: (pair: EmittedPair) => void, close: (i: string) => void): void {
  if (g.edges !== null) {
    const { partners, degree, maxDegree } = adjacency(g);
    const partnerArray = ctx.constantArray(partners), degreeArray = ctx.constantArray(degree);
    ctx.loop(g.n, (i) => {
      open(i);
      ctx.loop(maxDegree, (k) => {
        ctx.line(`if (${k} < ${intAt(ctx, degreeArray, i)}) {`, false);
        const j = ctx.temp(intAt(ctx, partnerArray, `${i} * ${maxDegree} + ${k}`));
        emitPair(ctx, g, q, i, j, visit);
        ctx.line('}', false);
      });
      close(i);
    });
    return;
  }
  ctx.loop(g.n, (i) => {
    open(i);
    ctx.loop(g.n, (j) => {
      ctx.line(`if (${j} != ${i}) {`, false);
      emitPair(ctx, g, q, i, j, visit);
      ctx.line('}', false);
    });
    close(i);
  });
}
