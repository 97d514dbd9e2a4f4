/**
 * Threaded emission of the JS pair loops (SPMD): T workers run the same generated runner, and the pair loops are
 * split. Worker `threadIndex` visits the pairs of its own range
 * of sites (the sites of a contiguous range of cells of the neighbour list, balanced by site count), adds their
 * terms into its own slice of a shared buffer, meets the others at a barrier, and every worker then sums the T
 * slices in thread order into its private result. Every worker therefore holds the same values bit for bit, and a
 * run is reproducible for a given T; the result depends on T only through the order of the sums. Without split
 * passes (below) the rest of the step runs redundantly in every worker, on its private copy of the state; the
 * list's bookkeeping (binning, slot refresh, ghost images) always does. A neighbour-list build lists the partners of the worker's own bins only
 * (pair-list-build.ts). Shared buffers alternate between two halves on successive evaluations, so one barrier
 * per evaluation suffices (a worker cannot overwrite a half that another is still reading: it would have to pass
 * the next evaluation's barrier first). Neighbour-list forces are exchanged as slot sums (cell order), permuted to
 * the sites while the slices are summed (`emitThreadedSlotSums`).
 *
 * The generated code reads three free names that the threaded runner defines before the hoisted declarations:
 * `threadIndex` (0 … T−1), `threadBarrier()` and the shared arrays `threadShared<k>` (Float64Array views of
 * shared memory, `shared[k].length` elements). A lowering is threaded when `enablePairThreads` was called on it
 * before anything was lowered; otherwise every emitter emits exactly its single-thread code.
 *
 * Split passes (`enableThreadSplit`; src/codegen/thread-split.ts, src/backends/cpu/thread-split-source.ts): the
 * elementwise passes over the state (kicks, drifts, the finiteness sum) are split
 * too — each worker runs them over its own range of sites of arrays in shared memory — and each worker sums the
 * exchanged slot sums of its own sites only (`emitThreadedSlotSums`).
 */
import type { EmitContext } from '../op.js';

/** The threading of one generated runner: the thread count and the shared arrays its pair loops need. */
export interface PairThreads {
  readonly count: number;
  /** Shared f64 arrays the runner must provide, by name (`threadShared<k>`) and length. */
  readonly shared: { name: string; length: number }[];
  /** The split elementwise passes (thread-split.ts), or null: every worker runs them over the whole state. */
  split: ThreadSplit | null;
}

/**
 * Split elementwise passes of a threaded runner: elementwise loops of `length` elements at the top level of the
 * step run over this worker's range [threadFrom, threadTo) (whole sites of `width` elements), writing arrays in
 * shared memory (`writes`); a barrier precedes the next statement that may read those arrays elsewhere (`dirty`).
 */
export interface ThreadSplit {
  readonly length: number;
  readonly width: number;
  /** Arrays written by split loops: the runner allocates them in shared memory. */
  readonly writes: Set<string>;
  /** Whether split loops wrote since the last barrier. */
  dirty: boolean;
}

/** Free names of this worker's element range in split threaded code (set by the runner's preamble). */
export const THREAD_FROM = 'threadFrom';
export const THREAD_TO = 'threadTo';
/** Free name of the cross-worker sum of a number in split threaded code (a barrier; the runner's preamble). */
export const THREAD_SUM = 'threadSum';

const THREADS_KEY = 'pair threads';

/** The free name of the worker's index in threaded generated code. */
export const THREAD_INDEX = 'threadIndex';
/** The free name of the barrier function in threaded generated code. */
export const THREAD_BARRIER = 'threadBarrier';

/**
 * Makes a JS lowering threaded over `count` workers (call before lowering anything); returns the record the
 * emitters fill with the shared arrays they need.
 *
 * @example
 * const threads = enablePairThreads(lowering, 2); // … lower … then provide threads.shared
 */
export function enablePairThreads(ctx: EmitContext, count: number): PairThreads {
  const threads: PairThreads = { count, shared: [], split: null };
  return ctx.shared<PairThreads | null>(THREADS_KEY, () => threads)!;
}

/**
 * Splits the elementwise passes of `length` elements (the state) of a threaded lowering over its workers, by
 * whole sites of `width` elements (call right after `enablePairThreads`).
 *
 * @example
 * enableThreadSplit(enablePairThreads(lowering, 2), 96000, 3);
 */
