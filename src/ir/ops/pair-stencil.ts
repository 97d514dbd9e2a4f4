/**
 * Layout of the Verlet neighbour lists of the JS pair loops (pair-neighbours.ts): the skin and the bins of the
 * build (side ≥ (cutoff + skin)/2, searched 2 bins away), the half stencil of a bin, the image shifts of the
 * periodic box, the hoisted names of a list (`NeighbourList`), and the stencil runs and ghost blocks the build
 * visits (a ghost block is a copy of bins of a stencil row shifted by the box, LAMMPS-style, so the pair loops
 * need no minimum image). The build itself is in pair-list-build.ts.
 */
import type { EmitContext } from '../op.js';
import { cellGrid, flatCell } from './pair-cells.js';
import type { PairGeometry } from './pair-geometry.js';

/** The skin as a fraction of the cutoff (LAMMPS's `lj` benchmark: 0.3σ over r_c = 2.5σ). */
export const SKIN_FRACTION = 0.12;

/**
 * Neighbour-list layout of a pair geometry: the bins of the build (side ≥ (cutoff + skin)/2, LAMMPS's default),
 * the skin (the stencil: `stencilRows`).
 */
export interface NeighbourGrid {
  cells: number[];
  skin: number;
}

/** How many bins a pair within cutoff + skin may be apart along a side (bins of side ≥ (cutoff + skin)/2). */
const REACH = 2;

/**
 * The neighbour-list layout, or null when it does not apply (no box, no cutoff, an edge list, or fewer than 3
 * cells of side ≥ cutoff + skin along some side; the caller then uses plain cell lists or all pairs). The build
 * bins the sites in cells of half that side (so ≥ 6 along every side) and searches 2 bins away: ~40 % fewer
 * candidates than cells of the full side. The stencil's bins that are adjacent along the last side are
 * contiguous in the cell order, so the build visits them as one run of sites (`emitBuild`).
 *
 * @example
 * neighbourGrid({ n: 4000, dim: 3, box: [16.8, 16.8, 16.8], cutoff: 2.5, edges: null }) // { cells: [11, 11, 11], skin: 0.3 }
 */
export function neighbourGrid(g: PairGeometry): NeighbourGrid | null {
  if (g.box === null || g.cutoff === null || g.edges !== null) return null;
  const skin = SKIN_FRACTION * g.cutoff;
  if (cellGrid({ ...g, cutoff: g.cutoff + skin }) === null) return null;
  const cells = cellGrid({ ...g, cutoff: (g.cutoff + skin) / REACH });
  return cells === null ? null : { cells, skin };
}

/**
 * The rows of the half stencil of a neighbour grid: offsets along every side but the last, the zero row first
 * (searched from the bin itself to 2 bins on along the last side), then those in {−2, …, 2}^(dim−1) whose first
 * nonzero component is positive (searched 2 bins either way), without the rows farther than cutoff + skin from
 * every point of the zero bin. A row's bins are consecutive in the cell order (the last side is the fastest).
 *
 * @example
 * stencilRows({ n: 90, dim: 2, box: [12, 12], cutoff: 2.5, edges: null }, { cells: [8, 8], skin: 0.3 }) // [[0], [1], [2]]
 */
export function stencilRows(g: PairGeometry, grid: NeighbourGrid): number[][] {
  const width = 2 * REACH + 1, dim = g.dim - 1;
  const rl2 = (g.cutoff! + grid.skin) ** 2;
  const out: number[][] = [];
  for (let code = 0; code < width ** dim; code++) {
    const o = Array.from({ length: dim }, (_, k) => (Math.floor(code / width ** (dim - 1 - k)) % width) - REACH);
    const first = o.find((x) => x !== 0);
    const gap2 = o.reduce((acc, x, k) => acc + (Math.max(Math.abs(x) - 1, 0) * (g.box![k]! / grid.cells[k]!)) ** 2, 0);
    if (first === undefined) out.unshift(o);
    else if (first > 0 && gap2 < rl2) out.push(o);
  }
  return out;
}

/**
 * How many bins along the last side stencil row `row` (from `stencilRows`) is searched either way: the most bins
 * d ≤ 2 such that the bin d away along the last side is closer than cutoff + skin to some point of the zero bin.
 *
 * @example
 * rowReach({ n: 90, dim: 2, box: [12, 12], cutoff: 2.5, edges: null }, { cells: [8, 8], skin: 0.3 }, [2]) // 2
 */
