/**
 * Verlet neighbour lists of the JS lowering of the pair ops: a half list (each pair {i, j} once, Newton's third
 * law in the callers) of the pairs closer than cutoff + skin, built from bins of side ≥ (cutoff + skin)/2 and
 * kept in hoisted scratch that persists between evaluations of the generated function. An evaluation first
 * compares every site with the positions the list was built from: when one has moved by skin/2 or more (or is
 * not finite, or the list was never built) the list is rebuilt; otherwise every pair now inside the cutoff is
 * still in the list (|r_now − r_built| ≤ |δ_i| + |δ_j| < skin on the periodic box), so the per-pair cutoff test
 * gives the same pairs as the all-pairs loop, in another order. A new state (another run, another batch element,
 * a reverse pass) is caught by the same test. Coordinates are wrapped into the box at the build; a pair that
 * crosses the box boundary refers to a ghost image of its partner (a copy of bins of the partner's row shifted by the
 * box, LAMMPS-style), so the pair loop needs no minimum image. The partner, ghost and coordinate buffers grow
 * (double) whenever a build fills them: no pair is ever dropped. One list per pair geometry and generated
 * function, shared by every evaluation in it (they may be at different states: the test above decides). The
 * generated source has a size independent of n, and n appears in it once per list (the build's site count; the
 * evaluation reads the lengths of the arrays the build sized).
 */
import type { Expr } from '../expr.js';
import type { EmitContext } from '../op.js';
import { cellGrid, emitBinning, emitCellLoops, flatCell, loopTo, type CellPair } from './pair-cells.js';
import type { EmittedPair, PairGeometry } from './pair-geometry.js';
import { pairThreads, THREAD_INDEX, type PairThreads } from './pair-threads.js';

/** The skin as a fraction of the cutoff (LAMMPS's `lj` benchmark: 0.3σ over r_c = 2.5σ). */
export const SKIN_FRACTION = 0.12;

/**
 * Relative margin of the rebuild test: a list is rebuilt once a site has moved (1 − margin)·skin/2, so that
 * rounding in the displacements (~1e-16 of the coordinates) cannot let a pair across the cutoff unseen.
 */
const REBUILD_MARGIN = 1e-9;

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
 * The generated names of a neighbour list (hoisted, shared by the evaluations). Slots 0…n−1 are the sites in cell
 * order (wrapped coordinates `positions`, their site `site`); slots n…n+G−1 are ghost images (slot `ghostSlot[g]`
 * shifted by image `ghostCode[g]`). `state` = [built, G]; `block[c·3^dim + code]`: the first ghost slot of the row
 * starting at bin c (its image `code`), or −1. Arrays of n elements start empty and are sized by the first
 * build. `build(coordinates, offset)`: the hoisted build function.
 */
interface NeighbourList {
  count: string; start: string; cellOf: string; sorted: string;
  positions: string; site: string; ghostSlot: string; ghostCode: string; partners: string;
  first: string; state: string; reference: string; wrap: string; block: string; imageShift: string;
  build: string;
  /** Threaded runners (pair-threads.ts): this worker's slots [range[0], range[1]) and cells [range[2], range[3]). */
  range: string | null;
}

/** The shift of image `code` (base-3 digits w_k + 1, row-major): L_k·w_k. */
function imageShifts(g: PairGeometry): number[] {
  const out: number[] = [];
  for (let code = 0; code < 3 ** g.dim; code++) {
    for (let k = 0; k < g.dim; k++) out.push(g.box![k]! * ((Math.floor(code / 3 ** (g.dim - 1 - k)) % 3) - 1));
  }
  return out;
}

