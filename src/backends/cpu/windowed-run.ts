/**
 * A generated forward runner driven in windows of trajectories × steps, so a long run never holds the event loop
 * for long: each window is sized from the measured rate to take about CHUNK_TARGET_MS, and between windows the
 * driver yields a macrotask (timers, I/O, `dispose`, an abort) once that much time has passed. Windows give the
 * same result, bit for bit, as one call (the runner takes the window's steps as absolute step numbers).
 */
import type { JsRunFailure, JsRunner } from '../../codegen/emit-js-stepper.js';
import { CHUNK_TARGET_MS, type RunControl } from '../run-control.js';

/** The arguments of one forward run (the runner's, without the window). */
export interface WindowedRunArgs {
  Q: Float64Array;
  P: Float64Array;
  params: readonly Float64Array[];
  batch: number;
  steps: number;
  dt: number;
  t0: number;
  record: number;
  recordQ: Float64Array | null;
  recordP: Float64Array | null;
}

/** What a windowed run returns: every failed trajectory (in trajectory order) and the iteration statistics. */
export interface WindowedRunStatus {
  failures: JsRunFailure[];
  iterationsTotal: number;
  iterationsMax: number;
}

/**
 * Runs `runner` over every trajectory and step in windows (see the module comment), reporting progress and
 * stopping with ABORTED through `control`. Trajectories are advanced one after the other: whole trajectories per
 * window while they fit in its budget, else one trajectory in runs of steps.
 *
 * @example
 * const status = await runWindowed(runner, { Q, P, params, batch, steps, dt, t0: 0, record: 0, recordQ: null, recordP: null }, new RunControl(options, 'run', steps));
 */
export async function runWindowed(runner: JsRunner, a: WindowedRunArgs, control: RunControl): Promise<WindowedRunStatus> {
  const out: WindowedRunStatus = { failures: [], iterationsTotal: 0, iterationsMax: 0 };
  const { batch, steps } = a;
  const total = batch * steps;
  control.throwIfAborted();
  let b = 0, s = 0, lastYield = performance.now();
  while (b < batch && steps > 0) {
    const units = control.budget();
    const whole = s === 0 ? Math.min(batch - b, Math.floor(units / steps)) : 0;
    const bTo = whole > 0 ? b + whole : b + 1;
    const sTo = whole > 0 ? steps : Math.min(steps, s + units);
    const started = performance.now();
    const status = runner(a.Q, a.P, a.params, batch, steps, a.dt, a.t0, a.record, a.recordQ, a.recordP, b, bTo, s, sTo);
    const now = performance.now();
    control.measured((bTo - b) * (sTo - s), now - started);
    out.iterationsTotal += status.iterationsTotal;
    out.iterationsMax = Math.max(out.iterationsMax, status.iterationsMax);
    out.failures.push(...status.failures!);
    // A trajectory that failed in a run of steps is finished: go on with the next one.
    if (whole > 0 || sTo === steps || status.failures!.length > 0) {
      b = bTo;
      s = 0;
    } else {
      s = sTo;
    }
    if (b < batch && now - lastYield >= CHUNK_TARGET_MS) {
      control.report(b * steps + s, total);
      await control.pause();
      lastYield = performance.now();
    }
  }
  control.report(total, total);
  return out;
}
