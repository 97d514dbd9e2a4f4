/**
 * `record` together with `section` / `saveAt` on the GPU: the section kernel already writes the state at a list of
 * step counts (its save branch), so the recorded steps k, 2k, … ⌊steps/k⌋·k join the saved steps in one sorted
 * list, the run saves them all, and the host then splits the saved states back into `result.saved` (the steps the
 * caller asked to save) and `result.record` (with `recordInitial`, q0 and p0 rounded to f32 first, as a plain GPU
 * record). A step both saved and recorded is written once and copied to both.
 */
import { recordArrays } from '../record-arrays.js';
import { savedArrays, type RunExtras } from '../sections.js';
import type { RunResult } from '../stepper.js';

/** What a run with `record` and section / saved steps needs to split its saved states. */
export interface SectionRecordPlan {
  /** The run's extras with the recorded steps among the saved ones (their `saved` holds every saved step). */
  extras: RunExtras;
  /** Finishes `result`: `saved` for the caller's steps and `record` for the recorded ones. */
  split(result: RunResult): void;
}

/**
 * Merges `record` (every `every` steps of `steps`) into the saved steps of `extras`.
 *
 * @example
 * const plan = sectionRecordPlan(extras, { q0, p0, batch, dof, dt, t0, steps, every: 10, initial: false });
 * const result = await run(plan.extras); plan.split(result); // result.record, result.saved
 */
export function sectionRecordPlan(
  extras: RunExtras,
  r: { q0: ArrayLike<number>; p0: ArrayLike<number>; batch: number; dof: number; dt: number; t0: number; steps: number; every: number; initial: boolean },
): SectionRecordPlan {
  const recordCount = Math.floor(r.steps / r.every);
  const recorded = Int32Array.from({ length: recordCount }, (_, k) => (k + 1) * r.every);
  const merged = Int32Array.from(new Set([...extras.saveSteps, ...recorded])).sort();
  const all = savedArrays(merged, r.q0, r.p0, r.batch, r.dof, r.dt, r.t0);
  const slot = new Map<number, number>();
  merged.forEach((k, j) => slot.set(k, j));
  const m = r.batch * r.dof;
  /** Copies saved slot j of `all` into slot `to` of (q, p). */
  const copy = (q: Float64Array, p: Float64Array, to: number, j: number) => {
    q.set(all.q.subarray(j * m, (j + 1) * m), to * m);
    p.set(all.p.subarray(j * m, (j + 1) * m), to * m);
  };
  return {
    extras: { ...extras, saveSteps: merged, saved: all },
    split(result) {
      const arrays = recordArrays(r.q0, r.p0, r.batch, r.dof, r.every, recordCount, r.initial, 'f32');
      recorded.forEach((k, i) => copy(arrays.steps.q, arrays.steps.p, i, slot.get(k)!));
      result.record = arrays.record;
      const saved = extras.saved;
      if (saved === null) {
        delete result.saved;
        return;
      }
      extras.saveSteps.forEach((k, i) => copy(saved.q, saved.p, i, slot.get(k)!));
      result.saved = saved;
    },
  };
}
