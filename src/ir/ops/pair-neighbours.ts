/**
 * Verlet neighbour lists of the JS lowering of the pair ops: a half list (each pair {i, j} once, Newton's third
 * law in the callers) of the pairs closer than cutoff + skin, built from cell lists of side ≥ cutoff + skin and
 * kept in hoisted scratch that persists between evaluations of the generated function. An evaluation first
 * compares every site with the positions the list was built from: when one has moved by skin/2 or more (or is
 * not finite, or the list was never built) the list is rebuilt; otherwise every pair now inside the cutoff is
 * still in the list (|r_now − r_built| ≤ |δ_i| + |δ_j| < skin on the periodic box), so the per-pair cutoff test
 * gives the same pairs as the all-pairs loop, in another order. A new state (another run, another batch element,
 * a reverse pass) is caught by the same test. Coordinates are wrapped into the box at the build; a pair that
 * crosses the box boundary refers to a ghost image of its partner (a copy of the partner's cell shifted by the
 * box, LAMMPS-style), so the pair loop needs no minimum image. The partner, ghost and coordinate buffers grow
 * (double) whenever a build fills them: no pair is ever dropped. The generated source has a size independent of n.
 */
import type { Expr } from '../expr.js';
import type { EmitContext } from '../op.js';
import { cellGrid, cellsAlong, emitBinning, emitCellLoops, flatCell, halfStencil, type CellPair } from './pair-cells.js';
import type { PairGeometry } from './pair-geometry.js';

/** The skin as a fraction of the cutoff (LAMMPS's `lj` benchmark: 0.3σ over r_c = 2.5σ). */
export const SKIN_FRACTION = 0.12;

/**
 * Relative margin of the rebuild test: a list is rebuilt once a site has moved (1 − margin)·skin/2, so that
 * rounding in the displacements (~1e-16 of the coordinates) cannot let a pair across the cutoff unseen.
 */
const REBUILD_MARGIN = 1e-9;

/**
 * Neighbour-list layout of a pair geometry: the cell grid of the build, the skin, and the stencil's reach (cells
 * of side ≥ (cutoff + skin)/2 reaching 2 cells, as LAMMPS bins: about 40 % fewer candidate pairs than cells of
 * side ≥ cutoff + skin reaching 1, used when the box holds fewer than 5 of the small ones).
 */
export interface NeighbourGrid {
  cells: number[];
  skin: number;
  reach: number;
}

/**
 * The neighbour-list layout, or null when it does not apply (no box, no cutoff, an edge list, or fewer than 3
 * cells of side ≥ cutoff + skin along some side; the caller then uses plain cell lists or all pairs).
 *
 * @example
 * neighbourGrid({ n: 4000, dim: 3, box: [16.8, 16.8, 16.8], cutoff: 2.5, edges: null }) // { cells: [11, 11, 11], skin: 0.3, reach: 2 }
 */
export function neighbourGrid(g: PairGeometry): NeighbourGrid | null {
  if (g.box === null || g.cutoff === null || g.edges !== null) return null;
  const skin = SKIN_FRACTION * g.cutoff;
  const fine = cellsAlong(g.box, (g.cutoff + skin) / 2);
  if (fine.every((c) => c >= 5)) return { cells: fine, skin, reach: 2 };
  const cells = cellGrid({ ...g, cutoff: g.cutoff + skin });
  return cells === null ? null : { cells, skin, reach: 1 };
}

/** Initial capacity of the partner buffer: the expected half-list length at the box's mean density, plus a quarter. */
function initialCapacity(g: PairGeometry, skin: number): number {
  const volume = g.box!.reduce((a, b) => a * b, 1);
  const rl = g.cutoff! + skin;
  const ball = g.dim === 1 ? 2 * rl : g.dim === 2 ? Math.PI * rl * rl : (4 / 3) * Math.PI * rl ** 3;
  return Math.max(64, Math.ceil(1.25 * 0.5 * g.n * (g.n / volume) * ball));
}

