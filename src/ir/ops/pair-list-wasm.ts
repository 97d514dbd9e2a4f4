/**
 * The WebAssembly row loop of the Verlet-list build (module: src/ir/wasm/list-build-loop.ts) in the generated JS.
 * Where this engine compiles the module (checked once at lowering, as the pair loop's in pair-wasm.ts), the build
 * keeps its binning and the row stencils (ghost blocks included) in JS and hands each grid row's visited bins to the
 * module, which makes each bin's runs and lists its sites' partners:
 *
 * - one WebAssembly memory per list and generated function (hoisted: a worker evaluating the same source makes its
 *   own), holding the row stencil (`emitRowStencil` writes it straight into views of the memory), the stencil rows'
 *   reaches and the bin starts (copied once per build), the runs of the current bin, the sites' wrapped coordinates
 *   (copied once per build), `first` and the partners; the module grows it when the partners need room (the views
 *   are then made again after the call);
 * - after the rows, `first` (this worker's slots) is copied into the list's array and the list's partners become a
 *   view of the memory's, so everything downstream (the pair loops, their WebAssembly copy) reads the list as before.
 *
 * The list equals the JS loop's entry for entry. `wasmListBuild.enabled = false` (internal, for tests and
 * benchmarks) makes later lowerings emit the JS loop.
 */
import type { EmitContext } from '../op.js';
import type { PairGeometry } from './pair-geometry.js';
import { rowReach, stencilRows, type NeighbourGrid, type NeighbourList, type RowStencil } from './pair-stencil.js';
import { listBuildLayout, listBuildModule, type ListBuildLayout } from '../wasm/list-build-loop.js';
import { engineCompiles, instanceExports, wasmPairLoops } from './pair-wasm.js';

/**
 * Internal switch of the WebAssembly row loop, read when a function is lowered (`lanes`: candidates per iteration,
 * 2 in the f64x2 lanes, 4 in two f64x2 pairs, or 1, scalar): true by default; false emits the JS loop (for comparisons in tests and
 * benchmarks), as does `wasmPairLoops.enabled = false` (no WebAssembly at all). Set it before the first `compile`
 * of a Hamiltonian.
 *
 * @example
 * wasmListBuild.enabled = false; const js = compileJs(inputs, outputs); wasmListBuild.enabled = true;
 */
export const wasmListBuild: { enabled: boolean; lanes: 1 | 2 | 4 } = { enabled: true, lanes: 2 };

/** The hoisted names of a build's WebAssembly loop: memory state `M` (with `g(bytes)`: grow), `row`, the row stencil's views. */
export interface WasmListBuild {
  memory: string;
  row: string;
  rowStencil: RowStencil;
  reaches: number[];
  layout: ListBuildLayout;
}

/**
 * Declares the WebAssembly row loop of a build, or returns null (switched off, not JS, or this engine does not
 * compile the module): the caller emits the JS loop.
 *
 * @example
 * const wasm = declareWasmListBuild(inner, g, grid, rl2); // inside the build function
 */
export function declareWasmListBuild(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, radius2: number): WasmListBuild | null {
  if (!wasmListBuild.enabled || !wasmPairLoops.enabled || ctx.target !== 'js') return null;
  const rows = stencilRows(g, grid), S = 3 * rows.length;
  const cells = grid.cells.reduce((a, b) => a * b, 1), side = grid.cells[g.dim - 1]!;
  const layout = listBuildLayout({ dim: g.dim, sites: g.n, rows: rows.length, cells, side, radius2 });
  const bytes = listBuildModule(layout, wasmListBuild.lanes);
  if (!engineCompiles(bytes)) return null;
  const view = (type: string, at: number, length: number) => `new ${type}(b, ${at}, ${length})`;
  const views = `this.f = new Float64Array(b); this.i = new Int32Array(b); this.c = ${view('Int32Array', layout.rowCell, rows.length)}; this.o = ${view('Int32Array', layout.pieceOffset, S)}; this.s = ${view('Float64Array', layout.pieceShift, S * g.dim)}`;
  const M = ctx.hoistedValue(`{ m: new WebAssembly.Memory({ initial: 1 }), g(need) { if (need > this.m.buffer.byteLength) this.m.grow(Math.ceil((Math.max(need, 2 * this.m.buffer.byteLength) - this.m.buffer.byteLength) / 65536)); const b = this.m.buffer; ${views}; return this; } }.g(0)`);
  const row = ctx.hoistedValue(`${instanceExports(bytes, `${M}.m`)}.row`);
  const reaches = rows.map((r) => rowReach(g, grid, r));
  return { memory: M, row, layout, reaches, rowStencil: { rowCell: `${M}.c`, pieceOffset: `${M}.o`, pieceShift: `${M}.s` } };
}

