/**
 * Timing for `darboux bench`: warm-up runs, then the median (and range) of timed runs. The same idea as the
 * repository's bench/timing.ts, kept here because the library's sources do not import the benches.
 */

/** The timed runs of one measurement, in seconds. */
export interface Timing {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

/** Options of {@link timeRuns}. */
export interface TimingOptions {
  /** Timed runs (default 5). */
  repeats?: number;
  /** Untimed runs first: compilation, JIT, pipeline creation (default 1). */
  warmup?: number;
  /** The clock in milliseconds (default performance.now). */
  now?: () => number;
}

/**
 * Runs `f` `warmup` times untimed, then `repeats` times timed; returns the median, min, max and every sample.
 *
 * @example
 * const { median } = await timeRuns(() => st.run({ q0, p0, batch, steps }), { repeats: 5 });
 * console.log(`${(steps / median).toFixed(0)} steps/s`);
 */
export async function timeRuns(f: () => Promise<unknown>, options: TimingOptions = {}): Promise<Timing> {
  const { repeats = 5, warmup = 1, now = () => performance.now() } = options;
  for (let i = 0; i < warmup; i++) await f();
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = now();
    await f();
    samples.push((now() - start) / 1000);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples };
}