/**
 * The generated names of a neighbour list. Slots 0…n−1 are the sites in cell order (wrapped coordinates
 * `positions`, their site `site`); slots n…n+G−1 are ghost images (slot `ghostSlot[g]` shifted by image
 * `ghostCode[g]`). `state` = [built, G]; `block[c·3^dim + code]`: the first ghost slot of cell c's image, or −1.
 */
interface NeighbourArrays {
  count: string; start: string; cellOf: string; sorted: string;
  positions: string; site: string; ghostSlot: string; ghostCode: string; partners: string;
  first: string; state: string; reference: string; wrap: string; block: string; imageShift: string;
}

/** The shift of image `code` (base-3 digits w_k + 1, row-major): L_k·w_k. */
function imageShifts(g: PairGeometry): number[] {
  const out: number[] = [];
  for (let code = 0; code < 3 ** g.dim; code++) {
    for (let k = 0; k < g.dim; k++) out.push(g.box![k]! * ((Math.floor(code / 3 ** (g.dim - 1 - k)) % 3) - 1));
  }
  return out;
}

function neighbourArrays(ctx: EmitContext, g: PairGeometry, cells: readonly number[], skin: number): NeighbourArrays {
  const C = cells.reduce((a, b) => a * b, 1);
  const slots = g.n + Math.ceil(g.n / 2);
  return {
    count: ctx.intArray(C), start: ctx.intArray(C + 1), cellOf: ctx.intArray(g.n), sorted: ctx.intArray(g.n),
    positions: ctx.growableArray(slots * g.dim), site: ctx.growableIntArray(slots),
    ghostSlot: ctx.growableIntArray(slots - g.n), ghostCode: ctx.growableIntArray(slots - g.n),
    partners: ctx.growableIntArray(initialCapacity(g, skin)),
    first: ctx.intArray(g.n + 1), state: ctx.intArray(2), reference: ctx.array(g.n * g.dim), wrap: ctx.array(g.n * g.dim),
    block: ctx.intArray(C * 3 ** g.dim), imageShift: ctx.constantArray(imageShifts(g)),
  };
}

/** A statement growing `array` (of `type`) to at least `need` elements, doubling, keeping its contents. */
const grow = (array: string, type: string, need: string) =>
  `if (${need} > ${array}.length) { const grown = new ${type}(2 * (${need})); grown.set(${array}); ${array} = grown; }`;

/**
 * Emits the rebuild test: a mutable that is true when the list was never built or some site moved by skin/2 or
 * more since the build (a non-finite displacement counts as moved). Returns its name.
 */
function emitStaleTest(ctx: EmitContext, g: PairGeometry, q: Expr, arrays: NeighbourArrays, skin: number): string {
  const stale = ctx.mutable(`${arrays.state}[0] === 0`);
  const limit = ctx.literal((0.5 * skin * (1 - REBUILD_MARGIN)) ** 2);
  ctx.line(`if (!${stale}) {`, false);
  ctx.loop(g.n, (i) => {
    const d = Array.from({ length: g.dim }, (_, k) => ctx.temp(`${ctx.elem(q, `${i} * ${g.dim} + ${k}`)} - ${arrays.reference}[${i} * ${g.dim} + ${k}]`));
    ctx.line(`if (!(${d.map((x) => `${x} * ${x}`).join(' + ')} < ${limit})) { ${stale} = true; break; }`, false);
  });
  ctx.line('}', false);
  return stale;
}

/**
 * Emits the binning of a build: cells, sites in cell order, coordinates wrapped into the box (and the wraps),
 * references. `coordinate(i, k)`: the code of coordinate k of site i.
 */
