/**
 * Trajectory threads of the CPU backend: a forward run's trajectories split over `worker_threads`. Each worker
 * compiles the generated runner once (the pool lives as long as the stepper, started on the first run that uses
 * it, unreferenced while idle, terminated by `dispose`), and runs blocks of trajectories it claims from a shared
 * counter through the same generated code as the main thread (src/backends/cpu/trajectory-worker.ts), so every
 * element of the result is the same bit for bit as on one thread. The main thread copies the state into shared
 * memory and back in pieces, and meanwhile only polls: progress from the workers' slots, and the abort signal,
 * which it passes on through a shared word.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DarbouxError } from '../../errors.js';
import type { JsRunFailure } from '../../codegen/emit-js-stepper.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { size } from '../../ir/shape.js';
import { topologicalOrder } from '../../ir/traverse.js';
import { yieldToEventLoop, type RunControl } from '../run-control.js';
import type { JsRunner } from '../../codegen/emit-js-stepper.js';
import { runWindowed, type WindowedRunArgs, type WindowedRunStatus } from './windowed-run.js';
import { WorkerPool } from './worker-pool.js';
import { TRAJECTORY_WORKER_SCRIPT, type TrajectoryRunMessage, type TrajectoryWorkerAnswer } from './trajectory-worker.js';

/**
 * Estimated single-thread milliseconds of a run from which trajectory threads pay by default: `warm`, per run
 * once the pool is started (a threaded run costs ~0.3–0.6 ms more CPU than one thread: messages, shared copies,
 * waking the workers); `cold`, the start-up of a pool (each worker starts a Node isolate and compiles and warms
 * up the runner: 60–190 ms of wall time measured for two workers, Hénon–Heiles leapfrog to gauss4 double
 * pendulum, on a loaded 2-core machine), which a stepper pays once the runs that would have used it add up to it.
 */
export const THREADED_MIN_MS = { warm: 5, cold: 150 };

/**
 * Nanoseconds of one IR element per trajectory·step of generated code (see `stepElements`), measured on one
 * thread (bench/lane-elements.ts), by runner kind: `js`, the generated JS runner — Hénon–Heiles leapfrog 0.12–0.15
 * (42–54 elements), rk4 0.12, double-pendulum gauss4 0.24–0.25 (1 443–1 695 elements with 8 iterations
 * counted); `lanes`, the WebAssembly SIMD lane runner (several trajectories per instruction) — Hénon–Heiles
 * leapfrog 0.039 (8 lanes), rk4 0.046 (4 lanes).
 */
const NS_PER_ELEMENT = { js: 0.2, lanes: 0.05 } as const;

/** Which generated runner a run uses (its cost per element differs): the JS runner, or the WebAssembly SIMD lane runner. */
export type RunnerKind = keyof typeof NS_PER_ELEMENT;

/**
 * Nanoseconds per value a threaded run copies into shared memory and back (and the workers' first touch of
 * it), measured: a 1 024 × 500-step Hénon–Heiles run recording every step (2.05 M values) took 50 ms of CPU on
 * two threads, 40 on one, without a record 4.5 and 5.6.
 */
const NS_PER_COPIED = 5;

/** Fixed-point iterations per step assumed for implicit methods when estimating the cost. */
const ASSUMED_ITERATIONS = 8;

/** Elements per piece of a copy between the caller's arrays and shared memory (~16 MB, a few ms). */
const COPY_PIECE = 1 << 21;

/**
 * The work of one trajectory·step of a program in IR elements (the sum of the node sizes of its step; the
 * fixed-point body counted ASSUMED_ITERATIONS times for implicit methods).
 *
 * @example
 * stepElements(leapfrogStep(henonHeiles().hamiltonian)) // a few dozen
 */
export function stepElements(program: StepProgram): number {
  const fp = program.implicit;
  const count = (roots: readonly Parameters<typeof topologicalOrder>[0][number][]) => {
    let total = 0;
    for (const node of topologicalOrder(roots)) total += Math.max(1, size(node.shape));
    return total;
  };
  const explicit = count([program.next.q, program.next.p]);
  if (!fp) return explicit;
  return explicit + ASSUMED_ITERATIONS * count([...(fp.iteration ?? fp.update), ...(fp.scale ?? [])]);
}

