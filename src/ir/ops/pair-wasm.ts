/**
 * The WebAssembly SIMD pair loop of the neighbour-list forces (module: src/ir/wasm/pair-loop.ts) in the generated
 * JS: `emitNeighbourSlotSums` emits its JS loop, takes its lines back and hands them here; where the pair body is
 * straight-line f64 code the module translates, and this engine compiles the module, a call of the module is
 * emitted instead of the JS loop:
 *
 * - one WebAssembly memory per neighbour list and generated function (hoisted, so a worker thread evaluating the
 *   same source makes its own, `declarePairMemory`), whose start IS the list's slot coordinates (the list's
 *   `positions` array is a view of it: the build, the refresh and the ghost images write them there, the module
 *   reads them in place), followed by the slot sums and copies of the list (`first`, `partners`: after each
 *   build, found by the build count `state[2]`, two memcpys; the module's next call scales the partners to byte
 *   offsets in place);
 * - one instance per pair body, its bytes in the source (`instanceExports`), compiled synchronously when the
 *   generated function is made. The lowering compiles the module once first: where that fails (no WebAssembly SIMD; a
 *   browser's main thread refusing a synchronous compile) the JS loop is emitted, as for bodies the module does not
 *   translate (array reads, Math functions WebAssembly lacks such as exp, a site index): no error either way.
 *
 * The sums equal the JS loop's bit for bit (pair-loop.ts). Only one of the two loops is emitted, which keeps the
 * runner's source short (V8 optimises functions up to a source length). `wasmPairLoops.enabled = false`
 * (internal, for tests and benchmarks) makes later lowerings emit the JS loop.
 */
import type { EmitContext } from '../op.js';
import type { PairGeometry } from './pair-geometry.js';
import type { NeighbourList } from './pair-stencil.js';
import { parseLineExpr, parseStatements, type LineExpr } from '../wasm/straight-line.js';
import { PAIR_LOOP_UNROLL, pairLoopModule } from '../wasm/pair-loop.js';

/**
 * Internal switches of the WebAssembly pair loop, read when a function is lowered (not when it runs): `enabled`,
 * true by default, false emits the JS loop; `unroll`, entry pairs per pass of the module's inner loop (for
 * comparisons in tests and benchmarks). The CPU backend caches its runners per system: set them before the first
 * `compile` of a Hamiltonian (or compile a new one).
 *
 * @example
 * wasmPairLoops.enabled = false; const js = compileJs(inputs, outputs); wasmPairLoops.enabled = true;
 */
export const wasmPairLoops = { enabled: true, unroll: PAIR_LOOP_UNROLL };

/** What the JS pair loop emitted for one pair: the body's lines and terms, the names the body reads, every line. */
export interface EmittedPairBody {
  /** The lines `term` emitted for one pair, and the term of each component (codes). */
  body: readonly string[];
  terms: readonly string[];
  /** The names of d's components, r² and r in the body. */
  d: readonly string[];
  r2: string;
  r: string;
  /** Every line of the JS loop (to find the names it declares). */
  loop: readonly string[];
}

/**
 * Emits the slot sums of `list` through the WebAssembly pair loop when `pair`'s body translates and this engine
 * compiles it: returns the name of the sums (slot a's vector at a·dim, ghosts included), or null with nothing
 * emitted (the caller emits its JS loop).
 *
 * @example
 * const sums = emitWasmSlotSums(ctx, g, list, n, { body, terms, d, r, r2, loop }) ?? emitTheJsLoop();
 */
export function emitWasmSlotSums(ctx: EmitContext, g: PairGeometry, list: NeighbourList, n: string, pair: EmittedPairBody): string | null {
  const translated = wasmPairLoops.enabled && list.memory !== null ? translate(g, pair) : null;
  if (translated === null) return null;
  const M = list.memory!;
  const prepare = ctx.shared(`wasm pair memory ${list.first}`, () => declarePrepare(ctx, g, list, M));
  const base64 = toBase64(translated.bytes);
  const pairs = ctx.shared(`wasm pair loop ${list.first} ${base64}`, () => ctx.hoistedValue(`${instanceExports(translated.bytes, `${M}.m`)}.pairs`));
  const [aBegin, aEnd] = list.range === null ? ['0', n] : [`${list.range}[0]`, `${list.range}[1]`];
  const sums = ctx.temp(`${prepare}(${aEnd})`);
  // (The first call after a relayout scales the partners copied in: `z`, their end, then 0.)
  ctx.line(`${pairs}(${aBegin}, ${aEnd}, 0, ${M}.o, ${M}.a, ${M}.p, ${M}.s * ${8 * g.dim}, ${M}.z${translated.free.map((x) => `, ${x}`).join('')})`);
  ctx.line(`${M}.z = 0`);
  return sums;
}

