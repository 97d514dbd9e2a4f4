/**
 * The build and the upkeep of the Verlet neighbour lists of the JS pair loops (pair-neighbours.ts; layout in
 * pair-stencil.ts): the hoisted list and its build function (binning with wrapped coordinates, then for each
 * site its partners within cutoff + skin in the half stencil, as CSR), the threaded build's share of cells, and
 * in one pass of every evaluation the rebuild test (some site moved by skin/2 or more, or is not finite) and the
 * refresh of the wrapped site coordinates when the list is kept; then those of the ghosts.
 */
import type { Expr } from '../expr.js';
import type { EmitContext } from '../op.js';
import { emitBinning, loopTo } from './pair-cells.js';
import type { PairGeometry } from './pair-geometry.js';
import { pairThreads, THREAD_INDEX, type PairThreads } from './pair-threads.js';
import { declareWasmListBuild, emitWasmBuildEnd, emitWasmBuildStart, emitWasmRow } from './pair-list-wasm.js';
import { declarePairMemory } from './pair-wasm.js';
import { declareStencilScratch, emitCellRuns, emitRowStencil, grow, growPositions, imageShifts, type NeighbourGrid, type NeighbourList, type StencilRuns } from './pair-stencil.js';

/**
 * Relative margin of the rebuild test: a list is rebuilt once a site has moved (1 − margin)·skin/2, so that
 * rounding in the displacements (~1e-16 of the coordinates) cannot let a pair across the cutoff unseen.
 */
const REBUILD_MARGIN = 1e-9;