export function rowReach(g: PairGeometry, grid: NeighbourGrid, row: readonly number[]): number {
  const rl2 = (g.cutoff! + grid.skin) ** 2;
  const gap = (x: number, k: number) => (Math.max(Math.abs(x) - 1, 0) * (g.box![k]! / grid.cells[k]!)) ** 2;
  const gap2 = row.reduce((acc, x, k) => acc + gap(x, k), 0);
  let reach = 1;
  while (reach < REACH && gap2 + gap(reach + 1, g.dim - 1) < rl2) reach++;
  return reach;
}

/**
 * The generated names of a neighbour list (hoisted, shared by the evaluations). Slots 0…n−1 are the sites in cell
 * order (wrapped coordinates `positions`, their site `site`); slots n…n+G−1 are ghost images (slot `ghostSlot[g]`
 * shifted by image `ghostCode[g]`). `state` = [built, G, builds so far]; `block[R·3^dim + code]`: the first ghost slot of the
 * image `code` of grid row R (R: the flat index over every side but the last), or −1. Arrays of n elements start empty and are sized by the first
 * build. `build(coordinates, offset)`: the hoisted build function. `memory`: where the WebAssembly pair loop may
 * run (pair-wasm.ts), the hoisted state of its memory, whose start holds `positions` (a view of the whole memory,
 * replaced when it grows: `growPositions`), else null (`positions` is a plain growable array).
 */
export interface NeighbourList {
  count: string; start: string; cellOf: string; sorted: string;
  positions: string; site: string; ghostSlot: string; ghostCode: string; partners: string;
  first: string; state: string; reference: string; wrap: string; block: string; imageShift: string;
  build: string;
  memory: string | null;
  /** Threaded runners (pair-threads.ts): this worker's slots [range[0], range[1]) and cells [range[2], range[3]). */
  range: string | null;
}

/** The shift of image `code` (base-3 digits w_k + 1, row-major): L_k·w_k. */
export function imageShifts(g: PairGeometry): number[] {
  const out: number[] = [];
  for (let code = 0; code < 3 ** g.dim; code++) {
    for (let k = 0; k < g.dim; k++) out.push(g.box![k]! * ((Math.floor(code / 3 ** (g.dim - 1 - k)) % 3) - 1));
  }
  return out;
}

/** A statement growing `array` (of `type`) to at least `need` elements, doubling, keeping its contents. */
export const grow = (array: string, type: string, need: string) =>
  `if (${need} > ${array}.length) { const grown = new ${type}(2 * (${need})); grown.set(${array}); ${array} = grown; }`;

/**
 * A statement growing `list.positions` to at least `need` elements (doubling), keeping its contents: in the pair
 * loop's WebAssembly memory where it lives there (`memory.g(bytes)` grows the memory and makes `positions` a new
 * view of it: every holder of the old view must read `positions` again), else as `grow`.
 *
 * @example
 * ctx.line(growPositions(list, `${n} * 3`), false);
 */
export const growPositions = (list: NeighbourList, need: string) =>
  list.memory === null ? grow(list.positions, 'Float64Array', need) : `if (${need} > ${list.positions}.length) ${list.memory}.g(16 * (${need}))`;

/**
 * Emits the first ghost slot of the image `code` of the bins [binLo, binHi) (code) of grid row `row` (their sites
 * start[rowCell + binLo] … start[rowCell + binHi]), creating the block (slots, sites) on first use. Returns
 * code of its offset: ghost slot = site slot + offset.
 */
