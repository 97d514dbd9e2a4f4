/**
 * Fusion of consecutive elementwise loops in JS (vertical fusion across readers): a tensor stored because several
 * readers need it (leapfrog's half-kicked momentum feeds both the drift and the closing kick) still ends a loop
 * over its n elements; the next elementwise loop over the same n is appended to that loop's body instead of
 * opening a loop of its own, so a chain of stored elementwise values, and statements a runner adds per element
 * (the finiteness sum of the new state), cost one pass over memory. Per element the same operations run in the
 * same order, so results are bit-identical; only the interleaving across elements changes, which is legal when
 * the appended statements read what the loop writes only at the loop's own index (`readsOnlyAtIndex`).
 */

/**
 * Whether lowerings fuse loops (default true). Only for tests and measurements, which compare a fused runner with
 * an unfused one (bit for bit): set it before generating a runner, restore it after.
 *
 * @example
 * LOOP_FUSION.enabled = false; const unfused = compileJsRunner(program); LOOP_FUSION.enabled = true;
 */
export const LOOP_FUSION = { enabled: true };

/** The last elementwise loop a lowering emitted, still open for statements over the same index. */
export interface OpenLoop {
  /** Trip count. */
  readonly n: number;
  /** The loop's index variable. */
  readonly index: string;
  /** The lowering's `lines.length` right after the loop's closing brace, and that brace's line. */
  end: number;
  readonly close: string;
  /** Indentation (base and nesting) the loop was emitted at. */
  readonly indent: number;
  /** The arrays the loop's body writes (each at the loop index only). */
  readonly writes: Set<string>;
}

/**
 * Whether statements appended to a loop over `index` that writes `written` (each at `index`) keep every element's
 * result: each written array is mentioned only as `name[index]` (no other element, no view or call taking the
 * whole array), so the appended statements read, for element i, only what the loop computed for element i.
 *
 * @example
 * readsOnlyAtIndex(['a3[i1] = (a2[i1] * 2);'], ['a2'], 'i1'); // true
 * readsOnlyAtIndex(['a3[i1] = a2[i1 + 1];'], ['a2'], 'i1');   // false
 */
export function readsOnlyAtIndex(lines: readonly string[], written: Iterable<string>, index: string): boolean {
  for (const name of written) {
    const mention = new RegExp(`\\b${name}\\b(\\[[^\\]]*\\])?`, 'g');
    for (const line of lines) for (const m of line.matchAll(mention)) if (m[1] !== `[${index}]`) return false;
  }
  return true;
}