export function enableThreadSplit(threads: PairThreads, length: number, width: number): ThreadSplit {
  threads.split = { length, width, writes: new Set(), dirty: false };
  return threads.split;
}

/**
 * The split passes of the lowering `ctx` emits into, or null.
 *
 * @example
 * const split = threadSplit(ctx); if (split !== null && n === split.length) …
 */
export function threadSplit(ctx: EmitContext): ThreadSplit | null {
  return pairThreads(ctx)?.split ?? null;
}

/** Emits a barrier (which also ends any pending split writes: see ThreadSplit.dirty). */
function emitBarrier(ctx: EmitContext, threads: PairThreads): void {
  if (threads.split !== null) threads.split.dirty = false;
  ctx.line(`${THREAD_BARRIER}()`);
}

/**
 * The threading of the lowering `ctx` emits into, or null (single-threaded: the default).
 *
 * @example
 * const threads = pairThreads(ctx); if (threads) …
 */
export function pairThreads(ctx: EmitContext): PairThreads | null {
  if (ctx.target !== 'js') return null;
  return ctx.shared<PairThreads | null>(THREADS_KEY, () => null);
}

/** Registers a shared f64 array of `length` elements; returns its name. */
function sharedArray(threads: PairThreads, length: number): string {
  const name = `threadShared${threads.shared.length}`;
  threads.shared.push({ name, length });
  return name;
}

/**
 * A double-buffered shared array of T slices of `length` elements each, for one emission site: returns code of
 * this evaluation's own slice offset (`mine`) and of the first slice (`base`), flipping halves per evaluation.
 */
function exchangeBuffer(ctx: EmitContext, threads: PairThreads, length: number): { buffer: string; mine: string; base: string } {
  const T = threads.count;
  const buffer = sharedArray(threads, 2 * T * length);
  const half = ctx.intArray(1); // private: which half this evaluation uses
  const base = ctx.temp(`${half}[0] * ${T * length}`);
  const mine = ctx.temp(`${base} + ${THREAD_INDEX} * ${length}`);
  ctx.line(`${half}[0] ^= 1`);
  return { buffer, mine, base };
}

/** Code summing element `k` (code) of the T slices of `buffer` from `base`, in thread order. */
const sumOfSlices = (threads: PairThreads, buffer: string, base: string, length: number, k: string) =>
  Array.from({ length: threads.count }, (_, t) => `${buffer}[${base} + ${t * length} + ${k}]`).join(' + ');

/**
 * Emits a threaded per-site vector of `length` elements into the private array `out`: `accumulate(target)`
 * emits this worker's pair loop adding into `target(index)` (code of an element of its shared slice, zeroed
 * first), then the barrier and the sum of the slices. Returns nothing: `out` holds the result in every worker.
 *
 * @example
 * emitThreadedVector(ctx, threads, out, n * dim, (at) => emitPairLoop(ctx, g, q, (p) => ctx.line(`${at(p.i)} += …`)));
 */
export function emitThreadedVector(ctx: EmitContext, threads: PairThreads, out: string, length: number, accumulate: (target: (index: string) => string) => void): void {
  emitThreadedArray(ctx, threads, out, length, (own) => {
    ctx.loop(length, (i) => ctx.line(`${own}[${i}] = 0`));
    accumulate((index) => `${own}[${index}]`);
  });
}

/**
 * Emits a threaded per-site vector of `length` elements into the private array `out`: `fill(own)` emits code
 * setting every element of the private array `own` to this worker's part; then the barrier and the sum of the
 * parts in thread order. `out` holds the result in every worker.
 *
 * @example
 * emitThreadedArray(ctx, threads, out, n * dim, (own) => emitNeighbourSiteVector(ctx, g, q, grid, own, term));
 */
export function emitThreadedArray(ctx: EmitContext, threads: PairThreads, out: string, length: number, fill: (own: string) => void): void {
  // The pair loop writes private memory (random read-modify-writes of shared memory are markedly slower in
  // V8), copied into the shared slice once.
  const own = ctx.array(length);
  fill(own);
  const { buffer, mine, base } = exchangeBuffer(ctx, threads, length);
  ctx.line(`${buffer}.set(${own}, ${mine})`);
  emitBarrier(ctx, threads);
  ctx.loop(length, (i) => ctx.line(`${out}[${i}] = ${sumOfSlices(threads, buffer, base, length, i)}`));
}

