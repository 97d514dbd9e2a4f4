/**
 * Progress and cancellation of long runs, shared by every backend (`run`, `vjp`, and later `lyapunov`): an
 * `AbortSignal` checked between chunks, `onProgress` reports, the ABORTED error, a macrotask yield that lets
 * timers and I/O run, and an adaptive chunk size that keeps each synchronous piece of work near a time budget.
 */
import { DarbouxError } from '../errors.js';

/** A progress report: steps done (per trajectory; averaged over the batch on the CPU, which runs them in turn), of `steps`, and their ratio. */
export interface Progress {
  stepsDone: number;
  steps: number;
  /** stepsDone / steps in [0, 1] (1 when steps is 0); never decreases during one call. */
  fraction: number;
}

/** The options every long-running call accepts. */
export interface RunControlOptions {
  /** Aborting it makes the call reject with DarbouxError('ABORTED'), name 'AbortError'; the stepper stays usable. */
  signal?: AbortSignal;
  /** Called between chunks with the progress so far (and once with fraction 1 at the end). */
  onProgress?: (progress: Progress) => void;
}

/** Longest synchronous piece of work a chunked call aims for, in milliseconds (a tenth of the ~100 ms goal, leaving room for a loaded machine). */
export const CHUNK_TARGET_MS = 10;

/**
 * The error a cancelled call rejects with: code ABORTED and name 'AbortError' (as `fetch` and DOM APIs use), the
 * signal's reason in `details.reason`.
 *
 * @example
 * if (signal?.aborted) throw abortedError('run', signal);
 */
export function abortedError(what: string, signal?: AbortSignal): DarbouxError {
  const reason = signal?.reason;
  const error = new DarbouxError('ABORTED', `${what} was aborted through its signal; the stepper is still usable`, { reason });
  error.name = 'AbortError';
  return error;
}

/**
 * Resolves on a later macrotask (setImmediate where it exists, else setTimeout 0), so timers, I/O and other
 * callbacks queued meanwhile run before the next chunk.
 *
 * @example
 * await yieldToEventLoop();
 */
export function yieldToEventLoop(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * Checks an option value is an AbortSignal-like object (or undefined) and an onProgress callback is a function.
 *
 * @example
 * checkRunControl({ signal, onProgress }, 'run');
 */
export function checkRunControl(options: RunControlOptions, what: string): void {
  const { signal, onProgress } = options;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof (signal as AbortSignal).aborted !== 'boolean')) {
    throw new DarbouxError('OPTION', `${what}: signal must be an AbortSignal (from an AbortController), got ${String(signal)}`, { option: 'signal' });
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new DarbouxError('OPTION', `${what}: onProgress must be a function ({ stepsDone, steps, fraction }) => void, got ${typeof onProgress}`, { option: 'onProgress' });
  }
}

/**
 * Drives a long call in chunks: `throwIfAborted` between them, `pause` (yield a macrotask, then check the signal),
 * `report` progress (monotone), and `budget` — how many work units (trajectory·steps, scaled by a cost) the next
 * chunk may do, adapted from the time the previous chunks took so each takes about `CHUNK_TARGET_MS`.
 *
 * @example
 * const control = new RunControl({ signal, onProgress }, 'run', steps);
 * while (left > 0) { const units = control.budget(); …; control.done(units, elapsedMs); await control.pause(); }
 */
export class RunControl {
  private unitsPerMs = 0;
  private lastFraction = -1;
  private lastStepsDone = -1;
  private lastYield = performance.now();
  private readonly signal?: AbortSignal;
  private readonly onProgress?: (progress: Progress) => void;

  constructor(options: RunControlOptions, private readonly what: string, private readonly steps: number, private readonly firstBudget = 1) {
    checkRunControl(options, what);
    this.signal = options.signal;
    this.onProgress = options.onProgress;
  }

  /** Whether anyone listens (a signal or a progress callback). */
  get observed(): boolean {
    return this.signal !== undefined || this.onProgress !== undefined;
  }

  /** Throws ABORTED if the signal is aborted. */
  throwIfAborted(): void {
    if (this.signal?.aborted) throw abortedError(this.what, this.signal);
  }

  /** Work units the next chunk may do: a small first chunk (measured), then what fits in CHUNK_TARGET_MS. */
  budget(): number {
    if (this.unitsPerMs <= 0) return this.firstBudget;
    return Math.max(1, Math.floor(this.unitsPerMs * CHUNK_TARGET_MS));
  }

  /** Records that `units` of work took `ms` (updates the rate the budget is taken from; at most ×8 per chunk). */
  measured(units: number, ms: number): void {
    if (units <= 0) return;
    const rate = units / Math.max(ms, 0.05);
    this.unitsPerMs = this.unitsPerMs <= 0 ? Math.min(rate, (8 * this.firstBudget) / CHUNK_TARGET_MS) : Math.min(rate, 8 * this.unitsPerMs);
  }

  /**
   * A control for one phase of a longer call (a vjp's forward or backward pass): the same signal, its own chunk
   * budget, and progress mapped onto [from, from + span] of this control's fraction.
   *
   * @example
   * const forward = control.phase(0, 0.5), backward = control.phase(0.5, 0.5);
   */
  phase(from: number, span: number): RunControl {
    const onProgress = this.onProgress === undefined ? undefined : (p: Progress) => this.report(from + span * p.fraction, 1);
    return new RunControl({ signal: this.signal, onProgress }, this.what, this.steps, this.firstBudget);
  }

  /**
   * This control as `run` options (its signal, progress reported into it), for a phase that calls `run`.
   *
   * @example
   * await stepper.run({ q0, p0, steps, ...control.asOptions() });
   */
  asOptions(): RunControlOptions {
    return { signal: this.signal, onProgress: this.onProgress === undefined ? undefined : (p) => this.report(p.fraction, 1) };
  }

  /**
   * Reports progress: `done` of `total` work units (steps, or trajectory·steps on a backend that advances
   * trajectories one after the other), as steps per trajectory. Repeated or decreasing fractions are not reported,
   * nor a fraction below 1 that rounds to the steps done of the last report (so `stepsDone` strictly increases).
   */
  report(done: number, total: number = this.steps): void {
    if (this.onProgress === undefined) return;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    if (fraction <= this.lastFraction) return;
    const stepsDone = Math.floor(fraction * this.steps);
    if (stepsDone <= this.lastStepsDone && fraction < 1) return;
    this.lastFraction = fraction;
    this.lastStepsDone = stepsDone;
    this.onProgress({ stepsDone, steps: this.steps, fraction });
  }

  /**
   * Between two units of a loop (optimiser steps, dispatches): once CHUNK_TARGET_MS has passed since the last
   * yield, reports `done` of `total` and yields (throwing ABORTED if the signal was aborted).
   *
   * @example
   * for (let t = 0; t < steps; t++) { …; await control.tick(t + 1); }
   */
  async tick(done: number, total: number = this.steps): Promise<void> {
    const now = performance.now();
    if (now - this.lastYield < CHUNK_TARGET_MS) return;
    this.report(done, total);
    await this.pause();
    this.lastYield = performance.now();
  }

  /** Yields a macrotask, then throws ABORTED if the signal was aborted meanwhile. */
  async pause(): Promise<void> {
    await yieldToEventLoop();
    this.throwIfAborted();
  }
}