/**
 * The single-thread time of a run estimated from its size, the program's step (`stepElements`) and the runner
 * kind, less twice the time of the copies a threaded run adds (`copied` values into and out of shared memory,
 * the record included), in ms: on two cores the threads save half the run, which must exceed the copies.
 *
 * @example
 * estimatedMs(1024, 1000, 54)             // ≈ 11 (the JS runner)
 * estimatedMs(1024, 1000, 54, 0, 'lanes') // ≈ 2.8 (the lane runner)
 */
export function estimatedMs(batch: number, steps: number, elements: number, copied = 0, runner: RunnerKind = 'js'): number {
  return (batch * steps * elements * NS_PER_ELEMENT[runner]) / 1e6 - (2 * copied * NS_PER_COPIED) / 1e6;
}

/** The kind of a forward runner: `lanes` for the WebAssembly SIMD lane runner (it has `lanes`), else `js`. @example runnerKind(runner) // 'lanes' */
export function runnerKind(runner: JsRunner): RunnerKind {
  return 'lanes' in runner && typeof (runner as { lanes?: unknown }).lanes === 'number' ? 'lanes' : 'js';
}

/**
 * How many threads a forward run of `batch` × `steps` uses: `requested` (capped at the batch) when given, else
 * `availableParallelism()` when `estimatedMs` (for the `runner` kind) reaches THREADED_MIN_MS.warm and the pool's
 * start-up is `paid` for (started, or repaid by the runs so far), else 1. Runs without steps, and batches of
 * one, use one thread.
 *
 * @example
 * trajectoryThreads(undefined, 1024, 1000, 54, true)                // 2 on a 2-core machine (JS runner: ~11 ms)
 * trajectoryThreads(undefined, 1024, 1000, 54, true, 0, 'lanes')    // 1 (lane runner: ~2.8 ms)
 */
export function trajectoryThreads(requested: number | undefined, batch: number, steps: number, elements: number, paid: boolean, copied = 0, runner: RunnerKind = 'js'): number {
  if (steps === 0 || batch < 2) return 1;
  if (requested !== undefined) return Math.min(requested, batch);
  return paid && estimatedMs(batch, steps, elements, copied, runner) >= THREADED_MIN_MS.warm ? Math.min(Math.max(1, availableParallelism()), batch) : 1;
}

/** `dst.set(src)` in pieces of COPY_PIECE elements with a yield between them (a large record never blocks for long). */
async function copyInPieces(dst: Float64Array, src: Float64Array): Promise<void> {
  for (let from = 0; from < src.length; from += COPY_PIECE) {
    if (from > 0) await yieldToEventLoop();
    dst.set(src.subarray(from, Math.min(src.length, from + COPY_PIECE)), from);
  }
}

/** A shared copy of `a` (a zero-filled one when `copy` is false). @example const Q = await sharedCopy(q); */
export async function sharedCopy(a: Float64Array, copy = true): Promise<Float64Array> {
  const shared = new Float64Array(new SharedArrayBuffer(Math.max(1, a.length) * 8), 0, a.length);
  if (copy) await copyInPieces(shared, a);
  return shared;
}