function emitWrappedBinning(ctx: EmitContext, g: PairGeometry, coordinate: (i: string, k: number) => string, cells: readonly number[], arrays: NeighbourArrays): void {
  const { positions, wrap, site, sorted } = arrays;
  emitBinning(ctx, g, coordinate, cells, arrays);
  ctx.loop(g.n, (a) => {
    ctx.line(`${site}[${a}] = ${sorted}[${a}]`);
    for (let k = 0; k < g.dim; k++) {
      const at = `${a} * ${g.dim} + ${k}`;
      // The same ⌊q/L⌋ as the binning's cell, so a site's wrapped coordinate lies in its cell (up to rounding).
      const w = ctx.temp(`${ctx.literal(g.box![k]!)} * Math.floor(${positions}[${at}] / ${ctx.literal(g.box![k]!)})`);
      ctx.line(`${wrap}[${at}] = ${w}`);
      ctx.line(`${positions}[${at}] -= ${w}`);
    }
  });
  ctx.loop(g.n, (i) => {
    for (let k = 0; k < g.dim; k++) ctx.line(`${arrays.reference}[${i} * ${g.dim} + ${k}] = ${coordinate(i, k)}`);
  });
  ctx.loop(cells.reduce((a, b) => a * b, 1) * 3 ** g.dim, (k) => ctx.line(`${arrays.block}[${k}] = -1`));
}

/**
 * Emits the first ghost slot of the image `code` of cell c2 (sites start[c2] … bEnd), creating the block (slots,
 * sites, coordinates) on first use. Returns its name.
 */
function emitGhostBlock(ctx: EmitContext, g: PairGeometry, arrays: NeighbourArrays, c2: string, code: string, bBegin: string, bEnd: string): string {
  const { positions, site, ghostSlot, ghostCode, state, block } = arrays;
  const key = ctx.temp(`${c2} * ${3 ** g.dim} + ${code}`);
  const base = ctx.mutable(`${block}[${key}]`);
  ctx.line(`if (${base} < 0) {`, false);
  ctx.line(`${base} = ${g.n} + ${state}[1]`);
  ctx.line(`${block}[${key}] = ${base}`);
  const need = ctx.temp(`${base} + ${bEnd} - ${bBegin}`);
  ctx.line(grow(site, 'Int32Array', need), false);
  ctx.line(grow(positions, 'Float64Array', `${need} * ${g.dim}`), false);
  ctx.line(grow(ghostSlot, 'Int32Array', `${need} - ${g.n}`), false);
  ctx.line(grow(ghostCode, 'Int32Array', `${need} - ${g.n}`), false);
  const b = ctx.mutable(bBegin);
  ctx.line(`for (; ${b} < ${bEnd}; ${b}++) {`, false);
  const slot = ctx.temp(`${g.n} + ${state}[1]++`);
  ctx.line(`${ghostSlot}[${slot} - ${g.n}] = ${b}`);
  ctx.line(`${ghostCode}[${slot} - ${g.n}] = ${code}`);
  ctx.line(`${site}[${slot}] = ${site}[${b}]`);
  ctx.line('}', false);
  ctx.line('}', false);
  return base;
}

/**
 * Emits the build: for each site a (in cell order) its partners b in the same cell (b > a) and the half-shell
 * neighbour cells closer than cutoff + skin, as CSR (first[a] … first[a + 1] in `partners`); a partner across
 * the boundary is its ghost slot. The stencil of a cell (ranges, ghost blocks, image shifts) is worked out once
 * per cell into small scratch arrays. Grows the buffers.
 */
