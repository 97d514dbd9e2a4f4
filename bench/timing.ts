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
