/**
 * Cell lists of the JS lowering of the pair ops: when a periodic box holds at least 3 cells of side ≥ the cutoff
 * in every dimension, the particles are binned into cells (an O(n) counting sort into hoisted Int32 scratch
 * arrays, rebuilt at every evaluation; the coordinates are copied in cell order for contiguous reads) and each cell
 * is paired with itself and with half of its 3^dim − 1 neighbour cells (Newton's third law in the callers), so
 * every pair i ≠ j within the cutoff is visited exactly once, with the all-pairs loop's minimum-image d. The generated source has a
 * size independent of n (the cell loops are loops, the half-shell stencil a constant table).
 */
import type { Expr } from '../expr.js';
import type { EmitContext } from '../op.js';
import type { PairGeometry } from './pair-geometry.js';

/**
 * Relative margin of a cell's side over the cutoff: binning and the minimum image round at ~1e-16 of the
 * coordinates, so a cell at least (1 + margin)·cutoff wide keeps every pair inside the cutoff in adjacent cells
 * (particles up to ~10⁵ boxes outside included).
 */
const CELL_MARGIN = 1e-9;

/**
 * The number of cells along each side, or null when cell lists do not apply (no box, no cutoff, an edge list, or
 * fewer than 3 cells of side ≥ cutoff along some side).
 *
 * @example
 * cellGrid({ n: 256, dim: 3, box: [10, 10, 10], cutoff: 2.5, edges: null }) // [3, 3, 3]
 */
export function cellGrid(g: PairGeometry): number[] | null {
  if (g.box === null || g.cutoff === null || g.edges !== null) return null;
  const cutoff = g.cutoff;
  const cells = g.box.map((L) => Math.floor(L / (cutoff * (1 + CELL_MARGIN))));
  return cells.every((c) => c >= 3) ? cells : null;
}

/**
 * The half-shell stencil: the zero offset first, then every offset in {−1, 0, 1}^dim whose first nonzero
 * component is positive ((3^dim + 1) / 2 offsets: 2, 5, 14).
 *
 * @example
 * halfStencil(1) // [[0], [1]]
 */
export function halfStencil(dim: number): number[][] {
  const out: number[][] = [];
  for (let code = 0; code < 3 ** dim; code++) {
    const o = Array.from({ length: dim }, (_, k) => (Math.floor(code / 3 ** (dim - 1 - k)) % 3) - 1);
    const first = o.find((x) => x !== 0);
    if (first === undefined) out.unshift(o);
    else if (first > 0) out.push(o);
  }
  return out;
}

/** Row-major flat cell index of cell coordinates (code). @example flatCell(['x', 'y'], [4, 5]) // '(x) * 5 + y' */
export const flatCell = (coord: readonly string[], cells: readonly number[]) =>
  coord.reduce((acc, x, k) => (k === 0 ? x : `(${acc}) * ${cells[k]} + ${x}`), '');

/**
 * One pair of the cell loops: site indices and their coordinates (code; the copies in cell order). `imaged`:
 * the coordinates are already the minimum images of each other (neighbour lists with ghost images), so the
 * displacement is xi − xj without the periodic wrap.
 */
export interface CellPair {
  i: string;
  j: string;
  xi: string[];
  xj: string[];
  imaged?: boolean;
}

/** The hoisted scratch of a cell list: per-cell counts and starts, each site's cell, sites and coordinates in cell order. */
export interface CellArrays { count: string; start: string; cellOf: string; sorted: string; positions: string }

/**
 * Emits the counting sort: cellOf[i], start[c] (start[C] = n), sorted (site indices grouped by cell) and
 * positions (their coordinates, unwrapped, in that order: contiguous reads in the pair loops). `coordinate(i, k)`:
 * the code of coordinate k of site i; `sites`: the number of sites (n, or code holding it); `place(i, a)`, where
 * given, emits the placing of site i at slot a instead of the `sorted` and `positions` writes.
 *
 * @example
 * emitBinning(ctx, g, (i, k) => ctx.elem(q, `${i} * 3 + ${k}`), [4, 4, 4], cellArrays(ctx, g, [4, 4, 4]));
 */
