/**
 * Split elementwise passes in the JS lowering of a threaded runner (`ThreadSplit`, src/ir/ops/pair-threads.ts).
 * An elementwise loop over the state's length at the top level of a scope runs over this worker's range only,
 * writing arrays the runner allocates in shared memory; any other statement after it may read those arrays
 * anywhere, so a barrier is emitted before the first such statement (`pendingBarrier`). Split loops themselves
 * need none: they read other split arrays only at their own index, which this worker wrote.
 */
import type { EmitContext } from '../ir/op.js';
import { THREAD_BARRIER, THREAD_FROM, THREAD_TO, threadSplit, type ThreadSplit } from '../ir/ops/pair-threads.js';

/**
 * The split of an elementwise loop of n elements emitted at nesting `depth` of a lowering, or null (the loop runs
 * over all n elements).
 *
 * @example
 * const split = splitOfLoop(lowering, 96000, 0); // non-null in a split threaded runner of 32 000 particles in 3-d
 */
export function splitOfLoop(ctx: EmitContext, n: number, depth: number): ThreadSplit | null {
  if (ctx.target !== 'js' || depth !== 0) return null;
  const split = threadSplit(ctx);
  return split !== null && split.length === n ? split : null;
}

/**
 * The opening line of a split loop over `index` (this worker's range).
 *
 * @example
 * splitLoopOpen('vi3') // 'for (let vi3 = threadFrom; vi3 < threadTo; vi3++) {'
 */
export const splitLoopOpen = (index: string): string => `for (let ${index} = ${THREAD_FROM}; ${index} < ${THREAD_TO}; ${index}++) {`;

/**
 * The barrier statement due before a statement that may read split arrays anywhere (split loops wrote since the
 * last barrier), or null; the writes count as published from then on.
 *
 * @example
 * const barrier = pendingBarrier(lowering); if (barrier !== null) lines.push(barrier);
 */
export function pendingBarrier(ctx: EmitContext): string | null {
  const split = ctx.target === 'js' ? threadSplit(ctx) : null;
  if (split === null || !split.dirty) return null;
  split.dirty = false;
  return `${THREAD_BARRIER}();`;
}

/**
 * Whether split loops wrote since the last barrier; `restore` sets that state back (e.g. after lines captured
 * and dropped, which may have held the barrier).
 *
 * @example
 * const pending = splitPending(lowering); … ; restoreSplitPending(lowering, pending);
 */
export function splitPending(ctx: EmitContext): boolean {
  return ctx.target === 'js' && (threadSplit(ctx)?.dirty ?? false);
}

/** Sets back the pending state `splitPending` returned (only ever to pending: a conservative extra barrier). */
export function restoreSplitPending(ctx: EmitContext, pending: boolean): void {
  const split = pending ? threadSplit(ctx) : null;
  if (split !== null) split.dirty = true;
}