/** Declares the list's hoisted arrays and its build function. */
function declareList(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid): NeighbourList {
  const C = grid.cells.reduce((a, b) => a * b, 1);
  const [ints, floats] = [() => ctx.growableIntArray(0), () => ctx.growableArray(0)];
  const list: NeighbourList = {
    count: ctx.intArray(C), start: ctx.intArray(C + 1), cellOf: ints(), sorted: ints(),
    positions: floats(), site: ints(), ghostSlot: ints(), ghostCode: ints(), partners: ints(),
    first: ints(), state: ctx.intArray(2), reference: floats(), wrap: floats(),
    block: ctx.intArray(C * 3 ** g.dim), imageShift: ctx.constantArray(imageShifts(g)), build: '',
    range: null,
  };
  const threads = pairThreads(ctx);
  if (threads !== null) list.range = ctx.intArray(4);
  // The build runs in a function of its own, optimised apart from the evaluations (it runs once every few steps).
  list.build = ctx.hoistedFunction(['coordinates', 'offset'], (inner) => {
    const n = inner.temp(String(g.n));
    inner.line(`if (${list.sorted}.length !== ${n}) {`, false);
    for (const name of [list.cellOf, list.sorted]) inner.line(`${name} = new Int32Array(${n})`);
    inner.line(`${list.first} = new Int32Array(${n} + 1)`);
    for (const name of [list.reference, list.wrap]) inner.line(`${name} = new Float64Array(${n} * ${g.dim})`);
    inner.line('}', false);
    inner.line(grow(list.positions, 'Float64Array', `${n} * ${g.dim}`), false);
    inner.line(grow(list.site, 'Int32Array', n), false);
    inner.line(grow(list.partners, 'Int32Array', `16 * ${n}`), false);
    const coordinate = (i: string, k: number) => `coordinates[offset + ${i} * ${g.dim} + ${k}]`;
    emitWrappedBinning(inner, g, coordinate, grid.cells, list, n);
    if (threads !== null) emitThreadRange(inner, threads, C, list, n);
    emitBuild(inner, g, grid, list, n);
  });
  return list;
}

/**
 * Emits this worker's share of a threaded build (pair-threads.ts) into `range`: the contiguous cells whose sites
 * are the slots from ⌊n·t/T⌋ on to ⌊n·(t+1)/T⌋ (rounded to cell boundaries), and those slots.
 */
function emitThreadRange(ctx: EmitContext, threads: PairThreads, C: number, list: NeighbourList, n: string): void {
  const { start, range } = list;
  const T = threads.count;
  const lo = ctx.temp(`Math.floor(${n} * ${THREAD_INDEX} / ${T})`), hi = ctx.temp(`Math.floor(${n} * (${THREAD_INDEX} + 1) / ${T})`);
  const cBegin = ctx.mutable('0');
  ctx.line(`while (${cBegin} < ${C} && ${start}[${cBegin}] < ${lo}) ${cBegin}++`);
  const cEnd = ctx.mutable(cBegin);
  ctx.line(`while (${cEnd} < ${C} && ${start}[${cEnd}] < ${hi}) ${cEnd}++`);
  ctx.line(`${range}[0] = ${start}[${cBegin}]`);
  ctx.line(`${range}[1] = ${start}[${cEnd}]`);
  ctx.line(`${range}[2] = ${cBegin}`);
  ctx.line(`${range}[3] = ${cEnd}`);
}

/** A statement growing `array` (of `type`) to at least `need` elements, doubling, keeping its contents. */
const grow = (array: string, type: string, need: string) =>
  `if (${need} > ${array}.length) { const grown = new ${type}(2 * (${need})); grown.set(${array}); ${array} = grown; }`;

/**
 * Emits the rebuild test: a mutable that is true when the list was never built or some site moved by skin/2 or
 * more since the build (a non-finite displacement counts as moved). Returns its name.
 */
function emitStaleTest(ctx: EmitContext, g: PairGeometry, q: Expr, list: NeighbourList, skin: number): string {
  const stale = ctx.mutable(`${list.state}[0] === 0`);
  const limit = ctx.literal((0.5 * skin * (1 - REBUILD_MARGIN)) ** 2);
  ctx.line(`if (!${stale}) {`, false);
  const R = ctx.temp(list.reference);
  loopTo(ctx, `${list.sorted}.length`, (i) => {
    const d = Array.from({ length: g.dim }, (_, k) => ctx.temp(`${ctx.elem(q, `${i} * ${g.dim} + ${k}`)} - ${R}[${i} * ${g.dim} + ${k}]`));
    ctx.line(`if (!(${d.map((x) => `${x} * ${x}`).join(' + ')} < ${limit})) { ${stale} = true; break; }`, false);
  });
  ctx.line('}', false);
  return stale;
}

