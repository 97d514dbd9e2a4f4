/**
 * The WebAssembly candidate loop of the Verlet-list build (module: src/ir/wasm/list-build-loop.ts) in the generated
 * JS. Where this engine compiles the module (checked once at lowering, as the pair loop's in pair-wasm.ts), the
 * build keeps its binning, row stencils and runs in JS and hands each bin's sites to the module:
 *
 * - one WebAssembly memory per list and generated function (hoisted: a worker evaluating the same source makes its
 *   own), holding the runs of the current bin (`emitCellRuns` writes them straight into views of the memory), the
 *   sites' wrapped coordinates (copied once per build), `first` and the partners;
 * - after the bins, `first` (this worker's slots) is copied into the list's array and the list's partners become a
 *   view of the memory's, so everything downstream (the pair loops, their WebAssembly copy) reads the list as before.
 *
 * The list equals the JS loop's entry for entry. `wasmListBuild.enabled = false` (internal, for tests and
 * benchmarks) makes later lowerings emit the JS loop.
 */
import type { EmitContext } from '../op.js';
import type { PairGeometry } from './pair-geometry.js';
import { stencilRows, type NeighbourGrid, type NeighbourList, type StencilRuns } from './pair-stencil.js';
import { listBuildLayout, listBuildModule, type ListBuildLayout } from '../wasm/list-build-loop.js';
import { engineCompiles, instanceExports, wasmPairLoops } from './pair-wasm.js';

/**
 * Internal switch of the WebAssembly candidate loop, read when a function is lowered (`lanes`: candidates per
 * iteration, 2 in the f64x2 lanes or 1, scalar): true by default; false
 * emits the JS loop (for comparisons in tests and benchmarks), as does `wasmPairLoops.enabled = false` (no
 * WebAssembly at all). Set it before the first `compile` of a Hamiltonian.
 *
 * @example
 * wasmListBuild.enabled = false; const js = compileJs(inputs, outputs); wasmListBuild.enabled = true;
 */
export const wasmListBuild: { enabled: boolean; lanes: 1 | 2 } = { enabled: true, lanes: 2 };

/** The hoisted names of a build's WebAssembly loop: memory state `M` (with `g(bytes)`: grow), `sites`, the runs' views. */
export interface WasmListBuild {
  memory: string;
  sites: string;
  runs: StencilRuns;
  layout: ListBuildLayout;
}

/**
 * Declares the WebAssembly candidate loop of `list`'s build, or returns null (switched off, not JS, or this engine
 * does not compile the module): the caller emits the JS loop.
 *
 * @example
 * const wasm = declareWasmListBuild(inner, g, grid, list, rl2); // inside the build function
 */
export function declareWasmListBuild(ctx: EmitContext, g: PairGeometry, grid: NeighbourGrid, radius2: number): WasmListBuild | null {
  if (!wasmListBuild.enabled || !wasmPairLoops.enabled || ctx.target !== 'js') return null;
  const S = 3 * stencilRows(g, grid).length;
  const layout = listBuildLayout(g.dim, g.n, S, radius2);
  const bytes = listBuildModule(layout, wasmListBuild.lanes);
  if (!engineCompiles(bytes)) return null;
  const views = `this.f = new Float64Array(b); this.i = new Int32Array(b); this.rb = new Int32Array(b, ${layout.runBegin}, ${S}); this.re = new Int32Array(b, ${layout.runEnd}, ${S}); this.ro = new Int32Array(b, ${layout.runOffset}, ${S}); this.rs = new Float64Array(b, ${layout.runShift}, ${S * g.dim}); this.n = b.byteLength`;
  const M = ctx.hoistedValue(`{ m: new WebAssembly.Memory({ initial: 1 }), g(need) { if (need > this.m.buffer.byteLength) this.m.grow(Math.ceil((Math.max(need, 2 * this.m.buffer.byteLength) - this.m.buffer.byteLength) / 65536)); const b = this.m.buffer; ${views}; return this; } }.g(0)`);
  const sites = ctx.hoistedValue(`${instanceExports(bytes, `${M}.m`)}.sites`);
  return { memory: M, sites, layout, runs: { begin: `${M}.rb`, end: `${M}.re`, offset: `${M}.ro`, shift: `${M}.rs`, count: '' } };
}

/**
 * Emits the start of a build through the module: room for 16 partners a site, the sites' coordinates `P` copied.
 *
 * @example
 * emitWasmBuildStart(ctx, wasm, g, P, n);
 */
export function emitWasmBuildStart(ctx: EmitContext, wasm: WasmListBuild, g: PairGeometry, P: string, n: string): void {
  const { memory: M, layout } = wasm;
  ctx.line(`${M}.g(${layout.partners} + 64 * ${n})`);
  ctx.line(`${M}.f.set(${P}.subarray(0, ${n} * ${g.dim}), ${layout.positions / 8})`);
}

/**
 * Emits the call of the module for the sites [aBegin, aEnd) of a bin with `count` runs of `candidates` candidates
 * in all (after room for all of them): m, the next entry (a mutable), moves past their partners.
 *
 * @example
 * emitWasmBin(ctx, wasm, a0, a1, count, candidates, m);
 */
export function emitWasmBin(ctx: EmitContext, wasm: WasmListBuild, aBegin: string, aEnd: string, count: string, candidates: string, m: string): void {
  const { memory: M, layout } = wasm;
  const need = ctx.temp(`${layout.partners} + 4 * (${m} + ${candidates} * (${aEnd} - ${aBegin}) + 1)`);
  ctx.line(`if (${need} > ${M}.n) ${M}.g(${need})`);
  ctx.line(`${m} = ${wasm.sites}(${aBegin}, ${aEnd}, ${count}, ${m}, ${layout.first}, ${layout.partners})`);
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