function emitBuild(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, arrays: NeighbourArrays): void {
  const { cells, skin, reach } = grid;
  const { start, positions, partners, first, imageShift } = arrays;
  const stencil = halfStencil(g.dim, reach);
  const S = stencil.length;
  const offsets = ctx.constantArray(stencil.flat());
  const [sBegin, sEnd, sOffset, sShift] = [ctx.intArray(S), ctx.intArray(S), ctx.intArray(S), ctx.array(S * g.dim)];
  const rl2 = ctx.literal((g.cutoff! + skin) ** 2);
  const zero = (3 ** g.dim - 1) / 2;
  const m = ctx.mutable('0');
  const list = ctx.mutable(partners);
  ctx.line(`${arrays.state}[1] = 0`);
  emitCellLoops(ctx, cells, (coord) => {
    ctx.loop(S, (s) => {
      const raw = coord.map((x, k) => ctx.temp(`${x} + ${offsets}[${s} * ${g.dim} + ${k}]`));
      const other = raw.map((x, k) => ctx.temp(`(${x} + ${cells[k]}) % ${cells[k]}`));
      const wraps = raw.map((x, k) => `(${x} < 0 ? 0 : ${x} >= ${cells[k]} ? 2 : 1)`);
      const code = ctx.temp(wraps.reduce((acc, w, k) => (k === 0 ? w : `(${acc}) * 3 + ${w}`), ''));
      const c2 = ctx.temp(flatCell(other, cells));
      const bBegin = ctx.temp(`${start}[${c2}]`), bEnd = ctx.temp(`${start}[${c2} + 1]`);
      ctx.line(`${sBegin}[${s}] = ${bBegin}`);
      ctx.line(`${sEnd}[${s}] = ${bEnd}`);
      ctx.line(`${sOffset}[${s}] = 0`);
      for (let k = 0; k < g.dim; k++) ctx.line(`${sShift}[${s} * ${g.dim} + ${k}] = ${imageShift}[${code} * ${g.dim} + ${k}]`);
      ctx.line(`if (${code} !== ${zero}) {`, false);
      const ghost = emitGhostBlock(ctx, g, arrays, c2, code, bBegin, bEnd);
      ctx.line(`${sOffset}[${s}] = ${ghost} - ${bBegin}`);
      ctx.line('}', false);
    });
    const c = ctx.temp(flatCell(coord, cells));
    const P = ctx.temp(positions); // after the ghost blocks of this cell (which may grow it)
    const a = ctx.mutable(`${start}[${c}]`), aEnd = ctx.temp(`${start}[${c} + 1]`);
    ctx.line(`for (; ${a} < ${aEnd}; ${a}++) {`, false);
    ctx.line(`${first}[${a}] = ${m}`);
    const xi = Array.from({ length: g.dim }, (_, k) => ctx.temp(`${P}[${a} * ${g.dim} + ${k}]`));
    ctx.loop(S, (s) => {
      const shift = Array.from({ length: g.dim }, (_, k) => ctx.temp(`${sShift}[${s} * ${g.dim} + ${k}]`));
      const offset = ctx.temp(`${sOffset}[${s}]`), bEnd = ctx.temp(`${sEnd}[${s}]`);
      const b = ctx.mutable(`${s} === 0 ? ${a} + 1 : ${sBegin}[${s}]`);
      ctx.line(`for (; ${b} < ${bEnd}; ${b}++) {`, false);
      const d = xi.map((x, k) => ctx.temp(`${x} - (${P}[${b} * ${g.dim} + ${k}] + ${shift[k]})`));
      const r2 = ctx.temp(d.map((x) => `${x} * ${x}`).join(' + '));
      ctx.line(`if (${r2} < ${rl2}) {`, false);
      // A full buffer doubles (copying what it holds), so a dense cluster never loses a pair.
      ctx.line(grow(list, 'Int32Array', `${m} + 1`), false);
      ctx.line(`${list}[${m}++] = ${b} + ${offset}`);
      ctx.line('}', false);
      ctx.line('}', false);
    });
    ctx.line('}', false);
  });
  ctx.line(`${partners} = ${list}`);
  ctx.line(`${first}[${g.n}] = ${m}`);
  ctx.line(`${arrays.state}[0] = 1`);
}