/**
 * Emits the binning of a build: cells, sites in cell order, coordinates wrapped into the box (and the wraps),
 * references. `coordinate(i, k)`: the code of coordinate k of site i; `n`: the site count (code).
 */
function emitWrappedBinning(ctx: EmitContext, g: PairGeometry, coordinate: (i: string, k: number) => string, cells: readonly number[], list: NeighbourList, n: string): void {
  const { positions, wrap, site, sorted } = list;
  emitBinning(ctx, g, coordinate, cells, list, n);
  loopTo(ctx, n, (a) => {
    ctx.line(`${site}[${a}] = ${sorted}[${a}]`);
    for (let k = 0; k < g.dim; k++) {
      const at = `${a} * ${g.dim} + ${k}`;
      // The same ⌊q/L⌋ as the binning's cell, so a site's wrapped coordinate lies in its cell (up to rounding).
      const w = ctx.temp(`${ctx.literal(g.box![k]!)} * Math.floor(${positions}[${at}] / ${ctx.literal(g.box![k]!)})`);
      ctx.line(`${wrap}[${at}] = ${w}`);
      ctx.line(`${positions}[${at}] -= ${w}`);
      ctx.line(`${list.reference}[${a} * ${g.dim} + ${k}] = ${coordinate(a, k)}`);
    }
  });
  ctx.loop(cells.reduce((a, b) => a * b, 1) * 3 ** g.dim, (k) => ctx.line(`${list.block}[${k}] = -1`));
}

/**
 * Emits the first ghost slot of the image `code` of cell c2 (sites start[c2] … bEnd), creating the block (slots,
 * sites) on first use. Returns its name.
 */
function emitGhostBlock(ctx: EmitContext, g: PairGeometry, list: NeighbourList, n: string, c2: string, code: string, bBegin: string, bEnd: string): string {
  const { positions, site, ghostSlot, ghostCode, state, block } = list;
  const key = ctx.temp(`${c2} * ${3 ** g.dim} + ${code}`);
  const base = ctx.mutable(`${block}[${key}]`);
  ctx.line(`if (${base} < 0) {`, false);
  const ghosts = ctx.temp(`${state}[1]`);
  ctx.line(`${base} = ${n} + ${ghosts}`);
  ctx.line(`${block}[${key}] = ${base}`);
  const more = ctx.temp(`${ghosts} + ${bEnd} - ${bBegin}`);
  ctx.line(grow(site, 'Int32Array', `${n} + ${more}`), false);
  ctx.line(grow(positions, 'Float64Array', `(${n} + ${more}) * ${g.dim}`), false);
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
  return base;
}

/**
 * Emits the build: for each site a (in cell order) its partners b in the same bin (b > a) and the half-stencil
 * bins closer than cutoff + skin, as CSR (first[a] … first[a + 1] in `partners`); a partner across the boundary
 * is its ghost slot. The stencil of a bin is worked out once per bin into runs (`emitStencilRuns`): the sites of
 * a stencil row (up to 5 bins along the last side) with the same image form one run, so the site loop visits
 * ~13 runs (3-D) instead of ~63 bins. Grows the buffers.
 */