/**
 * The statement a reader of the sums `emitWasmSlotSums` returned emits once it has read them: zeroes them (and the
 * dummy slot's) while they are still in cache, for the next evaluation. '' for a list without pair memory.
 *
 * @example
 * const release = releaseSums(list, g.dim); // after the exchange copy or the copy to the sites: if (release) ctx.line(release)
 */
export function releaseSums(list: NeighbourList, dim: number): string {
  const M = list.memory;
  return M === null ? '' : `${M}.f.fill(0, ${M}.o >> 3, (${M}.o >> 3) + (${M}.s + 1) * ${dim}); ${M}.d = 0`;
}

/**
 * Declares the WebAssembly memory of a neighbour list's pair loops, whose start holds the list's slot coordinates
 * `positions` (the name of its growable array, made a view of the whole memory by `g(bytes)`, which grows the
 * memory to at least `bytes`: V8 grows it in place, in the address space it reserved), or returns null where the
 * pair loop cannot run (switched off, not JS, no WebAssembly): `positions` stays a plain array. Its state: the
 * memory `m`, views `f` and `i`, the layout in bytes (`prepare`), the slot count `s` and the build count `b` of the
 * list copied, the end of the partners still to scale `z`.
 *
 * @example
 * list.memory = declarePairMemory(ctx, list.positions); // then grow positions with growPositions(list, need)
 */
export function declarePairMemory(ctx: EmitContext, positions: string): string | null {
  if (!wasmPairLoops.enabled || ctx.target !== 'js' || typeof WebAssembly !== 'object') return null;
  return ctx.hoistedValue(
    `{ m: new WebAssembly.Memory({ initial: 1 }), b: -1, s: -1, o: 0, a: 0, p: 0, z: 0, d: 1, g(need) { const m = this.m, l = m.buffer.byteLength; if (need > l) m.grow(Math.ceil((need - l) / 65536)); this.i = new Int32Array(m.buffer); this.f = ${positions} = new Float64Array(m.buffer); } }`,
  );
}

/**
 * Base64 of `bytes` (in chunks: a long module would overflow the arguments of one `fromCharCode` call).
 *
 * @example
 * toBase64(new Uint8Array([0, 97, 115, 109])) // 'AGFzbQ=='
 */
export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let k = 0; k < bytes.length; k += 4096) text += String.fromCharCode(...bytes.subarray(k, k + 4096));
  return btoa(text);
}

/**
 * The code of the exports of an instance of the module `bytes` over the memory `memory` (code), compiled
 * synchronously when the generated function is made. The bytes are written one character each, byte b as the
 * character U+0100 + b (Latin Extended letters: no escapes, no line breaks), 25 % shorter than base64 (the runner's
 * source length counts: V8 optimises functions up to a source length).
 *
 * @example
 * ctx.hoistedValue(`${instanceExports(bytes, `${M}.m`)}.pairs`)
 */
export function instanceExports(bytes: Uint8Array, memory: string): string {
  let text = '';
  for (let k = 0; k < bytes.length; k += 4096) text += String.fromCharCode(...Array.from(bytes.subarray(k, k + 4096), (b) => 0x100 + b));
  return `new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from('${text}', (c) => c.charCodeAt(0) - 256)), { env: { mem: ${memory} } }).exports`;
}

/** Modules this engine compiled (true) or refused (false), by their bytes (base64). */
const compiles = new Map<string, boolean>();

/**
 * Whether this engine compiles and instantiates `bytes` (a module importing `env.mem`) synchronously (SIMD, size
 * limits), asked once per module.
 *
 * @example
 * engineCompiles(bytes) ? emitTheWasmCall() : emitTheJsLoop()
 */