/**
 * Emits the start of a build through the module: room for 16 partners a site, the sites' coordinates copied (one
 * plane per side), the bin starts and the stencil rows' reaches copied.
 *
 * @example
 * emitWasmBuildStart(ctx, wasm, g, list, n);
 */
export function emitWasmBuildStart(ctx: EmitContext, wasm: WasmListBuild, g: PairGeometry, list: NeighbourList, n: string): void {
  const { memory: M, layout } = wasm;
  ctx.line(`${M}.g(${layout.partners} + 64 * ${n})`);
  const F = ctx.temp(`${M}.f`), P = ctx.temp(list.positions);
  const a = ctx.mutable('0');
  ctx.line(`for (; ${a} < ${n}; ${a}++) {`, false);
  for (let k = 0; k < g.dim; k++) ctx.line(`${F}[${layout.positions / 8 + (k * layout.plane) / 8} + ${a}] = ${P}[${a} * ${g.dim} + ${k}]`);
  ctx.line('}', false);
  ctx.line(`${M}.i.set(${list.start}, ${layout.start / 4})`);
  ctx.line(`${M}.i.set([${wasm.reaches.join()}], ${layout.reach / 4})`);
}

/**
 * Emits the call of the module for the bins zLo … zHi − 1 (code) of the grid row whose first cell is `rowCell`
 * (code), after its row stencil: m, the next entry (a mutable), moves past their partners; the views are made again
 * when the module grew the memory.
 *
 * @example
 * emitWasmRow(ctx, wasm, zLo, zHi, `${row} * ${nx}`, m);
 */
export function emitWasmRow(ctx: EmitContext, wasm: WasmListBuild, zLo: string, zHi: string, rowCell: string, m: string): void {
  const { memory: M, layout } = wasm;
  ctx.line(`${m} = ${wasm.row}(${zLo}, ${zHi}, ${rowCell}, ${m}, ${layout.start}, ${layout.first}, ${layout.partners}, ${layout.side}, ${layout.plane})`);
  ctx.line(`if (${M}.i.buffer !== ${M}.m.buffer) ${M}.g(0)`);
}

/**
 * Emits the end of a build through the module: `first` of the slots [aBegin, aEnd) copied into the list's array,
 * and the partners array `pairs` (a mutable) made a view of the m partners in the memory (not copied: only the
 * next build writes there, and it makes a new view; a grown memory leaves the old view empty, never stale).
 *
 * @example
 * emitWasmBuildEnd(ctx, wasm, list, '0', n, m, pairs);
 */
export function emitWasmBuildEnd(ctx: EmitContext, wasm: WasmListBuild, list: NeighbourList, aBegin: string, aEnd: string, m: string, pairs: string): void {
  const { memory: M, layout } = wasm;
  ctx.line(`${list.first}.set(${M}.i.subarray(${layout.first / 4} + ${aBegin}, ${layout.first / 4} + ${aEnd}), ${aBegin})`);
  ctx.line(`${pairs} = ${M}.i.subarray(${layout.partners / 4}, ${layout.partners / 4} + ${m})`);
}