function emitBuild(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, list: NeighbourList, n: string): void {
  const { cells, skin } = grid;
  const { start, positions, partners, first } = list;
  const S = 3 * stencilRows(g, grid).length;
  const runs: StencilRuns = { begin: ctx.intArray(S), end: ctx.intArray(S), offset: ctx.intArray(S), shift: ctx.array(S * g.dim), count: '' };
  const rl2 = ctx.literal((g.cutoff! + skin) ** 2);
  const m = ctx.mutable('0');
  const pairs = ctx.mutable(partners);
  ctx.line(`${list.state}[1] = 0`);
  emitCellLoops(ctx, cells, (coord) => {
    runs.count = emitStencilRuns(ctx, g, grid, list, n, coord, runs);
    const c = ctx.temp(flatCell(coord, cells));
    // Threaded: every worker makes every ghost block (the same slots in each), but lists only its own cells.
    if (list.range !== null) ctx.line(`if (${c} >= ${list.range}[2] && ${c} < ${list.range}[3]) {`, false);
    const P = ctx.temp(positions); // after the ghost blocks of this cell (which may grow it)
    const a = ctx.mutable(`${start}[${c}]`), aEnd = ctx.temp(`${start}[${c} + 1]`);
    ctx.line(`for (; ${a} < ${aEnd}; ${a}++) {`, false);
    ctx.line(`${first}[${a}] = ${m}`);
    const xi = Array.from({ length: g.dim }, (_, k) => ctx.temp(`${P}[${a} * ${g.dim} + ${k}]`));
    loopTo(ctx, runs.count, (s) => {
      // Site a moved by minus the image shift, once per run (not per candidate).
      const xs = xi.map((x, k) => ctx.temp(`${x} - ${runs.shift}[${s} * ${g.dim} + ${k}]`));
      const offset = ctx.temp(`${runs.offset}[${s}]`), bEnd = ctx.temp(`${runs.end}[${s}]`);
      // Run 0 starts with site a's own bin: its partners there are the later sites.
      const b = ctx.mutable(`${s} === 0 ? ${a} + 1 : ${runs.begin}[${s}]`);
      // Room for every candidate of the run (a full buffer doubles, copying what it holds, so a dense cluster
      // never loses a pair); then each candidate is written and kept by advancing m: no branch per candidate.
      ctx.line(grow(pairs, 'Int32Array', `${m} + ${bEnd} - ${b} + 1`), false);
      ctx.line(`for (; ${b} < ${bEnd}; ${b}++) {`, false);
      const d = xs.map((x, k) => ctx.temp(`${x} - ${P}[${b} * ${g.dim} + ${k}]`));
      const r2 = ctx.temp(d.map((x) => `${x} * ${x}`).join(' + '));
      ctx.line(`${pairs}[${m}] = ${b} + ${offset}`);
      ctx.line(`${m} += (${r2} < ${rl2}) | 0`);
      ctx.line('}', false);
    });
    ctx.line('}', false);
    if (list.range !== null) ctx.line('}', false);
  });
  ctx.line(`${partners} = ${pairs}`);
  ctx.line(`${first}[${list.range === null ? n : `${list.range}[1]`}] = ${m}`);
  ctx.line(`${list.state}[0] = 1`);
}

/**
 * Per-bin scratch of the build: runs of candidate sites [begin[s], end[s]) (their slots: + offset[s]) of image
 * shift[s·dim …]; `count`: the number of runs of the current bin (code).
 */
interface StencilRuns { begin: string; end: string; offset: string; shift: string; count: string }

/**
 * Emits the runs of the stencil of bin `coord` (creating the ghost blocks it needs): each stencil row's bins
 * form up to 3 runs (those wrapped below the box along the last side, those inside, those wrapped above), each a
 * contiguous range of sites; run 0 starts with the bin itself. A row's ghost image is one block per (row,
 * image): its last 2 bins (wrapped below), its first 2 (wrapped above) or all its bins. Returns the run count.
 */
