/**
 * Generated runners driven in windows of trajectories × steps, so a long run never holds the event loop
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

/** What a window's call reports: go on, this window's single trajectory failed (go on with the next), or stop. */
export type WindowOutcome = 'ok' | 'trajectoryFailed' | 'stop';

/**
 * Splits `batch` trajectories × `steps` steps into windows in trajectory-major order (whole trajectories per window
 * while they fit in the budget, else one trajectory in runs of steps: ascending forward, descending backward),
 * calls `call` on each, sizes the next from the time it took (about CHUNK_TARGET_MS each), and yields to the event
 * loop (reporting progress, stopping with ABORTED) once that much time has passed.
 *
 * @example
 * await driveWindows(batch, steps, control, 'forward', (bFrom, bTo, sFrom, sTo) => { runner(…, bFrom, bTo, sFrom, sTo); return 'ok'; });
 */
export async function driveWindows(
  batch: number,
  steps: number,
  control: RunControl,
  direction: 'forward' | 'backward',
  call: (bFrom: number, bTo: number, sFrom: number, sTo: number) => WindowOutcome,
): Promise<void> {
  const total = batch * steps;
  control.throwIfAborted();
  let b = 0, done = 0, lastYield = performance.now();
  while (b < batch && steps > 0) {
    const units = control.budget();
    const whole = done === 0 ? Math.min(batch - b, Math.floor(units / steps)) : 0;
    const bTo = whole > 0 ? b + whole : b + 1;
    const length = whole > 0 ? steps : Math.min(steps - done, units);
    const [sFrom, sTo] = direction === 'forward' ? [done, done + length] : [steps - done - length, steps - done];
    const started = performance.now();
    const outcome = call(b, bTo, sFrom, sTo);
    const now = performance.now();
    if (outcome === 'stop') return;
    control.measured((bTo - b) * length, now - started);
    done += length;
    // A trajectory that failed in a run of steps is finished: go on with the next one.
    if (whole > 0 || done === steps || outcome === 'trajectoryFailed') {
      b = bTo;
      done = 0;
    }
    if (b < batch && now - lastYield >= CHUNK_TARGET_MS) {
      control.report(b * steps + done, total);
      await control.pause();
      lastYield = performance.now();
    }
  }
  control.report(total, total);
}

/**
 * Runs a forward runner over every trajectory and step in windows (`driveWindows`), reporting progress and
 * stopping with ABORTED through `control`.
 *
 * @example
 * const status = await runWindowed(runner, { Q, P, params, batch, steps, dt, t0: 0, record: 0, recordQ: null, recordP: null }, new RunControl(options, 'run', steps));
 */
export async function runWindowed(runner: JsRunner, a: WindowedRunArgs, control: RunControl): Promise<WindowedRunStatus> {
  const out: WindowedRunStatus = { failures: [], iterationsTotal: 0, iterationsMax: 0 };
  await driveWindows(a.batch, a.steps, control, 'forward', (bFrom, bTo, sFrom, sTo) => {
    const status = runner(a.Q, a.P, a.params, a.batch, a.steps, a.dt, a.t0, a.record, a.recordQ, a.recordP, bFrom, bTo, sFrom, sTo);
    out.iterationsTotal += status.iterationsTotal;
    out.iterationsMax = Math.max(out.iterationsMax, status.iterationsMax);
    out.failures.push(...status.failures!);
    return status.failures!.length > 0 ? 'trajectoryFailed' : 'ok';
  });
  return out;
}