export function engineCompiles(bytes: Uint8Array<ArrayBuffer>): boolean {
  const key = toBase64(bytes);
  let ok = compiles.get(key);
  if (ok === undefined) {
    try {
      new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: new WebAssembly.Memory({ initial: 1 }) } });
      ok = true;
    } catch {
      ok = false;
    }
    if (compiles.size >= 256) compiles.delete(compiles.keys().next().value!);
    compiles.set(key, ok);
  }
  return ok;
}

/** The module of the loop's body, or null when it does not translate, reads a value of the loop (a site index) or does not compile here. */
function translate(g: PairGeometry, pair: EmittedPairBody): { bytes: Uint8Array<ArrayBuffer>; free: string[] } | null {
  const statements = parseStatements(pair.body, { elementReads: true });
  if ('reason' in statements) return null;
  const terms: LineExpr[] = [];
  for (const t of pair.terms) {
    const e = parseLineExpr(t, { elementReads: true });
    if ('reason' in e) return null;
    terms.push(e);
  }
  const m = pairLoopModule({ dim: g.dim, cutoff2: g.cutoff! * g.cutoff!, d: pair.d, r2: pair.r2, r: pair.r, statements, terms, unroll: wasmPairLoops.unroll });
  if ('reason' in m) return null;
  // A free name must be a value from outside the loop (a parameter): not one the loop declares (i, j, …).
  const declared = new Set<string>();
  for (const l of pair.loop) for (const x of l.matchAll(/\b(?:const|let)\s+([A-Za-z_$][\w$]*)/g)) declared.add(x[1]!);
  if (m.free.some((name) => declared.has(name.split('[')[0]!))) return null;
  return engineCompiles(m.bytes) ? m : null;
}

/**
 * Declares `prepare(aEnd)` of a list's pair memory `M` (`declarePairMemory`), whose slot coordinates the refresh
 * has just written: after a build, lays out the sums at `o` (after the coordinates and the dummy slot s, placed
 * far from every other), `first` at `a` and the partners at `p`, copied; returns the sums (a view of s·dim
 * elements), zeroed — by their last reader (`releaseSums`), or here when the layout moved or no reader released
 * them (`d`, set while sums are in use).
 */
function declarePrepare(ctx: EmitContext, g: PairGeometry, list: NeighbourList, M: string): string {
  const { dim } = g;
  // Far from every slot (ghosts lie within cutoff + skin of the box): the dummy's pairs are past the cutoff.
  const far = ctx.literal(4 * (Math.max(...g.box!) + g.cutoff!));
  return ctx.hoistedFunction(['aEnd'], (inner) => {
    inner.line(`const n = ${list.sorted}.length, s = n + ${list.state}[1]`);
    inner.line(`if (${M}.b !== ${list.state}[2] || ${M}.s !== s) {`, false);
    inner.line(`const m = ${list.first}[aEnd]; ${M}.s = s; ${M}.b = ${list.state}[2]; ${M}.o = (s + 1) * ${8 * dim}; ${M}.a = 2 * ${M}.o; ${M}.p = ${M}.a + 8 * Math.ceil((n + 1) / 2)`);
    // (A grown memory makes positions a new view: the caller reads them no more.) The module reads one entry past
    // the last and scales (×8·dim, to byte offsets) up to 3 past it.
    inner.line(`${M}.g(${M}.p + 4 * (m + 4)); ${M}.i.set(${list.first}.subarray(0, n + 1), ${M}.a >> 2); ${M}.f.fill(${far}, s * ${dim}, (s + 1) * ${dim})`);
    inner.line(`${M}.i.set(${list.partners}.subarray(0, m), ${M}.p >> 2); ${M}.z = ${M}.p + 4 * m; ${M}.d = 1`);
    inner.line('}', false);
    inner.line(`const f = ${M}.f, o = ${M}.o >> 3`);
    // Zeroed by the last reader (`releaseSums`, while they were in cache), unless the layout moved or it did not run.
    inner.line(`if (${M}.d) f.fill(0, o, o + (s + 1) * ${dim})`);
    inner.line(`${M}.d = 1`);
    inner.line(`return f.subarray(o, o + s * ${dim})`);
  });
}