/** The next answer of a worker (rejects when it errors or exits). @example const a = await answer(worker); */
export function answer<A = TrajectoryWorkerAnswer>(worker: Worker): Promise<A> {
  return new Promise((resolve, reject) => {
    const done = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
    const onMessage = (m: A) => { done(); resolve(m); };
    const onError = (e: Error) => { done(); reject(new DarbouxError('INTERNAL', `a trajectory worker thread failed: ${e.message}`, { message: e.message })); };
    const onExit = (code: number) => { done(); reject(new DarbouxError('INTERNAL', `a trajectory worker thread exited (code ${code})`, { code })); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}


/**
 * The forward runs of a CPU stepper: on the main thread in windows (`runWindowed`), or split over a pool of
 * trajectory workers when `trajectoryThreads` says so. The pool is started on first use, reused across runs
 * (threaded runs are queued), unreferenced while idle, and terminated by `dispose`.
 *
 * @example
 * const pool = new TrajectoryPool(program, runner, undefined);
 * const status = await pool.run(args, control);
 * pool.dispose();
 */
export class TrajectoryPool extends WorkerPool {
  private elements: number | undefined;
  /** Estimated ms of the runs so far that a started pool would have taken (the pool starts once it reaches THREADED_MIN_MS.cold). */
  private owed = 0;

  constructor(private readonly program: StepProgram, private readonly runner: JsRunner, private readonly requested: number | undefined) {
    super();
  }

  /** The thread count a run of `batch` × `steps` copying `copied` values would use now (`trajectoryThreads`). */
  threadsFor(batch: number, steps: number, copied = 0): number {
    if (this.requested === 1 || steps === 0 || batch < 2) return 1;
    this.elements ??= stepElements(this.program);
    const kind = runnerKind(this.runner);
    const estimated = estimatedMs(batch, steps, this.elements, copied, kind);
    if (!this.warm && estimated >= THREADED_MIN_MS.warm) this.owed += estimated;
    return trajectoryThreads(this.requested, batch, steps, this.elements, this.warm || this.owed >= THREADED_MIN_MS.cold, copied, kind);
  }

  /** Runs every trajectory of `a` (Q, P and the record written in place): on this thread, or on workers (queued). */
  run(a: WindowedRunArgs, control: RunControl): Promise<WindowedRunStatus> {
    const count = this.threadsFor(a.batch, a.steps, 2 * (a.Q.length + (a.recordQ?.length ?? 0)));
    if (count <= 1) return runWindowed(this.runner, a, control);
    return this.enqueue(() => this.runOnce(a, control, count));
  }

  protected startWorker(): Worker {
    return new Worker(TRAJECTORY_WORKER_SCRIPT, { eval: true, workerData: { source: this.runner.source } });
  }

  private async runOnce(a: WindowedRunArgs, control: RunControl, count: number): Promise<WindowedRunStatus> {
    if (this.disposed) throw new DarbouxError('INPUT', 'this stepper was disposed');
    control.throwIfAborted();
    const Q = await sharedCopy(a.Q), P = await sharedCopy(a.P);
    const recordQ = a.recordQ === null ? null : await sharedCopy(a.recordQ, false);
    const recordP = a.recordP === null ? null : await sharedCopy(a.recordP, false);
    const ctl = new Int32Array(new SharedArrayBuffer(2 * 4));
    const progress = new Float64Array(new SharedArrayBuffer(count * 8));
    const workers = this.take(count);
    for (const worker of workers) worker.ref(); // a run in flight keeps the process alive
    try {
      const answers = Promise.all(workers.map((worker) => answer(worker)));
      const base = {
        control: ctl.buffer as SharedArrayBuffer, progress: progress.buffer as SharedArrayBuffer,
        Q: Q.buffer as SharedArrayBuffer, P: P.buffer as SharedArrayBuffer,
        recordQ: (recordQ?.buffer ?? null) as SharedArrayBuffer | null, recordP: (recordP?.buffer ?? null) as SharedArrayBuffer | null,
        params: a.params.map((x) => Float64Array.from(x)), batch: a.batch, steps: a.steps, dt: a.dt, t0: a.t0, record: a.record,
        maxClaim: Math.max(1, Math.ceil(a.batch / (16 * count))), // the last claims end within ~1/16 of a worker's share
      };
      workers.forEach((worker, index) => worker.postMessage({ ...base, index } satisfies TrajectoryRunMessage));
      const results = await this.answers(answers, ctl, progress, control, a.batch * a.steps);
      const failed = results.find((r) => !r.ok);
      if (failed) throw new DarbouxError('INTERNAL', `a trajectory worker thread failed: ${failed.message}`, { threads: count });
      await copyInPieces(a.Q, Q);
      await copyInPieces(a.P, P);
      if (recordQ !== null && recordP !== null) { await copyInPieces(a.recordQ!, recordQ); await copyInPieces(a.recordP!, recordP); }
      control.report(a.batch * a.steps, a.batch * a.steps);
      return merged(results);
    } catch (e) {
      // A worker that errored or exited: start afresh next time (no worker left mid-run, no answer left over).
      if (!this.disposed && !(e instanceof DarbouxError && e.code === 'ABORTED')) this.restart();
      throw e;
    } finally {
      if (!this.disposed) for (const worker of workers) worker.unref();
    }
  }
}


/** The workers' answers as one status: failures in trajectory order (as one thread gives them), summed iterations. */
function merged(results: readonly TrajectoryWorkerAnswer[]): WindowedRunStatus {
  const failures: JsRunFailure[] = results.flatMap((r) => r.failures!).sort((x, y) => x.trajectory - y.trajectory);
  let iterationsTotal = 0, iterationsMax = 0;
  for (const r of results) { iterationsTotal += r.iterationsTotal!; iterationsMax = Math.max(iterationsMax, r.iterationsMax!); }
  return { failures, iterationsTotal, iterationsMax };
}
