/**
 * `lyapunov` on the CPU over `worker_threads`: the trajectories of an explicit method's spectrum are split over a
 * pool of Lyapunov workers (lyapunov-worker.ts) that run the same generated tangent runner and the same
 * Gram–Schmidt (`gramSchmidt`, compiled from its source) as the single-thread driver, so every exponent, history
 * point and final state is the same bit for bit. The main thread only polls (progress, abort) and, at the end,
 * takes the workers' log sums and history points (written by `writeAverages`) into the result, or throws the error one thread would have
 * thrown: that of the earliest segment with a failure (a vanished tangent first, then the run failures).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DarbouxError } from '../../errors.js';
import type { JsRunFailure } from '../../codegen/emit-js-stepper.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { gramSchmidt, LyapunovAccumulator, startingTangents, tangentError, writeAverages, type LyapunovPlan, type LyapunovResult } from '../lyapunov-options.js';
import type { RunControl } from '../run-control.js';
import { runFailureError } from '../run-failures.js';
import { LYAPUNOV_WORKER_SCRIPT, type LyapunovEvent, type LyapunovRunMessage, type LyapunovWorkerAnswer } from './lyapunov-worker.js';
import { answer, estimatedMs, sharedCopy, stepElements, THREADED_MIN_MS } from './trajectory-threads.js';
import { WorkerPool } from './worker-pool.js';

/**
 * The thread count of a spectrum of `count` exponents over `batch` × `steps`: `requested` (capped at the batch)
 * when given, else `availableParallelism()` when the estimated single-thread time (a step and its `count`
 * tangent steps, each about `elements` IR elements) reaches THREADED_MIN_MS.warm on a started pool or
 * THREADED_MIN_MS.cold otherwise, else 1. Batches of one use one thread.
 *
 * @example
 * lyapunovThreads(undefined, 1024, 10_000, 4, 54, false) // 2 on a 2-core machine
 */
export function lyapunovThreads(requested: number | undefined, batch: number, steps: number, count: number, elements: number, warm: boolean): number {
  if (batch < 2 || steps === 0) return 1;
  if (requested !== undefined) return Math.min(requested, batch);
  const ms = estimatedMs(batch, steps, elements * (1 + count));
  return ms >= (warm ? THREADED_MIN_MS.warm : THREADED_MIN_MS.cold) ? Math.min(Math.max(1, availableParallelism()), batch) : 1;
}

/** What a threaded spectrum needs besides its plan. */
export interface LyapunovRunArgs {
  source: string;
  q0: ArrayLike<number>;
  p0: ArrayLike<number>;
  params: readonly ArrayLike<number>[];
  dt: number;
  n: number;
  method: string;
}

/**
 * The Lyapunov workers of a CPU stepper: started on the first spectrum that uses them, reused (spectra queued),
 * unreferenced while idle, terminated by `dispose`.
 *
 * @example
 * const pool = new LyapunovPool(program, undefined);
 * if (pool.threadsFor(plan) > 1) result = await pool.run(plan, args, control);
 */
export class LyapunovPool extends WorkerPool {
  private elements: number | undefined;

  constructor(private readonly program: StepProgram, private readonly requested: number | undefined) {
    super();
  }

  /** The thread count of a spectrum of this plan (`lyapunovThreads`). */
  threadsFor(plan: LyapunovPlan): number {
    if (this.requested === 1) return 1;
    this.elements ??= stepElements(this.program);
    return lyapunovThreads(this.requested, plan.batch, plan.steps, plan.count, this.elements, this.warm);
  }

  /** The spectrum of `plan` on `threads` workers (queued behind a spectrum in flight). */
  run(plan: LyapunovPlan, args: LyapunovRunArgs, control: RunControl, threads: number): Promise<LyapunovResult> {
    return this.enqueue(() => this.runOnce(plan, args, control, threads));
  }