export function emitBinning(ctx: EmitContext, g: PairGeometry, coordinate: (i: string, k: number) => string, cells: readonly number[], arrays: CellArrays, sites: number | string = g.n, place?: (i: string, a: string) => void): void {
  const { count, start, cellOf, sorted, positions } = arrays;
  const C = cells.reduce((a, b) => a * b, 1);
  ctx.loop(C, (c) => ctx.line(`${count}[${c}] = 0`));
  loopTo(ctx, sites, (i) => {
    // The wrapped coordinate (floor-mod): particles are never wrapped during a run.
    const coord = cells.map((nc, k) => {
      const u = ctx.temp(`${coordinate(i, k)} / ${ctx.literal(g.box![k]!)}`);
      // u − ⌊u⌋ may round to 1; a non-finite coordinate gives NaN, stored as cell 0 (Int32Array).
      return ctx.temp(`Math.min(Math.floor((${u} - Math.floor(${u})) * ${nc}), ${nc - 1})`);
    });
    ctx.line(`${cellOf}[${i}] = ${flatCell(coord, cells)}`);
    ctx.line(`${count}[${cellOf}[${i}]]++`);
  });
  ctx.line(`${start}[0] = 0`);
  ctx.loop(C, (c) => ctx.line(`${start}[${c} + 1] = ${start}[${c}] + ${count}[${c}]`));
  ctx.loop(C, (c) => ctx.line(`${count}[${c}] = ${start}[${c}]`));
  loopTo(ctx, sites, (i) => {
    const a = ctx.temp(`${count}[${cellOf}[${i}]]++`);
    if (place !== undefined) return place(i, a);
    ctx.line(`${sorted}[${a}] = ${i}`);
    for (let k = 0; k < g.dim; k++) ctx.line(`${positions}[${a} * ${g.dim} + ${k}] = ${coordinate(i, k)}`);
  });
}

/**
 * Emits `for (i = 0; i < bound; i++) { body }` for a constant or a bound given as code (a dynamic length).
 *
 * @example
 * loopTo(ctx, `${sorted}.length`, (a) => …)
 */
export function loopTo(ctx: EmitContext, bound: number | string, body: (i: string) => void): void {
  if (typeof bound === 'number') return ctx.loop(bound, body);
  const i = ctx.mutable('0');
  ctx.line(`for (; ${i} < ${bound}; ${i}++) {`, false);
  body(i);
  ctx.line('}', false);
}

/** Emits nested loops over the cell coordinates; `body` gets the coordinates' names. @example emitCellLoops(ctx, [3, 3], ([x, y]) => …) */
export function emitCellLoops(ctx: EmitContext, cells: readonly number[], body: (coord: string[]) => void): void {
  const nest = (k: number, coord: string[]) => {
    if (k === cells.length) body(coord);
    else ctx.loop(cells[k]!, (x) => nest(k + 1, [...coord, x]));
  };
  nest(0, []);
}

/** Declares the hoisted scratch of a cell list over `cells`. @example const arrays = cellArrays(ctx, g, [4, 4, 4]) */
export function cellArrays(ctx: EmitContext, g: PairGeometry, cells: readonly number[]): CellArrays {
  const C = cells.reduce((a, b) => a * b, 1);
  return { count: ctx.intArray(C), start: ctx.intArray(C + 1), cellOf: ctx.intArray(g.n), sorted: ctx.intArray(g.n), positions: ctx.array(g.n * g.dim) };
}

/**
 * Emits a loop visiting every pair of sites {i, j} in the same or adjacent cells exactly once (in either order):
 * `pairAt` emits the pair's displacement (from the coordinates it is given), cutoff test and body. JS only
 * (dynamic loop bounds).
 *
 * @example
 * const cells = cellGrid(g); if (cells) emitCellPairLoop(ctx, g, q, cells, (pair) => emitPair(ctx, g, q, pair.i, pair.j, visit, pair));
 */
