/**
 * The WebAssembly SIMD pair loop of the neighbour-list forces (module: src/ir/wasm/pair-loop.ts) in the generated
 * JS: `emitNeighbourSlotSums` emits its JS loop as before, hands its lines here, and when the pair body is
 * straight-line f64 code the module translates, the JS loop becomes the fallback of a call of the module:
 *
 * - one WebAssembly memory per neighbour list and generated function (hoisted, so a worker thread evaluating the
 *   same source makes its own), holding copies of the slot coordinates (every evaluation, one memcpy), of the
 *   list (`first`, `partners`: after each build, found by the build count `state[2]`) and the slot sums;
 * - one instance per pair body, compiled synchronously when the generated function is made; where that fails
 *   (no WebAssembly SIMD; a browser's main thread refusing synchronous compiles) the JS loop runs.
 *
 * The sums equal the JS loop's bit for bit (pair-loop.ts). Bodies the module does not translate (array reads,
 * Math functions WebAssembly lacks such as exp, a site index) keep the JS loop alone, without an error.
 * `wasmPairLoops.enabled = false` (internal, for tests and benchmarks) makes later lowerings emit the JS loop alone.
 */
import type { EmitContext } from '../op.js';
import type { PairGeometry } from './pair-geometry.js';
import type { NeighbourList } from './pair-stencil.js';
import { parseLineExpr, parseStatements, type LineExpr } from '../wasm/straight-line.js';
import { pairLoopModule } from '../wasm/pair-loop.js';

/**
 * Internal switch of the WebAssembly pair loop, read when a function is lowered (not when it runs): true by
 * default; false emits the JS loop alone (for comparisons in tests and benchmarks).
 *
 * @example
 * wasmPairLoops.enabled = false; const js = compileJs(inputs, outputs); wasmPairLoops.enabled = true;
 */
export const wasmPairLoops = { enabled: true };

/** What the JS pair loop emitted: its lines, the pair body's lines and terms, and the names the body reads. */
export interface EmittedPairLoop {
  /** Every line of the JS loop (the slot sums zeroed, the loop over slots), as emitted. */
  js: readonly string[];
  /** The lines `term` emitted for one pair, and the term of each component (codes). */
  body: readonly string[];
  terms: readonly string[];
  /** The names of d's components, r² and r in the body. */
  d: readonly string[];
  r2: string;
  r: string;
}

/**
 * Emits the slot sums of `list` into the mutable `F` (code of an f64 array, slot a's vector at a·dim): through the
 * WebAssembly pair loop when the body translates (with `loop.js`, emitted again, as the fallback), else
 * `loop.js` alone. Returns whether the WebAssembly loop was emitted.
 *
 * @example
 * const lines = ctx.captureLines(() => …JS loop…); emitPairLoopOrWasm(ctx, g, list, n, F, { js: lines, … });
 */
export function emitPairLoopOrWasm(ctx: EmitContext, g: PairGeometry, list: NeighbourList, n: string, F: string, loop: EmittedPairLoop): boolean {
  const translated = wasmPairLoops.enabled && ctx.target === 'js' ? translate(g, loop) : null;
  if (translated === null) {
    reemit(ctx, loop.js);
    return false;
  }
  const memory = ctx.shared(`wasm pair memory ${list.first}`, () => declareMemory(ctx, g, list));
  const pairs = ctx.shared(`wasm pair loop ${list.first} ${Array.from(translated.bytes).join(',')}`, () => {
    const bytes = ctx.constantArray(Array.from(translated.bytes));
    return ctx.hoistedValue(`${memory.state} === null ? null : (() => { try { return new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(${bytes})), { env: { mem: ${memory.state}.memory } }).exports.pairs; } catch (e) { return null; } })()`);
  });
  const [aBegin, aEnd] = list.range === null ? ['0', n] : [`${list.range}[0]`, `${list.range}[1]`];
  const M = memory.state;
  ctx.line(`if (${pairs} !== null && (${F} = ${memory.prepare}(${aEnd})) !== null) {`, false);
  ctx.line(`${pairs}(${aBegin}, ${aEnd}, 0, ${M}.forces, ${M}.first, ${M}.partners, ${M}.slots${translated.free.map((x) => `, ${x}`).join('')})`);
  ctx.line('} else {', false);
  reemit(ctx, loop.js);
  ctx.line('}', false);
  return true;
}

/** Emits captured lines again at the current position (their indentation relative to the first kept). */
function reemit(ctx: EmitContext, lines: readonly string[]): void {
  const indent = Math.min(...lines.map((l) => /^\s*/.exec(l)![0].length));
  for (const l of lines) ctx.line(l.slice(indent), false);
}