/** Emits the refresh of every evaluation: wrapped coordinates of the sites (q − wrap at the build) and of the ghosts. */
function emitRefresh(ctx: EmitContext, g: PairGeometry, q: Expr, arrays: NeighbourArrays, stale: string): void {
  const { positions, site, wrap, ghostSlot, ghostCode, imageShift, state } = arrays;
  ctx.line(`if (!${stale}) {`, false);
  ctx.loop(g.n, (a) => {
    const i = ctx.temp(`${site}[${a}]`);
    for (let k = 0; k < g.dim; k++) {
      ctx.line(`${positions}[${a} * ${g.dim} + ${k}] = ${ctx.elem(q, `${i} * ${g.dim} + ${k}`)} - ${wrap}[${a} * ${g.dim} + ${k}]`);
    }
  });
  ctx.line('}', false);
  const G = ctx.temp(`${state}[1]`);
  const gs = ctx.temp(ghostSlot), gc = ctx.temp(ghostCode), P = ctx.temp(positions);
  const gh = ctx.mutable('0');
  ctx.line(`for (; ${gh} < ${G}; ${gh}++) {`, false);
  const from = ctx.temp(`${gs}[${gh}]`), code = ctx.temp(`${gc}[${gh}]`);
  for (let k = 0; k < g.dim; k++) {
    ctx.line(`${P}[(${g.n} + ${gh}) * ${g.dim} + ${k}] = ${P}[${from} * ${g.dim} + ${k}] + ${imageShift}[${code} * ${g.dim} + ${k}]`);
  }
  ctx.line('}', false);
}

/**
 * Emits a loop visiting every pair of sites {i, j} closer than cutoff + skin exactly once (in either order),
 * through a persistent Verlet list rebuilt when needed (see the module comment); `pairAt` emits the pair's
 * displacement, cutoff test and body from the coordinates it is given (wrapped copies and ghost images, already
 * each other's minimum image: `imaged`). JS only.
 *
 * @example
 * const grid = neighbourGrid(g); if (grid) emitNeighbourPairLoop(ctx, g, q, grid, (pair) => emitPair(ctx, g, q, pair.i, pair.j, visit, pair));
 */
export function emitNeighbourPairLoop(ctx: EmitContext, g: PairGeometry, q: Expr, grid: NeighbourGrid, pairAt: (pair: CellPair) => void): void {
  const { cells, skin } = grid;
  const arrays = neighbourArrays(ctx, g, cells, skin);
  // The build runs in a function of its own, optimised apart from the evaluation (it runs once every few steps).
  const build = ctx.hoistedFunction(['coordinates', 'offset'], (inner) => {
    emitWrappedBinning(inner, g, (i, k) => `coordinates[offset + ${i} * ${g.dim} + ${k}]`, cells, arrays);
    emitBuild(inner, g, grid, arrays);
  });
  const stale = emitStaleTest(ctx, g, q, arrays, skin);
  ctx.line(`if (${stale}) {`, false);
  const qv = ctx.value(q);
  if (qv.kind === 'array') {
    ctx.line(`${build}(${qv.name}, ${qv.offset ?? 0})`);
  } else {
    const copy = ctx.array(g.n * g.dim);
    ctx.loop(g.n * g.dim, (k) => ctx.line(`${copy}[${k}] = ${ctx.elem(q, k)}`));
    ctx.line(`${build}(${copy}, 0)`);
  }
  ctx.line('}', false);
  emitRefresh(ctx, g, q, arrays, stale);
  const [P, S, list] = [ctx.temp(arrays.positions), ctx.temp(arrays.site), ctx.temp(arrays.partners)];
  const coordinates = (at: string) => Array.from({ length: g.dim }, (_, k) => `${P}[${at} * ${g.dim} + ${k}]`);
  ctx.loop(g.n, (a) => {
    const i = ctx.temp(`${S}[${a}]`);
    const xi = coordinates(a).map((x) => ctx.temp(x));
    const e = ctx.mutable(`${arrays.first}[${a}]`), eEnd = ctx.temp(`${arrays.first}[${a} + 1]`);
    ctx.line(`for (; ${e} < ${eEnd}; ${e}++) {`, false);
    const b = ctx.temp(`${list}[${e}]`);
    pairAt({ i, j: ctx.temp(`${S}[${b}]`), xi, xj: coordinates(b), imaged: true });
    ctx.line('}', false);
  });
}
