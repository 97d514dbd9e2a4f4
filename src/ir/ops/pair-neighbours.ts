/**
 * Verlet neighbour lists of the JS lowering of the pair ops: a half list (each pair {i, j} once, Newton's third
 * law in the callers) of the pairs closer than cutoff + skin, built from cell lists of side ≥ cutoff + skin and
 * kept in hoisted scratch that persists between evaluations of the generated function. An evaluation first
 * compares every site with the positions the list was built from: when one has moved by skin/2 or more (or is
 * not finite, or the list was never built) the list is rebuilt; otherwise every pair now inside the cutoff is
 * still in the list (|r_now − r_built| ≤ |δ_i| + |δ_j| < skin on the periodic box), so the per-pair cutoff test
 * gives the same pairs as the all-pairs loop, in another order. A new state (another run, another batch element,
 * a reverse pass) is caught by the same test. The partner buffer grows (doubles) whenever a build fills it: no
 * pair is ever dropped. The generated source has a size independent of n.
 */
import type { Expr } from '../expr.js';
import type { EmitContext } from '../op.js';
import { cellArrays, cellGrid, emitBinning, emitCellLoops, flatCell, halfStencil, type CellPair } from './pair-cells.js';
import type { PairGeometry } from './pair-geometry.js';

/** The skin as a fraction of the cutoff (LAMMPS's `lj` benchmark: 0.3σ over r_c = 2.5σ). */
export const SKIN_FRACTION = 0.12;

/**
 * Relative margin of the rebuild test: a list is rebuilt once a site has moved (1 − margin)·skin/2, so that
 * rounding in the displacements (~1e-16 of the coordinates) cannot let a pair across the cutoff unseen.
 */
const REBUILD_MARGIN = 1e-9;

/** Neighbour-list layout of a pair geometry: the cell grid of side ≥ cutoff + skin, and the skin. */
export interface NeighbourGrid {
  cells: number[];
  skin: number;
}

/**
 * The neighbour-list layout, or null when it does not apply (no box, no cutoff, an edge list, or fewer than 3
 * cells of side ≥ cutoff + skin along some side; the caller then uses plain cell lists or all pairs).
 *
 * @example
 * neighbourGrid({ n: 4000, dim: 3, box: [16.8, 16.8, 16.8], cutoff: 2.5, edges: null }) // { cells: [6, 6, 6], skin: 0.3 }
 */
export function neighbourGrid(g: PairGeometry): NeighbourGrid | null {
  if (g.box === null || g.cutoff === null || g.edges !== null) return null;
  const skin = SKIN_FRACTION * g.cutoff;
  const cells = cellGrid({ ...g, cutoff: g.cutoff + skin });
  return cells === null ? null : { cells, skin };
}

/** Initial capacity of the partner buffer: the expected half-list length at the box's mean density, plus a quarter. */
function initialCapacity(g: PairGeometry, skin: number): number {
  const volume = g.box!.reduce((a, b) => a * b, 1);
  const rl = g.cutoff! + skin;
  const ball = g.dim === 1 ? 2 * rl : g.dim === 2 ? Math.PI * rl * rl : (4 / 3) * Math.PI * rl ** 3;
  return Math.max(64, Math.ceil(1.25 * 0.5 * g.n * (g.n / volume) * ball));
}

/** Emits r² between two coordinate lists by minimum image (x − L·⌊x/L + ½⌋ with 1/L a constant). */
function emitImageR2(ctx: EmitContext, g: PairGeometry, xi: readonly string[], xj: readonly string[]): string {
  const d = xi.map((x, k) => {
    const raw = ctx.temp(`${x} - ${xj[k]}`);
    return ctx.temp(`${raw} - ${ctx.literal(g.box![k]!)} * Math.floor(${raw} * ${ctx.literal(1 / g.box![k]!)} + 0.5)`);
  });
  return ctx.temp(d.map((x) => `${x} * ${x}`).join(' + '));
}

interface ListArrays { first: string; partners: string; built: string; reference: string }

/**
 * Emits the rebuild test: a mutable that is true when the list was never built or some site moved by skin/2 or
 * more since the build (a non-finite displacement counts as moved). Returns its name.
 */
function emitStaleTest(ctx: EmitContext, g: PairGeometry, q: Expr, list: ListArrays, skin: number): string {
  const stale = ctx.mutable(`${list.built}[0] === 0`);
  const limit = ctx.literal((0.5 * skin * (1 - REBUILD_MARGIN)) ** 2);
  ctx.line(`if (!${stale}) {`, false);
  ctx.loop(g.n, (i) => {
    const d = Array.from({ length: g.dim }, (_, k) => ctx.temp(`${ctx.elem(q, `${i} * ${g.dim} + ${k}`)} - ${list.reference}[${i} * ${g.dim} + ${k}]`));
    ctx.line(`if (!(${d.map((x) => `${x} * ${x}`).join(' + ')} < ${limit})) { ${stale} = true; break; }`, false);
  });
  ctx.line('}', false);
  return stale;
}

