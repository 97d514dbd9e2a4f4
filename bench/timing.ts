/** Timing helpers shared by the benches (not tests). */

/**
 * The fastest of `repeats` runs of `f`, in seconds.
 *
 * @example
 * const seconds = await bestSeconds(() => st.run({ q0, p0, steps: 1000 }), 3);
 */
export async function bestSeconds(f: () => Promise<unknown>, repeats = 3): Promise<number> {
  let t = Infinity;
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await f();
    t = Math.min(t, (performance.now() - start) / 1000);
  }
  return t;
}

/**
 * The median of `xs` (the upper middle for an even count).
 *
 * @example
 * median([3, 1, 2]); // 2
 */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/**
 * The median wall time of `repeats` runs of `f`, in seconds (after `warmup` untimed runs).
 *
 * @example
 * const seconds = await medianSeconds(() => st.run({ q0, p0, steps: 1000 }), 5);
 */
export async function medianSeconds(f: () => Promise<unknown>, repeats = 5, warmup = 0): Promise<number> {
  for (let w = 0; w < warmup; w++) await f();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await f();
    times.push((performance.now() - start) / 1000);
  }
  return median(times);
}
