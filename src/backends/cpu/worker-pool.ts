/**
 * What the CPU worker pools share (trajectory runs, Lyapunov spectra): workers started on first use and kept
 * (unreferenced while idle), threaded runs queued one after another, `dispose` terminating every worker, and the
 * wait for a run's answers with progress and abort every CHUNK_TARGET_MS.
 */
import type { Worker } from 'node:worker_threads';
import { DarbouxError } from '../../errors.js';
import { CHUNK_TARGET_MS, type RunControl } from '../run-control.js';
import { ABORT_RUN } from './trajectory-worker.js';

/** Resolves after `ms` or when `done` settles, whichever is first (the timer is cleared). @example await pollDelay(answers, 20); */
export function pollDelay(done: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const delay = new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); });
  return Promise.race([done.then(() => undefined, () => undefined), delay]).finally(() => clearTimeout(timer));
}

/**
 * Awaits worker answers, reporting the summed `progress` (capped at `total`) and passing an abort to the workers
 * (ABORT_RUN in `ctl`) every CHUNK_TARGET_MS; a rejection while `disposed()` becomes "disposed during a run".
 * Shared by the trajectory and Lyapunov pools.
 *
 * @example
 * const results = await awaitWorkers(answers, ctl, progress, control, batch * steps, () => pool.disposed);
 */
export async function awaitWorkers<A extends { aborted?: boolean }>(answers: Promise<A[]>, ctl: Int32Array, progress: Float64Array, control: RunControl, total: number, disposed: () => boolean): Promise<A[]> {
  let settled = false;
  const done = answers.finally(() => { settled = true; });
  done.catch(() => undefined);
  const rethrow = (e: unknown): never => {
    if (disposed()) throw new DarbouxError('INPUT', 'this stepper was disposed during a run');
    throw e;
  };
  while (!settled) {
    await pollDelay(done, CHUNK_TARGET_MS);
    if (settled) break;
    let units = 0;
    for (const x of progress) units += x;
    control.report(Math.min(units, total), total); // 0 while the workers start up
    try {
      control.throwIfAborted();
    } catch (e) {
      Atomics.store(ctl, ABORT_RUN, 1);
      await done.catch(rethrow);
      throw e;
    }
  }
  const results = await done.catch(rethrow);
  if (results.some((r) => r.aborted)) control.throwIfAborted(); // aborted between the last poll and the end
  return results;
}

/**
 * A pool of worker threads made by `startWorker`: `take(count)` starts them as needed, `enqueue` runs threaded work
 * one run at a time, `restart` replaces them after a failure, `dispose` ends them.
 *
 * @example
 * class MyPool extends WorkerPool { protected startWorker() { return new Worker(SCRIPT, { eval: true }); } }
 */
export abstract class WorkerPool {
  protected readonly workers: Worker[] = [];
  protected disposed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private running = 0;

  /** Starts one (unreferenced) worker. */
  protected abstract startWorker(): Worker;

  /** How many of the pool's workers are running (started and not yet exited). */
  get live(): number {
    return this.running;
  }

  /** Whether the pool has started workers (a later run pays no start-up). */
  get warm(): boolean {
    return this.workers.length > 0;
  }

  /** Terminates the workers; a run in flight rejects. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const worker of this.workers) void worker.terminate();
  }

  /** `work` after the threaded runs already queued. */
  protected enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Terminates every worker; the next threaded run starts new ones. */
  protected restart(): void {
    for (const worker of this.workers.splice(0)) void worker.terminate();
  }

  /** The first `count` workers, started as needed (unreferenced). */
  protected take(count: number): Worker[] {
    while (this.workers.length < count) {
      const worker = this.startWorker();
      worker.unref();
      this.running++;
      worker.once('exit', () => this.running--);
      this.workers.push(worker);
    }
    return this.workers.slice(0, count);
  }

  /** `awaitWorkers` for this pool (a rejection after `dispose` says so). */
  protected answers<A extends { aborted?: boolean }>(answers: Promise<A[]>, ctl: Int32Array, progress: Float64Array, control: RunControl, total: number): Promise<A[]> {
    return awaitWorkers(answers, ctl, progress, control, total, () => this.disposed);
  }
}