function emitStencilRuns(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, list: NeighbourList, n: string, coord: string[], runs: StencilRuns): string {
  const { cells } = grid;
  const rows = stencilRows(g, grid);
  const last = g.dim - 1, nx = cells[last]!;
  const offsets = ctx.constantArray([0, ...rows.flat()]); // (a leading 0 so that 1-D has a non-empty array)
  const zero = (3 ** g.dim - 1) / 2;
  const count = ctx.mutable('0');
  const x = coord[last]!;
  ctx.loop(rows.length, (r) => {
    const raw = coord.slice(0, last).map((c, k) => ctx.temp(`${c} + ${offsets}[1 + ${r} * ${last} + ${k}]`));
    const other = raw.map((v, k) => ctx.temp(`(${v} + ${cells[k]}) % ${cells[k]}`));
    const wraps = raw.map((v, k) => `(${v} < 0 ? 0 : ${v} >= ${cells[k]} ? 2 : 1)`);
    const high = ctx.temp(wraps.length === 0 ? '0' : wraps.reduce((acc, w, k) => (k === 0 ? w : `(${acc}) * 3 + ${w}`), ''));
    const row = ctx.temp(last === 0 ? '0' : `(${flatCell(other, cells.slice(0, last))}) * ${nx}`);
    const lo = ctx.temp(`${x} + (${r} === 0 ? 0 : ${-REACH})`), hi = ctx.temp(`${x} + ${REACH}`);
    // Piece w (wrap digit: below, inside, above the box along the last side): the bins [lo, hi] ∩ [(w−1)·nx,
    // w·nx) moved by −(w−1)·nx; its row's ghost block holds the bins [blockLo, blockHi).
    ctx.loop(3, (w) => {
      const shift = ctx.temp(`(${w} - 1) * ${nx}`);
      const cA = ctx.temp(`Math.max(${lo}, ${shift}) - ${shift}`), cB = ctx.temp(`Math.min(${hi}, ${shift} + ${nx - 1}) - ${shift}`);
      ctx.line(`if (${cA} <= ${cB}) {`, false);
      const code = ctx.temp(`${high} * 3 + ${w}`);
      const offset = ctx.mutable('0');
      ctx.line(`if (${code} !== ${zero}) {`, false);
      const bBegin = ctx.temp(`${list.start}[${row} + (${w} === 0 ? ${nx - REACH} : 0)]`);
      const ghost = emitGhostBlock(ctx, g, list, n, row, code, bBegin, `${list.start}[${row} + (${w} === 2 ? ${REACH} : ${nx})]`);
      ctx.line(`${offset} = ${ghost} - ${bBegin}`);
      ctx.line('}', false);
      ctx.line(`${runs.begin}[${count}] = ${list.start}[${row} + ${cA}]`);
      ctx.line(`${runs.end}[${count}] = ${list.start}[${row} + ${cB} + 1]`);
      ctx.line(`${runs.offset}[${count}] = ${offset}`);
      for (let k = 0; k < g.dim; k++) ctx.line(`${runs.shift}[${count} * ${g.dim} + ${k}] = ${list.imageShift}[${code} * ${g.dim} + ${k}]`);
      ctx.line(`${count}++`);
      ctx.line('}', false);
    });
  });
  return count;
}

/**
 * Emits the refresh of every evaluation: wrapped coordinates of the sites (q − wrap at the build; the build
 * itself leaves them fresh) and of the ghosts. Returns the site count (code).
 */
function emitRefresh(ctx: EmitContext, g: PairGeometry, q: Expr, list: NeighbourList, stale: string): string {
  const { wrap, ghostSlot, ghostCode, imageShift, state } = list;
  const n = ctx.temp(`${list.sorted}.length`);
  const [P, S, W] = [ctx.temp(list.positions), ctx.temp(list.site), ctx.temp(wrap)];
  ctx.line(`if (!${stale}) {`, false);
  loopTo(ctx, n, (a) => {
    const i = ctx.temp(`${S}[${a}]`);
    for (let k = 0; k < g.dim; k++) ctx.line(`${P}[${a} * ${g.dim} + ${k}] = ${ctx.elem(q, `${i} * ${g.dim} + ${k}`)} - ${W}[${a} * ${g.dim} + ${k}]`);
  });
  ctx.line('}', false);
  const [gs, gc] = [ctx.temp(ghostSlot), ctx.temp(ghostCode)];
  loopTo(ctx, `${state}[1]`, (gh) => {
    const from = ctx.temp(`${gs}[${gh}]`), code = ctx.temp(`${gc}[${gh}]`);
    for (let k = 0; k < g.dim; k++) {
      ctx.line(`${P}[(${n} + ${gh}) * ${g.dim} + ${k}] = ${P}[${from} * ${g.dim} + ${k}] + ${imageShift}[${code} * ${g.dim} + ${k}]`);
    }
  });
  return n;
}

/**
 * Emits a loop visiting every pair of sites {i, j} closer than cutoff + skin exactly once (in either order),
 * through the persistent Verlet list of this geometry, rebuilt when needed (see the module comment); `pairAt`
 * emits the pair's displacement, cutoff test and body from the coordinates it is given (wrapped copies and
 * ghost images, already each other's minimum image: `imaged`). JS only.
 *
 * @example
 * const grid = neighbourGrid(g); if (grid) emitNeighbourPairLoop(ctx, g, q, grid, (pair) => emitPair(ctx, g, q, pair.i, pair.j, visit, pair));
 */