  protected startWorker(): Worker {
    return new Worker(LYAPUNOV_WORKER_SCRIPT, { eval: true, workerData: { gramSchmidt: gramSchmidt.toString(), writeAverages: writeAverages.toString() } });
  }

  private async runOnce(plan: LyapunovPlan, a: LyapunovRunArgs, control: RunControl, threads: number): Promise<LyapunovResult> {
    if (this.disposed) throw new DarbouxError('INPUT', 'this stepper was disposed');
    control.throwIfAborted();
    const accumulator = new LyapunovAccumulator(plan, a.dt);
    const { batch, steps, count, historyEvery } = plan;
    const points = Math.ceil(steps / historyEvery);
    const Q = await sharedCopy(Float64Array.from(a.q0)), P = await sharedCopy(Float64Array.from(a.p0));
    const logs = await sharedCopy(new Float64Array(batch * count), false), history = await sharedCopy(new Float64Array(points * batch * count), false);
    const ctl = new Int32Array(new SharedArrayBuffer(2 * 4)), progress = new Float64Array(new SharedArrayBuffer(threads * 8));
    const workers = this.take(threads);
    for (const worker of workers) worker.ref(); // a spectrum in flight keeps the process alive
    try {
      const answers = Promise.all(workers.map((worker) => answer<LyapunovWorkerAnswer>(worker)));
      const base = {
        source: a.source, control: ctl.buffer as SharedArrayBuffer, progress: progress.buffer as SharedArrayBuffer,
        Q: Q.buffer as SharedArrayBuffer, P: P.buffer as SharedArrayBuffer, logs: logs.buffer as SharedArrayBuffer, history: history.buffer as SharedArrayBuffer,
        basis: startingTangents(a.n, count), params: a.params.map((x) => Float64Array.from(x)), batch, steps, dt: a.dt, t0: plan.t0, n: a.n, count,
        renormalizeEvery: plan.renormalizeEvery, historyEvery, maxClaim: Math.max(1, Math.ceil(batch / (16 * threads))),
      };
      workers.forEach((worker, index) => worker.postMessage({ ...base, index } satisfies LyapunovRunMessage));
      const results = await this.answers(answers, ctl, progress, control, batch * steps);
      const failed = results.find((r) => !r.ok);
      if (failed) throw new DarbouxError('INTERNAL', `a Lyapunov worker thread failed: ${failed.message}`, { threads, message: failed.message });
      throwEarliest(results.flatMap((r) => r.events!), a, batch);
      accumulator.adopt(logs, history);
      control.report(batch * steps, batch * steps);
      return accumulator.result(Float64Array.from(Q), Float64Array.from(P));
    } catch (e) {
      // A worker that errored or exited: start afresh next time (no worker left mid-run, no answer left over).
      if (!this.disposed && !(e instanceof DarbouxError && ['ABORTED', 'NONFINITE', 'NO_CONVERGENCE'].includes(e.code))) this.restart();
      throw e;
    } finally {
      if (!this.disposed) for (const worker of workers) worker.unref();
    }
  }

}

/**
 * Throws what one thread would have thrown: nothing without events; else, of the earliest segment's events, the
 * vanished tangent of the lowest trajectory, or else every failure of that segment (in trajectory order).
 */
function throwEarliest(events: readonly LyapunovEvent[], a: LyapunovRunArgs, batch: number): void {
  if (events.length === 0) return;
  const segment = Math.min(...events.map((e) => e.segment));
  const first = events.filter((e) => e.segment === segment);
  const tangents = first.flatMap((e) => (e.tangent ? [e.tangent] : [])).sort((x, y) => x.trajectory - y.trajectory);
  if (tangents.length > 0) throw tangentError(tangents[0]!.j, tangents[0]!.norm);
  const failures: JsRunFailure[] = first.flatMap((e) => e.failures ?? []).sort((x, y) => x.trajectory - y.trajectory);
  throw runFailureError(`${a.method} (lyapunov)`, a.dt, failures, { batch });
}