/** Declares the list's hoisted arrays and its build function. */
function declareList(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid): NeighbourList {
  const C = grid.cells.reduce((a, b) => a * b, 1);
  const [ints, floats] = [() => ctx.growableIntArray(0), () => ctx.growableArray(0)];
  const list: NeighbourList = {
    count: ctx.intArray(C), start: ctx.intArray(C + 1), cellOf: ints(), sorted: ints(),
    positions: floats(), site: ints(), ghostSlot: ints(), ghostCode: ints(), partners: ints(),
    first: ints(), state: ctx.intArray(3), reference: floats(), wrap: floats(),
    block: ctx.intArray((C / grid.cells[g.dim - 1]!) * 3 ** g.dim), imageShift: ctx.constantArray(imageShifts(g)), build: '',
    memory: null, range: null,
  };
  list.memory = declarePairMemory(ctx, list.positions);
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
    inner.line(growPositions(list, `${n} * ${g.dim}`), false);
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

/**
 * Emits the binning of a build: cells, sites in cell order, coordinates wrapped into the box (and the wraps),
 * references, all written in the counting sort's placing pass. `coordinate(i, k)`: the code of coordinate k of
 * site i; `n`: the site count (code).
 */
function emitWrappedBinning(ctx: EmitContext, g: PairGeometry, coordinate: (i: string, k: number) => string, cells: readonly number[], list: NeighbourList, n: string): void {
  const { positions, wrap, site, sorted } = list;
  emitBinning(ctx, g, coordinate, cells, list, n, (i, a) => {
    ctx.line(`${sorted}[${a}] = ${i}`);
    ctx.line(`${site}[${a}] = ${i}`);
    for (let k = 0; k < g.dim; k++) {
      const at = `${a} * ${g.dim} + ${k}`;
      const x = ctx.temp(coordinate(i, k));
      // The same ⌊q/L⌋ as the binning's cell, so a site's wrapped coordinate lies in its cell (up to rounding).
      const w = ctx.temp(`${ctx.literal(g.box![k]!)} * Math.floor(${x} / ${ctx.literal(g.box![k]!)})`);
      ctx.line(`${wrap}[${at}] = ${w}`);
      ctx.line(`${positions}[${at}] = ${x} - ${w}`);
      // The reference: the coordinate before the wrap, in slot order (as the rebuild test reads it).
      ctx.line(`${list.reference}[${at}] = ${x}`);
    }
  });
  ctx.loop((cells.reduce((a, b) => a * b, 1) / cells[g.dim - 1]!) * 3 ** g.dim, (k) => ctx.line(`${list.block}[${k}] = -1`));
}

/**
 * Emits the build: for each site a (in cell order) its partners b in the same bin (b > a) and the half-stencil
 * bins closer than cutoff + skin, as CSR (first[a] … first[a + 1] in `partners`); a partner across the boundary
 * is its ghost slot. The bins are visited row by row (a row: the bins along the last side); the stencil of a row
 * (which grid rows it meets, their ghost blocks and image shifts) is worked out once per row
 * (`emitRowStencil`), and each bin's runs from it (`emitCellRuns`): the sites of a stencil row (up to 5 bins
 * along the last side) with the same image form one run, so the site loop visits ~13 runs (3-D) instead of ~63
 * bins. With WebAssembly (pair-list-wasm.ts) the runs and the site loop of a row's bins are one call of the module
 * per row. Threaded, a worker visits its own bins only and makes only the ghost blocks they need (its ghost slots
 * are its own). Grows the buffers.
 */
function emitBuild(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, list: NeighbourList, n: string): void {
  const { cells } = grid;
  const { partners, first } = list;
  const nx = cells[g.dim - 1]!;
  const wasm = declareWasmListBuild(ctx, g, grid, (g.cutoff! + grid.skin) ** 2);
  const scratch = wasm === null ? declareStencilScratch(ctx, g, grid) : null;
  const m = ctx.mutable('0');
  const pairs = ctx.mutable(partners);
  ctx.line(`${list.state}[1] = 0`);
  if (wasm !== null) emitWasmBuildStart(ctx, wasm, g, list, n);
  const cBegin = ctx.temp(list.range === null ? '0' : `${list.range}[2]`);
  const cEnd = ctx.temp(list.range === null ? String(cells.reduce((a, b) => a * b, 1)) : `${list.range}[3]`);
  const row = ctx.mutable(`Math.floor(${cBegin} / ${nx})`);
  ctx.line(`for (; ${row} * ${nx} < ${cEnd}; ${row}++) {`, false);
  const zLo = ctx.temp(`Math.max(${cBegin} - ${row} * ${nx}, 0)`), zHi = ctx.temp(`Math.min(${cEnd} - ${row} * ${nx}, ${nx})`);
  emitRowStencil(ctx, g, grid, list, n, row, zLo, zHi, wasm?.rowStencil ?? scratch!.rowStencil);
  if (wasm !== null) emitWasmRow(ctx, wasm, zLo, zHi, `${row} * ${nx}`, m);
  else {
    const P = ctx.temp(list.positions); // after the ghost blocks of this row (which may grow it)
    const z = ctx.mutable(zLo);
    ctx.line(`for (; ${z} < ${zHi}; ${z}++) {`, false);
    const { count, candidates } = emitCellRuns(ctx, g, grid, list, z, scratch!.rowStencil, scratch!.runs);
    const c = ctx.temp(`${row} * ${nx} + ${z}`);
    emitSiteLoop(ctx, g, grid, list, { P, c, count, candidates, runs: scratch!.runs, m, pairs });
    ctx.line('}', false);
  }
  ctx.line('}', false);
  const [aBegin, aEnd] = list.range === null ? ['0', n] : [`${list.range}[0]`, `${list.range}[1]`];
  if (wasm !== null) emitWasmBuildEnd(ctx, wasm, list, aBegin, aEnd, m, pairs);
  ctx.line(`${partners} = ${pairs}`);
  ctx.line(`${first}[${aEnd}] = ${m}`);
  ctx.line(`${list.state}[0] = 1`);
  ctx.line(`${list.state}[2]++`); // builds so far: copies of the list (the WebAssembly pair loop's) know when to refresh
}

/**
 * Emits the JS candidate loop of the sites of bin `c` (code) with `count` runs (the WebAssembly loop of
 * pair-list-wasm.ts does the same): each site's `first`, then every candidate written and kept by advancing m.
 */
function emitSiteLoop(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, list: NeighbourList, at: { P: string; c: string; count: string; candidates: string; runs: StencilRuns; m: string; pairs: string }): void {
  const { P, c, count, candidates, runs, m, pairs } = at;
  const rl2 = ctx.literal((g.cutoff! + grid.skin) ** 2);
  const a = ctx.mutable(`${list.start}[${c}]`), aEnd = ctx.temp(`${list.start}[${c} + 1]`);
  ctx.line(`for (; ${a} < ${aEnd}; ${a}++) {`, false);
  // Room for every candidate of site a (a full buffer doubles, copying what it holds, so a dense cluster never
  // loses a pair); then each candidate is written and kept by advancing m: no branch per candidate.
  ctx.line(grow(pairs, 'Int32Array', `${m} + ${candidates} + 1`), false);
  ctx.line(`${list.first}[${a}] = ${m}`);
  const xi = Array.from({ length: g.dim }, (_, k) => ctx.temp(`${P}[${a} * ${g.dim} + ${k}]`));
  loopTo(ctx, count, (s) => {
    // Site a moved by minus the image shift, once per run (not per candidate).
    const xs = xi.map((x, k) => ctx.temp(`${x} - ${runs.shift}[${s} * ${g.dim} + ${k}]`));
    const offset = ctx.temp(`${runs.offset}[${s}]`), bEnd = ctx.temp(`${runs.end}[${s}]`);
    // Run 0 starts with site a's own bin: its partners there are the later sites.
    const b = ctx.mutable(`${s} === 0 ? ${a} + 1 : ${runs.begin}[${s}]`);
    ctx.line(`for (; ${b} < ${bEnd}; ${b}++) {`, false);
    const d = xs.map((x, k) => ctx.temp(`${x} - ${P}[${b} * ${g.dim} + ${k}]`));
    const r2 = ctx.temp(d.map((x) => `${x} * ${x}`).join(' + '));
    ctx.line(`${pairs}[${m}] = ${b} + ${offset}`);
    ctx.line(`${m} += (${r2} < ${rl2}) | 0`);
    ctx.line('}', false);
  });
  ctx.line('}', false);
}

/**
 * Emits the rebuild test and the refresh of every evaluation, one pass over the slots: a mutable `stale`, true
 * when the list was never built or some site moved by skin/2 or more since the build (a non-finite displacement
 * counts as moved; the pass stops there), and until then each slot's wrapped coordinates (q − wrap at the build;
 * after a rebuild the build leaves them fresh). Then `rebuild` (the build's call when stale) and the ghosts'
 * coordinates. Returns the site count (code).
 */
function emitTestAndRefresh(ctx: EmitContext, g: PairGeometry, q: Expr, list: NeighbourList, skin: number, rebuild: (stale: string) => void): string {
  const { dim } = g;
  const stale = ctx.mutable(`${list.state}[0] === 0`);
  const limit = ctx.literal((0.5 * skin * (1 - REBUILD_MARGIN)) ** 2);
  ctx.line(`if (!${stale}) {`, false);
  const [P, S, W, R] = [ctx.temp(list.positions), ctx.temp(list.site), ctx.temp(list.wrap), ctx.temp(list.reference)];
  loopTo(ctx, `${list.sorted}.length`, (a) => {
    const i = ctx.temp(`${S}[${a}]`);
    const x = Array.from({ length: dim }, (_, k) => ctx.temp(ctx.elem(q, `${i} * ${dim} + ${k}`)));
    const d = x.map((xk, k) => ctx.temp(`${xk} - ${R}[${a} * ${dim} + ${k}]`));
    ctx.line(`if (!(${d.map((v) => `${v} * ${v}`).join(' + ')} < ${limit})) { ${stale} = true; break; }`, false);
    x.forEach((xk, k) => ctx.line(`${P}[${a} * ${dim} + ${k}] = ${xk} - ${W}[${a} * ${dim} + ${k}]`));
  });
  ctx.line('}', false);
  rebuild(stale);
  const { ghostSlot, ghostCode, imageShift, state } = list;
  const n = ctx.temp(`${list.sorted}.length`);
  const [P2, gs, gc] = [ctx.temp(list.positions), ctx.temp(ghostSlot), ctx.temp(ghostCode)];
  loopTo(ctx, `${state}[1]`, (gh) => {
    const from = ctx.temp(`${gs}[${gh}]`), code = ctx.temp(`${gc}[${gh}]`);
    for (let k = 0; k < dim; k++) {
      ctx.line(`${P2}[(${n} + ${gh}) * ${dim} + ${k}] = ${P2}[${from} * ${dim} + ${k}] + ${imageShift}[${code} * ${dim} + ${k}]`);
    }
  });
  return n;
}

/**
 * Emits the list of this geometry (declared once per generated function), its rebuild test and build, and the
 * refresh of its coordinates. Returns the list and the site count (code).
 *
 * @example
 * const { list, n } = emitFreshList(ctx, g, q, grid); // then loop over list.first / list.partners
 */
export function emitFreshList(ctx: EmitContext, g: PairGeometry, q: Expr, grid: NeighbourGrid): { list: NeighbourList; n: string } {
  const list = ctx.shared(`neighbours ${g.n} ${g.dim} [${g.box!.join(',')}] ${g.cutoff}`, () => declareList(ctx, g, grid));
  const n = emitTestAndRefresh(ctx, g, q, list, grid.skin, (stale) => {
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
  });
  return { list, n };
}