export function emitNeighbourPairLoop(ctx: EmitContext, g: PairGeometry, q: Expr, grid: NeighbourGrid, pairAt: (pair: CellPair) => void): void {
  const { list, n } = emitFreshList(ctx, g, q, grid);
  emitSlotLoop(ctx, g, list, n, (a, i, xi) => {
    const { P, S, pairs } = listNames(ctx, list);
    const e = ctx.mutable(`${list.first}[${a}]`), eEnd = ctx.temp(`${list.first}[${a} + 1]`);
    ctx.line(`for (; ${e} < ${eEnd}; ${e}++) {`, false);
    const b = ctx.temp(`${pairs}[${e}]`);
    pairAt({ i, j: ctx.temp(`${S}[${b}]`), xi, xj: slotCoordinates(g, P, b), imaged: true });
    ctx.line('}', false);
  });
}

/** The list's hoisted arrays as local names (after a build, which may have replaced them). */
function listNames(ctx: EmitContext, list: NeighbourList): { P: string; S: string; pairs: string } {
  return { P: ctx.temp(list.positions), S: ctx.temp(list.site), pairs: ctx.temp(list.partners) };
}

/** The codes of the coordinates of slot `at` in the positions `P`. */
const slotCoordinates = (g: PairGeometry, P: string, at: string) => Array.from({ length: g.dim }, (_, k) => `${P}[${at} * ${g.dim} + ${k}]`);

/**
 * Emits the list of this geometry (declared once per generated function), its rebuild test and build, and the
 * refresh of its coordinates. Returns the list and the site count (code).
 */
function emitFreshList(ctx: EmitContext, g: PairGeometry, q: Expr, grid: NeighbourGrid): { list: NeighbourList; n: string } {
  const list = ctx.shared(`neighbours ${g.n} ${g.dim} [${g.box!.join(',')}] ${g.cutoff}`, () => declareList(ctx, g, grid));
  const stale = emitStaleTest(ctx, g, q, list, grid.skin);
  ctx.line(`if (${stale}) {`, false);
  const qv = ctx.value(q);
  if (qv.kind === 'array') {
    ctx.line(`${list.build}(${qv.name}, ${qv.offset ?? 0})`);
  } else {
    const copy = ctx.array(g.n * g.dim);
    ctx.loop(g.n * g.dim, (k) => ctx.line(`${copy}[${k}] = ${ctx.elem(q, k)}`));
    ctx.line(`${list.build}(${copy}, 0)`);
  }
  ctx.line('}', false);
  return { list, n: emitRefresh(ctx, g, q, list, stale) };
}

/**
 * Emits the loop over the slots whose partners this worker visits (every site single-threaded; the worker's
 * range threaded): `body(a, i, xi)` with the slot, its site and its coordinates (codes).
 */
function emitSlotLoop(ctx: EmitContext, g: PairGeometry, list: NeighbourList, n: string, body: (a: string, i: string, xi: string[]) => void): void {
  const { P, S } = listNames(ctx, list);
  const a = ctx.mutable(list.range === null ? '0' : `${list.range}[0]`);
  const aEnd = ctx.temp(list.range === null ? n : `${list.range}[1]`);
  ctx.line(`for (; ${a} < ${aEnd}; ${a}++) {`, false);
  body(a, ctx.temp(`${S}[${a}]`), slotCoordinates(g, P, a).map((x) => ctx.temp(x)));
  ctx.line('}', false);
}

/**
 * Emits a per-site vector Σ_j term(i, j) with term(j, i) = −term(i, j) (forces and their Jacobians) through the
 * neighbour list, into the per-site array `out` (assigned, n·dim elements): the slot sums
 * (`emitNeighbourSlotSums`) copied to their sites. Threaded: this worker's slots only, so `out` holds its part.
 *
 * @example
 * emitNeighbourSiteVector(ctx, g, q, grid, out, (p) => p.d.map((dk) => `${w} * ${dk}`));
 */
