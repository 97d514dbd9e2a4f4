/**
 * Pacing of a long sequence of GPU dispatches, so a run never holds the event loop for long: on adapters whose
 * `queue.submit` runs the work before returning (Dawn's OpenGL backend, llvmpipe), a run of dispatches is a run
 * of synchronous work; on hardware, submissions return at once and pile up. After each dispatch the pacer waits,
 * once PACE_MS has passed or MAX_UNAWAITED dispatches were submitted since the last wait, for the work
 * submitted before the previous wait when it is still running (the GPU stays busy with what came after), yields
 * a macrotask, reports the steps known to be submitted by then and stops with ABORTED when the signal is aborted. Dispatches are the same as without
 * pacing: results do not depend on it.
 */
import type { Gpu } from '../../runtime/index.js';
import { CHUNK_TARGET_MS, type RunControl } from '../run-control.js';

/** Dispatches submitted before the pacer waits, whatever the time (bounds the work an abort cannot stop). */
const MAX_UNAWAITED = 64;

/**
 * Time between waits, in milliseconds: twice CHUNK_TARGET_MS, since a wait (a fence and a macrotask) costs more
 * than a CPU yield; on llvmpipe the longest event-loop gaps stayed at 20–50 ms with it.
 */
const PACE_MS = 2 * CHUNK_TARGET_MS;

/** Workgroups of the first dispatch on a software adapter, before any is measured. */
const SOFTWARE_FIRST_WORKGROUPS = 16;

/** What a stepper's runs learn about its adapter's speed (see `DispatchPacer.workgroupLimit`). */
export interface DispatchSizing {
  workgroupStepsPerMs: number;
}

/**
 * Waits between dispatches (see the module comment).
 *
 * @example
 * const pacer = new DispatchPacer(gpu, control);
 * for (…) { kernel.dispatch(…); await pacer.dispatched(stepsSubmitted); }
 */
export class DispatchPacer {
  private lastWait = performance.now();
  private unawaited = 0;
  private previous: { fence: Promise<unknown>; done: boolean; steps: number } | null = null;

  /**
   * `sizing` (shared by the runs of one stepper): the measured rate of synchronous adapters, in workgroup·steps
   * per millisecond, from which `workgroupLimit` sizes dispatches.
   */
  constructor(
    private readonly gpu: Gpu,
    private readonly control: RunControl,
    private readonly totalSteps: number,
    private readonly sizing: DispatchSizing = { workgroupStepsPerMs: 0 },
  ) {}

  /**
   * The most workgroups one dispatch of `steps` steps may have: unbounded until a dispatch is seen to run inside
   * `queue.submit` (over a millisecond), then as many as take about PACE_MS at the measured rate. (Fewer
   * workgroups per dispatch split the batch, not the steps: results are unchanged.) Software adapters start
   * from SOFTWARE_FIRST_WORKGROUPS.
   */
  workgroupLimit(steps: number): number {
    const rate = this.sizing.workgroupStepsPerMs;
    if (rate > 0) return Math.max(1, Math.floor((rate * PACE_MS) / Math.max(1, steps)));
    return this.gpu.adapterKind === 'llvmpipe' || this.gpu.adapterKind === 'swiftshader' ? SOFTWARE_FIRST_WORKGROUPS : Infinity;
  }

  /** Records that a dispatch of `workgroups` × `steps` took `ms` in `kernel.dispatch` (counted when over 1 ms). */
  measured(workgroups: number, steps: number, ms: number): void {
    if (ms < 1) {
      // Ran asynchronously or was quick: allow up to 8× more next time (never less than what just ran).
      if (this.sizing.workgroupStepsPerMs > 0) this.sizing.workgroupStepsPerMs = Math.max(this.sizing.workgroupStepsPerMs, (8 * workgroups * steps) / PACE_MS);
      return;
    }
    this.sizing.workgroupStepsPerMs = (workgroups * steps) / ms;
  }

  /** Call after each dispatch (or group of dispatches), with the steps submitted so far. */
  async dispatched(stepsSubmitted: number): Promise<void> {
    this.unawaited++;
    if (performance.now() - this.lastWait < PACE_MS && this.unawaited < MAX_UNAWAITED) return;
    const marker = { fence: this.gpu.device.queue.onSubmittedWorkDone(), done: false, steps: stepsSubmitted };
    void marker.fence.then(() => (marker.done = true), () => (marker.done = true));
    const previous = this.previous;
    this.previous = marker;
    // Waiting on a fence costs a round trip through Dawn's event processing (milliseconds on the OpenGL backend,
    // whose submissions have long finished): wait only when the previous one is still running.
    if (previous !== null && !previous.done) await previous.fence;
    if (previous !== null) this.control.report(previous.steps, this.totalSteps);
    await this.control.pause();
    this.lastWait = performance.now();
    this.unawaited = 0;
  }
}