function emitGhostBlock(ctx: EmitContext, g: PairGeometry, list: NeighbourList, n: string, row: string, rowCell: string, code: string, binLo: string, binHi: string): string {
  const { site, ghostSlot, ghostCode, state, block } = list;
  const bBegin = ctx.temp(`${list.start}[${rowCell} + ${binLo}]`), bEnd = ctx.temp(`${list.start}[${rowCell} + ${binHi}]`);
  const key = ctx.temp(`${row} * ${3 ** g.dim} + ${code}`);
  const base = ctx.mutable(`${block}[${key}]`);
  ctx.line(`if (${base} < 0) {`, false);
  const ghosts = ctx.temp(`${state}[1]`);
  ctx.line(`${base} = ${n} + ${ghosts}`);
  ctx.line(`${block}[${key}] = ${base}`);
  const more = ctx.temp(`${ghosts} + ${bEnd} - ${bBegin}`);
  ctx.line(grow(site, 'Int32Array', `${n} + ${more}`), false);
  ctx.line(growPositions(list, `(${n} + ${more}) * ${g.dim}`), false);
  ctx.line(grow(ghostSlot, 'Int32Array', more), false);
  ctx.line(grow(ghostCode, 'Int32Array', more), false);
  const b = ctx.mutable(bBegin);
  ctx.line(`for (; ${b} < ${bEnd}; ${b}++) {`, false);
  const ghost = ctx.temp(`${state}[1]++`);
  ctx.line(`${ghostSlot}[${ghost}] = ${b}`);
  ctx.line(`${ghostCode}[${ghost}] = ${code}`);
  ctx.line(`${site}[${n} + ${ghost}] = ${site}[${b}]`);
  ctx.line('}', false);
  ctx.line('}', false);
  return ctx.temp(`${base} - ${bBegin}`);
}

/**
 * Hoisted per-row scratch of the build: for stencil row r of the current grid row, the first cell of the row it
 * meets (`rowCell[r]`) and, for its 3 pieces w (bins wrapped below the box along the last side, inside, wrapped
 * above), the slot offset of the piece's sites (`pieceOffset[3r + w]`: 0 inside the box, else into its ghost
 * block) and the image shift (`pieceShift[(3r + w)·dim + k]`).
 */
export interface RowStencil { rowCell: string; pieceOffset: string; pieceShift: string }

/** Declares the hoisted scratch of the row stencil and of the runs of a bin. */
export function declareStencilScratch(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid): { rowStencil: RowStencil; runs: StencilRuns } {
  const R = stencilRows(g, grid).length, S = 3 * R;
  return {
    rowStencil: { rowCell: ctx.intArray(R), pieceOffset: ctx.intArray(S), pieceShift: ctx.array(S * g.dim) },
    runs: { begin: ctx.intArray(S), end: ctx.intArray(S), offset: ctx.intArray(S), shift: ctx.array(S * g.dim), count: '' },
  };
}

/**
 * Emits the row stencil (`RowStencil`) of grid row `row` (code: the flat index over every side but the last),
 * of which the bins zLo … zHi − 1 (code) are visited, creating the ghost blocks they need (in row, piece order):
 * each stencil row's image inside the box along the last side (the whole row), and, when a visited bin is within 2
 * bins of the box's ends, its last 2 bins wrapped below or its first 2 wrapped above.
 */
export function emitRowStencil(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, list: NeighbourList, n: string, row: string, zLo: string, zHi: string, stencil: RowStencil): void {
  const { cells } = grid;
  const rows = stencilRows(g, grid);
  const last = g.dim - 1, nx = cells[last]!;
  const offsets = ctx.constantArray([0, ...rows.flat()]); // (a leading 0 so that 1-D has a non-empty array)
  const zero = (3 ** g.dim - 1) / 2;
  // The row's coordinates along every side but the last (the last of them is the fastest).
  const coord: string[] = [];
  for (let k = last - 1, rest = row; k >= 0; k--) {
    coord.unshift(ctx.temp(`${rest} % ${cells[k]}`));
    if (k > 0) rest = ctx.temp(`(${rest} - ${coord[0]}) / ${cells[k]}`);
  }
  ctx.loop(rows.length, (r) => {
    const raw = coord.map((c, k) => ctx.temp(`${c} + ${offsets}[1 + ${r} * ${last} + ${k}]`));
    const other = raw.map((v, k) => ctx.temp(`(${v} + ${cells[k]}) % ${cells[k]}`));
    const wraps = raw.map((v, k) => `(${v} < 0 ? 0 : ${v} >= ${cells[k]} ? 2 : 1)`);
    const high = ctx.temp(wraps.length === 0 ? '0' : wraps.reduce((acc, w, k) => (k === 0 ? w : `(${acc}) * 3 + ${w}`), ''));
    const other1 = ctx.temp(last === 0 ? '0' : flatCell(other, cells.slice(0, last)));
    const rowCell = ctx.temp(`${other1} * ${nx}`);
    ctx.line(`${stencil.rowCell}[${r}] = ${rowCell}`);
    // Piece w: bins wrapped below (the row's last 2), inside (all), wrapped above (its first 2).
    ctx.loop(3, (w) => {
      ctx.line(`if (${w} === 1 || (${w} === 0 ? ${r} !== 0 && ${zLo} < ${REACH} : ${zHi} > ${nx - REACH})) {`, false);
      const code = ctx.temp(`${high} * 3 + ${w}`);
      const at = ctx.temp(`${r} * 3 + ${w}`);
      ctx.line(`if (${code} === ${zero}) ${stencil.pieceOffset}[${at}] = 0; else {`, false);
      const block = emitGhostBlock(ctx, g, list, n, other1, rowCell, code, `(${w} === 0 ? ${nx - REACH} : 0)`, `(${w} === 2 ? ${REACH} : ${nx})`);
      ctx.line(`${stencil.pieceOffset}[${at}] = ${block}`);
      ctx.line('}', false);
      for (let k = 0; k < g.dim; k++) ctx.line(`${stencil.pieceShift}[${at} * ${g.dim} + ${k}] = ${list.imageShift}[${code} * ${g.dim} + ${k}]`);
      ctx.line('}', false);
    });
  });
}