export function emitNeighbourSiteVector(ctx: EmitContext, g: PairGeometry, q: Expr, grid: NeighbourGrid, out: string, term: (pair: EmittedPair) => string[]): void {
  const { sums, site, n } = emitNeighbourSlotSums(ctx, g, q, grid, term);
  const { dim } = g;
  loopTo(ctx, n, (a) => {
    const i = ctx.temp(`${site}[${a}]`);
    for (let k = 0; k < dim; k++) ctx.line(`${out}[${i} * ${dim} + ${k}] = ${sums}[${a} * ${dim} + ${k}]`);
  });
}

/**
 * Emits a per-site vector Σ_j term(i, j) with term(j, i) = −term(i, j) through the neighbour list as slot sums:
 * returns `sums` (code of an f64 array whose first n·dim elements hold slot a's vector at a·dim), `site` (code of
 * the Int32Array of each slot's site) and `n` (code of the site count). The half loop adds in slot order (cell
 * order; ghosts after the sites): site a's own terms in local sums written once after its partners, its
 * partners' terms subtracted from their slots; then each ghost slot's sum is added to its site's slot (in ghost
 * order). Contiguous reads and writes, no site lookups in the inner loop, and a deterministic order (per thread
 * count). Threaded: this worker's slots only (the threaded runner exchanges the slot sums, pair-threads.ts).
 *
 * @example
 * const { sums, site, n } = emitNeighbourSlotSums(ctx, g, q, grid, (p) => p.d.map((dk) => `${w} * ${dk}`));
 */
export function emitNeighbourSlotSums(ctx: EmitContext, g: PairGeometry, q: Expr, grid: NeighbourGrid, term: (pair: EmittedPair) => string[]): { sums: string; site: string; n: string } {
  const { list, n } = emitFreshList(ctx, g, q, grid);
  const { dim } = g;
  const sums = ctx.shared(`neighbour sums ${g.n} ${g.dim} [${g.box!.join(',')}] ${g.cutoff}`, () => ctx.growableArray(0));
  const slots = ctx.temp(`(${n} + ${list.state}[1]) * ${dim}`);
  ctx.line(`if (${sums}.length < ${slots}) ${sums} = new Float64Array(2 * ${slots})`, false);
  const F = ctx.temp(sums);
  ctx.line(`${F}.fill(0, 0, ${slots})`);
  emitSlotLoop(ctx, g, list, n, (a, i, xi) => {
    const { P, S, pairs } = listNames(ctx, list);
    const own = Array.from({ length: dim }, () => ctx.mutable('0'));
    const e = ctx.mutable(`${list.first}[${a}]`), eEnd = ctx.temp(`${list.first}[${a} + 1]`);
    ctx.line(`for (; ${e} < ${eEnd}; ${e}++) {`, false);
    const b = ctx.temp(`${pairs}[${e}]`);
    const xj = slotCoordinates(g, P, b);
    const d = xi.map((x, k) => ctx.temp(`${x} - ${xj[k]}`));
    const r2 = ctx.temp(d.map((x) => `${x} * ${x}`).join(' + '));
    ctx.line(`if (${r2} < ${ctx.literal(g.cutoff! * g.cutoff!)}) {`, false);
    const r = ctx.temp(`Math.sqrt(${r2})`);
    term({ i, j: ctx.temp(`${S}[${b}]`), d, r, r2 }).forEach((t, k) => {
      const x = ctx.temp(t);
      ctx.line(`${own[k]} += ${x}`);
      ctx.line(`${F}[${b} * ${dim} + ${k}] -= ${x}`);
    });
    ctx.line('}', false);
    ctx.line('}', false);
    own.forEach((o, k) => ctx.line(`${F}[${a} * ${dim} + ${k}] += ${o}`));
  });
  const [gs, S] = [ctx.temp(list.ghostSlot), ctx.temp(list.site)];
  loopTo(ctx, `${list.state}[1]`, (gh) => {
    const from = ctx.temp(`${gs}[${gh}]`);
    for (let k = 0; k < dim; k++) ctx.line(`${F}[${from} * ${dim} + ${k}] += ${F}[(${n} + ${gh}) * ${dim} + ${k}]`);
  });
  return { sums: F, site: S, n };
}
