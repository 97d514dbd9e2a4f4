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
 *
 * This file holds the pair loops over a list; its layout (bins, stencil, ghosts) is in pair-stencil.ts and its
 * build, rebuild test and refresh in pair-list-build.ts.
 */
import type { Expr } from '../expr.js';
import type { EmitContext } from '../op.js';
import { loopTo, type CellPair } from './pair-cells.js';
import type { EmittedPair, PairGeometry } from './pair-geometry.js';
import { emitFreshList } from './pair-list-build.js';
import type { NeighbourGrid, NeighbourList } from './pair-stencil.js';
import { emitWasmSlotSums, releaseSums } from './pair-wasm.js';

export { neighbourGrid, stencilRows, SKIN_FRACTION, type NeighbourGrid } from './pair-stencil.js';

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
  const { sums, site, n, release } = emitNeighbourSlotSums(ctx, g, q, grid, term);
  const { dim } = g;
  loopTo(ctx, n, (a) => {
    const i = ctx.temp(`${site}[${a}]`);
    for (let k = 0; k < dim; k++) ctx.line(`${out}[${i} * ${dim} + ${k}] = ${sums}[${a} * ${dim} + ${k}]`);
  });
  if (release !== '') ctx.line(release);
}

/**
 * Emits a per-site vector Σ_j term(i, j) with term(j, i) = −term(i, j) through the neighbour list as slot sums:
 * returns `sums` (code of an f64 array whose first n·dim elements hold slot a's vector at a·dim), `site` (code of
 * the Int32Array of each slot's site), `n` (code of the site count), `builds` (code of the list's build count) and
 * `release` (a statement the reader emits once it has read the sums: `releaseSums`; '' for the JS loop). The half loop adds in slot order (cell
 * order; ghosts after the sites): site a's own terms in two local sums (alternate entries: the two lanes of the
 * WebAssembly loop) written once after its partners, its partners' terms subtracted from their slots; then each
 * ghost slot's sum is added to its site's slot (in ghost order). Contiguous reads and writes, no site lookups in
 * the inner loop, and a deterministic order (per thread count). Where the body translates, the loop runs as
 * WebAssembly SIMD with the same sums bit for bit, this JS loop its fallback (pair-wasm.ts). Threaded: this
 * worker's slots only (the threaded runner exchanges the slot sums, pair-threads.ts).
 *
 * @example
 * const { sums, site, n } = emitNeighbourSlotSums(ctx, g, q, grid, (p) => p.d.map((dk) => `${w} * ${dk}`));
 */
export function emitNeighbourSlotSums(ctx: EmitContext, g: PairGeometry, q: Expr, grid: NeighbourGrid, term: (pair: EmittedPair) => string[]): { sums: string; site: string; n: string; builds: string; release: string } {
  const { list, n } = emitFreshList(ctx, g, q, grid);
  const { dim } = g;
  const slots = ctx.temp(`(${n} + ${list.state}[1]) * ${dim}`);
  // The JS loop, taken back: the WebAssembly loop replaces it where the body translates (pair-wasm.ts).
  let loop: JsSlotLoop | null = null;
  const js = ctx.captureLines(() => (loop = emitJsSlotSums(ctx, g, list, n, slots, term)));
  const { F, pair, body, terms } = loop!;
  let sums = emitWasmSlotSums(ctx, g, list, n, { body, terms, d: pair.d, r: pair.r, r2: pair.r2, loop: js });
  const release = sums === null ? '' : releaseSums(list, dim);
  if (sums === null) {
    const indent = Math.min(...js.map((l) => /^\s*/.exec(l)![0].length));
    for (const l of js) ctx.line(l.slice(indent), false);
    sums = F;
  }
  const [gs, S] = [ctx.temp(list.ghostSlot), ctx.temp(list.site)];
  loopTo(ctx, `${list.state}[1]`, (gh) => {
    const from = ctx.temp(`${gs}[${gh}]`);
    for (let k = 0; k < dim; k++) ctx.line(`${sums}[${from} * ${dim} + ${k}] += ${sums}[(${n} + ${gh}) * ${dim} + ${k}]`);
  });
  return { sums, site: S, n, builds: `${list.state}[2]`, release };
}

/** What the JS slot loop emitted: its sums array, one pair's names, the body's lines and terms. */
interface JsSlotLoop {
  F: string;
  pair: EmittedPair;
  body: string[];
  terms: string[];
}

/**
 * Emits the JS half loop of `emitNeighbourSlotSums` over this worker's slots into zeroed sums `F` (the first
 * `slots` elements of a growable array). Site a's own terms go to two local sums per component, swapped after
 * every entry (entries first[a], first[a] + 2, … into one, the others into the other), as the two lanes of the
 * WebAssembly loop do: the same sums, bit for bit.
 */
function emitJsSlotSums(ctx: EmitContext, g: PairGeometry, list: NeighbourList, n: string, slots: string, term: (pair: EmittedPair) => string[]): JsSlotLoop {
  const { dim } = g;
  const sums = ctx.shared(`neighbour sums ${g.n} ${g.dim} [${g.box!.join(',')}] ${g.cutoff}`, () => ctx.growableArray(0));
  ctx.line(`if (${sums}.length < ${slots}) ${sums} = new Float64Array(2 * ${slots})`, false);
  const F = ctx.temp(sums);
  ctx.line(`${F}.fill(0, 0, ${slots})`);
  let out: JsSlotLoop | null = null;
  emitSlotLoop(ctx, g, list, n, (a, i, xi) => {
    const { P, S, pairs } = listNames(ctx, list);
    const own = Array.from({ length: dim }, () => ctx.mutable('0'));
    const other = Array.from({ length: dim }, () => ctx.mutable('0'));
    const e = ctx.mutable(`${list.first}[${a}]`), eEnd = ctx.temp(`${list.first}[${a} + 1]`);
    ctx.line(`for (; ${e} < ${eEnd}; ${e}++) {`, false);
    const b = ctx.temp(`${pairs}[${e}]`);
    const xj = slotCoordinates(g, P, b);
    const d = xi.map((x, k) => ctx.temp(`${x} - ${xj[k]}`));
    const r2 = ctx.temp(d.map((x) => `${x} * ${x}`).join(' + '));
    ctx.line(`if (${r2} < ${ctx.literal(g.cutoff! * g.cutoff!)}) {`, false);
    const r = ctx.temp(`Math.sqrt(${r2})`);
    const pair: EmittedPair = { i, j: ctx.temp(`${S}[${b}]`), d, r, r2 };
    let terms: string[] = [];
    const body = ctx.captureLines(() => (terms = term(pair)));
    for (const l of body) ctx.line(l.trim(), false);
    out = { F, pair, body, terms };
    terms.forEach((t, k) => {
      const x = ctx.temp(t);
      ctx.line(`${own[k]} += ${x}`);
      ctx.line(`${F}[${b} * ${dim} + ${k}] -= ${x}`);
    });
    ctx.line('}', false);
    own.forEach((o, k) => {
      const t = ctx.temp(o);
      ctx.line(`${o} = ${other[k]}`);
      ctx.line(`${other[k]} = ${t}`);
    });
    ctx.line('}', false);
    own.forEach((o, k) => ctx.line(`${F}[${a} * ${dim} + ${k}] += ${o} + ${other[k]}`));
  });
  return out!;
}