/** The module of the loop's body, or null when it does not translate or reads a value of the loop (a site index). */
function translate(g: PairGeometry, loop: EmittedPairLoop): { bytes: Uint8Array<ArrayBuffer>; free: string[] } | null {
  const statements = parseStatements(loop.body, { elementReads: true });
  if ('reason' in statements) return null;
  const terms: LineExpr[] = [];
  for (const t of loop.terms) {
    const e = parseLineExpr(t, { elementReads: true });
    if ('reason' in e) return null;
    terms.push(e);
  }
  const m = pairLoopModule({ dim: g.dim, cutoff2: g.cutoff! * g.cutoff!, d: loop.d, r2: loop.r2, r: loop.r, statements, terms });
  if ('reason' in m) return null;
  // A free name must be a value from outside the loop (a parameter): not one the loop declares (i, j, …).
  const declared = new Set<string>();
  for (const l of loop.js) for (const x of l.matchAll(/\b(?:const|let)\s+([A-Za-z_$][\w$]*)/g)) declared.add(x[1]!);
  return m.free.some((name) => declared.has(name.split('[')[0]!)) ? null : m;
}

/**
 * Declares the WebAssembly memory of a list (`state`: null where WebAssembly is missing; else the memory, views,
 * the layout in bytes and the build count of the list copied) and its `prepare(aEnd)`: copies the list after a
 * build and the coordinates every time, places the dummy slot, zeroes the sums and returns them (a view), or
 * null when the memory cannot grow to hold them (the JS loop runs instead).
 */
function declareMemory(ctx: EmitContext, g: PairGeometry, list: NeighbourList): { state: string; prepare: string } {
  const state = ctx.hoistedValue(`(() => { try { const memory = new WebAssembly.Memory({ initial: 1 }); return { memory, f64: new Float64Array(memory.buffer), i32: new Int32Array(memory.buffer), builds: -1, slots: 0, forces: 0, first: 0, partners: 0 }; } catch (e) { return null; } })()`);
  const { dim } = g;
  // Far from every slot (ghosts lie within cutoff + skin of the box): the dummy's pairs are past the cutoff.
  const far = ctx.literal(4 * (Math.max(...g.box!) + g.cutoff!));
  const prepare = ctx.hoistedFunction(['aEnd'], (inner) => {
    const M = state;
    inner.line(`const n = ${list.sorted}.length, slots = n + ${list.state}[1]`);
    inner.line(`if (${M}.builds !== ${list.state}[2] || ${M}.slots !== slots) {`, false);
    inner.line(`const m = ${list.first}[aEnd]`);
    inner.line(`${M}.slots = slots`);
    inner.line(`${M}.forces = (slots + 1) * ${8 * dim}`);
    inner.line(`${M}.first = 2 * ${M}.forces`);
    inner.line(`${M}.partners = ${M}.first + 8 * Math.ceil((n + 1) / 2)`);
    inner.line(`const bytes = ${M}.partners + 4 * (m + 2)`);
    inner.line(`if (bytes > ${M}.memory.buffer.byteLength) {`, false);
    // A memory that cannot grow (past the engine's limit) leaves this evaluation to the JS loop.
    inner.line(`try { ${M}.memory.grow(Math.ceil((bytes - ${M}.memory.buffer.byteLength) / 65536)); } catch (e) { ${M}.builds = -1; return null; }`, false);
    inner.line(`${M}.f64 = new Float64Array(${M}.memory.buffer)`);
    inner.line(`${M}.i32 = new Int32Array(${M}.memory.buffer)`);
    inner.line('}', false);
    inner.line(`${M}.i32.set(${list.first}.subarray(0, n + 1), ${M}.first >> 2)`);
    inner.line(`${M}.i32.set(${list.partners}.subarray(0, m), ${M}.partners >> 2)`);
    inner.line(`${M}.i32[(${M}.partners >> 2) + m] = slots`);
    inner.line(`${M}.builds = ${list.state}[2]`);
    inner.line('}', false);
    inner.line(`const f64 = ${M}.f64, F = ${M}.forces >> 3`);
    inner.line(`f64.set(${list.positions}.subarray(0, slots * ${dim}), 0)`);
    for (let k = 0; k < dim; k++) inner.line(`f64[slots * ${dim} + ${k}] = ${far}`);
    inner.line(`f64.fill(0, F, F + (slots + 1) * ${dim})`);
    inner.line(`return f64.subarray(F, F + slots * ${dim})`);
  });
  return { state, prepare };
}