/**
 * Emits the build: for each site a (in cell order) its partners b in the same cell (b > a) and the half-shell
 * neighbour cells closer than cutoff + skin, as CSR (first[a] … first[a + 1] in `partners`), growing the buffer.
 */
function emitBuild(ctx: EmitContext, g: PairGeometry, cells: readonly number[], start: string, positions: string, list: ListArrays, skin: number): void {
  const coordinates = (at: string) => Array.from({ length: g.dim }, (_, k) => `${positions}[${at} * ${g.dim} + ${k}]`);
  const stencil = halfStencil(g.dim);
  const offsets = ctx.constantArray(stencil.flat());
  const rl2 = ctx.literal((g.cutoff! + skin) ** 2);
  const m = ctx.mutable('0');
  emitCellLoops(ctx, cells, (coord) => {
    const c = ctx.temp(flatCell(coord, cells));
    const a = ctx.mutable(`${start}[${c}]`), aEnd = ctx.temp(`${start}[${c} + 1]`);
    ctx.line(`for (; ${a} < ${aEnd}; ${a}++) {`, false);
    ctx.line(`${list.first}[${a}] = ${m}`);
    const xi = coordinates(a).map((x) => ctx.temp(x));
    ctx.loop(stencil.length, (s) => {
      const other = coord.map((x, k) => ctx.temp(`(${x} + ${offsets}[${s} * ${g.dim} + ${k}] + ${cells[k]}) % ${cells[k]}`));
      const c2 = ctx.temp(flatCell(other, cells));
      const b = ctx.mutable(`${s} === 0 ? ${a} + 1 : ${start}[${c2}]`), bEnd = ctx.temp(`${start}[${c2} + 1]`);
      ctx.line(`for (; ${b} < ${bEnd}; ${b}++) {`, false);
      const r2 = emitImageR2(ctx, g, xi, coordinates(b));
      ctx.line(`if (${r2} < ${rl2}) {`, false);
      // A full buffer doubles (copying what it holds), so a dense cluster never loses a pair.
      ctx.line(`if (${m} === ${list.partners}.length) { const grown = new Int32Array(2 * ${m} + 64); grown.set(${list.partners}); ${list.partners} = grown; }`, false);
      ctx.line(`${list.partners}[${m}++] = ${b}`);
      ctx.line('}', false);
      ctx.line('}', false);
    });
    ctx.line('}', false);
  });
  ctx.line(`${list.first}[${g.n}] = ${m}`);
  ctx.line(`${list.built}[0] = 1`);
}

/**
 * Emits a loop visiting every pair of sites {i, j} closer than cutoff + skin exactly once (in either order),
 * through a persistent Verlet list rebuilt when needed (see the module comment); `pairAt` emits the pair's
 * displacement, cutoff test and body from the coordinates it is given (copies in cell order). JS only.
 *
 * @example
 * const grid = neighbourGrid(g); if (grid) emitNeighbourPairLoop(ctx, g, q, grid, (pair) => emitPair(ctx, g, q, pair.i, pair.j, visit, pair));
 */
export function emitNeighbourPairLoop(ctx: EmitContext, g: PairGeometry, q: Expr, grid: NeighbourGrid, pairAt: (pair: CellPair) => void): void {
  const { cells, skin } = grid;
  const arrays = cellArrays(ctx, g, cells);
  const list: ListArrays = { first: ctx.intArray(g.n + 1), partners: ctx.growableIntArray(initialCapacity(g, skin)), built: ctx.intArray(1), reference: ctx.array(g.n * g.dim) };
  const { sorted, positions } = arrays;
  const stale = emitStaleTest(ctx, g, q, list, skin);
  ctx.line(`if (${stale}) {`, false);
  emitBinning(ctx, g, q, cells, arrays);
  ctx.loop(g.n * g.dim, (k) => ctx.line(`${list.reference}[${k}] = ${ctx.elem(q, k)}`));
  emitBuild(ctx, g, cells, arrays.start, positions, list, skin);
  ctx.line('} else {', false);
  ctx.loop(g.n, (a) => {
    const i = ctx.temp(`${sorted}[${a}]`);
    for (let k = 0; k < g.dim; k++) ctx.line(`${positions}[${a} * ${g.dim} + ${k}] = ${ctx.elem(q, `${i} * ${g.dim} + ${k}`)}`);
  });
  ctx.line('}', false);
  const coordinates = (at: string) => Array.from({ length: g.dim }, (_, k) => `${positions}[${at} * ${g.dim} + ${k}]`);
  const partners = ctx.temp(list.partners);
  ctx.loop(g.n, (a) => {
    const i = ctx.temp(`${sorted}[${a}]`);
    const xi = coordinates(a).map((x) => ctx.temp(x));
    const e = ctx.mutable(`${list.first}[${a}]`), eEnd = ctx.temp(`${list.first}[${a} + 1]`);
    ctx.line(`for (; ${e} < ${eEnd}; ${e}++) {`, false);
    const b = ctx.temp(`${partners}[${e}]`);
    pairAt({ i, j: ctx.temp(`${sorted}[${b}]`), xi, xj: coordinates(b) });
    ctx.line('}', false);
  });
}