/**
 * Emits the cross-worker sum of per-worker partial sums: `partials` are mutable scalars (or, with `array`, the
 * elements 0 … length−1 of a private array) holding this worker's part; afterwards each holds the total, summed
 * in thread order.
 *
 * @example
 * emitThreadSum(ctx, threads, { scalars: [acc] });
 */
export function emitThreadSum(ctx: EmitContext, threads: PairThreads, partials: { scalars: readonly string[] } | { array: string; length: number }): void {
  const length = 'scalars' in partials ? partials.scalars.length : partials.length;
  const { buffer, mine, base } = exchangeBuffer(ctx, threads, length);
  const element = (k: number | string) => ('scalars' in partials ? partials.scalars[k as number]! : `${partials.array}[${k}]`);
  const each = (body: (k: number | string) => void) => ('scalars' in partials ? partials.scalars.forEach((_, k) => body(k)) : ctx.loop(length, body));
  each((k) => ctx.line(`${buffer}[${mine} + ${k}] = ${element(k)}`));
  emitBarrier(ctx, threads);
  each((k) => ctx.line(`${element(k)} = ${sumOfSlices(threads, buffer, base, length, String(k))}`));
}

/**
 * Emits the cross-worker sum of per-worker slot sums of a neighbour list into the per-site array `out`
 * (n·dim elements, `length`): this worker's first `length` elements of `sums` (slot a's vector at a·dim) are copied
 * into its shared slice as they are, and after the barrier each site's vector is the sum of the T slices at its
 * slot, in thread order, written to the site `site[a]`. The same values as summing site-ordered parts (one
 * scatter per worker fewer: the permutation is applied once, while reducing). With split passes over n·dim
 * elements, each worker sums only the sites of its own range, gathering them through the inverse of `site`
 * (refreshed when the list was rebuilt: `builds` is code of the list's build count), into shared `out`.
 * `release` (a statement, or ''): emitted once `sums` are read (`releaseSums`).
 *
 * @example
 * const { sums, site, builds, release } = emitNeighbourSlotSums(ctx, g, q, grid, term);
 * emitThreadedSlotSums(ctx, threads, out, g.n, g.dim, sums, site, builds, release);
 */
export function emitThreadedSlotSums(ctx: EmitContext, threads: PairThreads, out: string, n: number, dim: number, sums: string, site: string, builds: string, release = ''): void {
  const length = n * dim;
  const { buffer, mine, base } = exchangeBuffer(ctx, threads, length);
  ctx.line(`${buffer}.set(${sums}.subarray(0, ${length}), ${mine})`);
  if (release !== '') ctx.line(release); // the sums, read: zeroed for the next evaluation while in cache
  emitBarrier(ctx, threads);
  const split = threads.split;
  if (split !== null && split.length === length && split.width === dim) {
    const slotOf = ctx.intArray(n), stamp = ctx.intArray(1);
    ctx.line(`if (${stamp}[0] !== ${builds} + 1) { ${stamp}[0] = ${builds} + 1; for (let a = 0; a < ${n}; a++) ${slotOf}[${site}[a]] = a; }`, false);
    const i = ctx.mutable(`${THREAD_FROM} / ${dim}`);
    ctx.line(`for (; ${i} < ${THREAD_TO} / ${dim}; ${i}++) {`, false);
    const at = ctx.temp(`${slotOf}[${i}] * ${dim}`);
    for (let k = 0; k < dim; k++) ctx.line(`${out}[${i} * ${dim} + ${k}] = ${sumOfSlices(threads, buffer, base, length, `${at} + ${k}`)}`);
    ctx.line('}', false);
    split.writes.add(out);
    split.dirty = true;
    return;
  }
  ctx.loop(n, (a) => {
    const i = ctx.temp(`${site}[${a}] * ${dim}`);
    const at = ctx.temp(`${a} * ${dim}`);
    for (let k = 0; k < dim; k++) ctx.line(`${out}[${i} + ${k}] = ${sumOfSlices(threads, buffer, base, length, `${at} + ${k}`)}`);
  });
}