/**
 * Per-bin scratch of the build: runs of candidate sites [begin[s], end[s]) (their slots: + offset[s]) of image
 * shift[s·dim …]; `count`: the number of runs of the current bin (code).
 */
export interface StencilRuns { begin: string; end: string; offset: string; shift: string; count: string }

/**
 * Emits the runs of the stencil of bin `z` (code, along the last side) of the grid row whose row stencil is
 * `stencil`: each stencil row's bins z − 2 … z + 2 (the zero row: z … z + 2) form up to 3 runs (those wrapped
 * below the box, those inside, those wrapped above), each a contiguous range of slots; run 0 starts with the bin
 * itself; a bin 2 or more bins from both ends of its row has the inside runs alone (the others are empty, not
 * visited). Returns the run count and the total number of candidate sites (code).
 */
export function emitCellRuns(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, list: NeighbourList, z: string, stencil: RowStencil, runs: StencilRuns): { count: string; candidates: string } {
  const rows = stencilRows(g, grid);
  const reaches = ctx.constantArray(rows.map((row) => rowReach(g, grid, row)));
  const nx = grid.cells[g.dim - 1]!;
  const count = ctx.mutable('0'), candidates = ctx.mutable('0');
  const start = list.start;
  // Pieces below (above) the box only within 2 bins of its ends (most bins: piece 1 alone).
  const [wLo, wHi] = [ctx.temp(`${z} < ${REACH} ? 0 : 1`), ctx.temp(`${z} < ${nx - REACH} ? 2 : 3`)];
  ctx.loop(rows.length, (r) => {
    const rowCell = ctx.temp(`${stencil.rowCell}[${r}]`);
    const reach = ctx.temp(`${reaches}[${r}]`);
    const lo = ctx.temp(`${z} - (${r} === 0 ? 0 : ${reach})`), hi = ctx.temp(`${z} + ${reach} + 1`);
    // Piece w: the bins [lo, hi) below the box (moved up by a box), inside it, above it (moved down).
    const w = ctx.mutable(wLo);
    ctx.line(`for (; ${w} < ${wHi}; ${w}++) {`, false);
    const from = ctx.temp(`${w} === 0 ? ${lo} + ${nx} : ${w} === 1 ? Math.max(${lo}, 0) : 0`);
    const to = ctx.temp(`${w} === 0 ? ${nx} : ${w} === 1 ? Math.min(${hi}, ${nx}) : ${hi} - ${nx}`);
    ctx.line(`if (${from} < ${to}) {`, false);
    const [b, e] = [ctx.temp(`${start}[${rowCell} + ${from}]`), ctx.temp(`${start}[${rowCell} + ${to}]`)];
    const at = ctx.temp(`${r} * 3 + ${w}`);
    ctx.line(`${runs.begin}[${count}] = ${b}`);
    ctx.line(`${runs.end}[${count}] = ${e}`);
    ctx.line(`${candidates} += ${e} - ${b}`);
    ctx.line(`${runs.offset}[${count}] = ${stencil.pieceOffset}[${at}]`);
    for (let k = 0; k < g.dim; k++) ctx.line(`${runs.shift}[${count} * ${g.dim} + ${k}] = ${stencil.pieceShift}[${at} * ${g.dim} + ${k}]`);
    ctx.line(`${count}++`);
    ctx.line('}', false);
    ctx.line('}', false);
  });
  return { count, candidates };
}