export function emitCellPairLoop(ctx: EmitContext, g: PairGeometry, q: Expr, cells: readonly number[], pairAt: (pair: CellPair) => void): void {
  const arrays = cellArrays(ctx, g, cells);
  emitBinning(ctx, g, (i, k) => ctx.elem(q, `${i} * ${g.dim} + ${k}`), cells, arrays);
  const { start, sorted, positions } = arrays;
  const coordinates = (at: string) => Array.from({ length: g.dim }, (_, k) => `${positions}[${at} * ${g.dim} + ${k}]`);
  const stencil = halfStencil(g.dim);
  const offsets = ctx.constantArray(stencil.flat());
  emitCellLoops(ctx, cells, (coord) => {
    const c = ctx.temp(flatCell(coord, cells));
    const aBegin = ctx.temp(`${start}[${c}]`), aEnd = ctx.temp(`${start}[${c} + 1]`);
    ctx.loop(stencil.length, (s) => {
      const other = coord.map((x, k) => ctx.temp(`(${x} + ${offsets}[${s} * ${g.dim} + ${k}] + ${cells[k]}) % ${cells[k]}`));
      const c2 = ctx.temp(flatCell(other, cells));
      const bBegin = ctx.temp(`${start}[${c2}]`), bEnd = ctx.temp(`${start}[${c2} + 1]`);
      const a = ctx.mutable(aBegin);
      ctx.line(`for (; ${a} < ${aEnd}; ${a}++) {`, false);
      const i = ctx.temp(`${sorted}[${a}]`);
      const xi = coordinates(a).map((x) => ctx.temp(x));
      const b = ctx.mutable(`${s} === 0 ? ${a} + 1 : ${bBegin}`);
      ctx.line(`for (; ${b} < ${bEnd}; ${b}++) {`, false);
      pairAt({ i, j: ctx.temp(`${sorted}[${b}]`), xi, xj: coordinates(b) });
      ctx.line('}', false);
      ctx.line('}', false);
    });
  });
}

/**
 * The f64 evaluator's cell-list enumeration: calls `visit(i, j)` (i < j) once for every pair of sites in the same
 * or adjacent cells of `cells` (from `cellGrid`), binned like the emitted loops (floor-mod of q/L). A superset of
 * the pairs inside the cutoff, each once: the caller applies the minimum image and the cutoff test.
 *
 * @example
 * forEachCellPair(g, cellGrid(g)!, q, (i, j) => { … });
 */
export function forEachCellPair(g: PairGeometry, cells: readonly number[], q: Float64Array, visit: (i: number, j: number) => void): void {
  const { n, dim } = g;
  const C = cells.reduce((a, b) => a * b, 1);
  const cellOf = new Int32Array(n), start = new Int32Array(C + 1), fill = new Int32Array(C), sorted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let c = 0;
    for (let k = 0; k < dim; k++) {
      const u = q[i * dim + k]! / g.box![k]!;
      // A non-finite coordinate gives NaN, stored as cell 0 (Int32Array), like the emitted binning.
      c = c * cells[k]! + Math.min(Math.floor((u - Math.floor(u)) * cells[k]!), cells[k]! - 1);
    }
    cellOf[i] = c;
    start[cellOf[i]! + 1]!++;
  }
  for (let c = 0; c < C; c++) start[c + 1]! += start[c]!;
  for (let i = 0; i < n; i++) sorted[start[cellOf[i]!]! + fill[cellOf[i]!]!++] = i;
  const stencil = halfStencil(dim);
  const coord = new Array<number>(dim).fill(0);
  for (let c = 0; c < C; c++) {
    for (let k = dim - 1, rest = c; k >= 0; k--) { coord[k] = rest % cells[k]!; rest = Math.floor(rest / cells[k]!); }
    stencil.forEach((offset, s) => {
      const c2 = offset.reduce((acc, o, k) => acc * cells[k]! + ((coord[k]! + o + cells[k]!) % cells[k]!), 0);
      for (let a = start[c]!; a < start[c + 1]!; a++) {
        for (let b = s === 0 ? a + 1 : start[c2]!; b < start[c2 + 1]!; b++) {
          const i = sorted[a]!, j = sorted[b]!;
          if (i < j) visit(i, j);
          else visit(j, i);
        }
      }
    });
  }
}
