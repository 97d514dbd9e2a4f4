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
  /** Written arrays whose element i is also held by a local of the body (read instead by appended statements). */
  readonly locals: Map<string, string>;
}

/**
 * The loop just emitted (its closing brace the last of `lines`) as an open loop, writing `writes` (fresh), with
 * `locals` (array → local holding its element i).
 *
 * @example
 * lowering.openLoop = openedLoop(n, 'vi3', lowering.lines, 3, 'va2', new Map([['va2', 'vt4']]));
 */
export function openedLoop(n: number, index: string, lines: readonly string[], indent: number, writes: string | undefined, locals: Map<string, string>): OpenLoop {
  return { n, index, end: lines.length, close: lines[lines.length - 1]!, indent, writes: new Set(writes === undefined ? [] : [writes]), locals };
}

/**
 * Whether statements for n elements at indentation `indent` can be appended to `open`: nothing was emitted after
 * it (its closing brace still ends `lines`), the same trip count and indentation, fusion enabled.
 *
 * @example
 * if (canAppend(open, n, indent, lines)) { ... }
 */
export function canAppend(open: OpenLoop | null, n: number, indent: number, lines: readonly string[]): open is OpenLoop {
  return open !== null && LOOP_FUSION.enabled && open.n === n && open.indent === indent && lines.length === open.end && lines[open.end - 1] === open.close;
}

/**
 * Completes an append to `open` after its statements were emitted at the end of `lines` (`inserted` lines were
 * inserted before them meanwhile: then, or when they read what the loop writes at another index, they are removed
 * and false returned). Otherwise the loop's closing brace moves after them, their reads of arrays the loop holds in
 * locals read the locals, and the loop now also writes `writes` (its element i in `locals`).
 *
 * @example
 * const fused = appendedToLoop(open, lowering.lines, 0, 'va7', new Map([['va7', 'vt8']]));
 */
export function appendedToLoop(open: OpenLoop, lines: string[], inserted: number, writes: string | undefined, locals: ReadonlyMap<string, string>): boolean {
  const start = open.end;
  if (inserted > 0 || !readsOnlyAtIndex(lines.slice(start + inserted), open.writes, open.index)) {
    lines.length = start + inserted;
    return false;
  }
  for (let k = start; k < lines.length; k++) {
    for (const [name, local] of open.locals) lines[k] = lines[k]!.replace(new RegExp(`\\b${name}\\[${open.index}\\]`, 'g'), local);
  }
  lines.push(...lines.splice(start - 1, 1)); // the closing brace after the appended statements
  if (writes !== undefined) open.writes.add(writes);
  for (const [name, local] of locals) open.locals.set(name, local);
  open.end = lines.length;
  return true;
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
