/**
 * Minibatch gradients over `worker_threads` on the CPU: the minibatch's fixed chunks (chunked-gradient.ts) are
 * claimed from a shared counter by the main thread and the workers, each chunk's sums written to its own slot
 * of shared memory, and the slots added in chunk order on the main thread — the same sums, bit for bit, as one
 * thread. Each worker builds the same gradient from its source (the batched lowering with its own WebAssembly
 * memory, or the per-sample function); the training data is copied to shared memory once per fit, θ and the
 * minibatch's rows once per step. `MinibatchGradient` decides: by default it times the first steps on one
 * thread and starts the workers only when the rest of the fit pays for them.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DarbouxError } from '../errors.js';
import { wasmGemmBytes } from '../codegen/wasm-gemm.js';
import type { BatchedGradientSource } from './batched-gradient.js';
import { wasmPages } from './batched-module.js';
import { addChunkSums, chunkCount, chunkedSums, GRADIENT_CHUNK, type ChunkedGradient } from './chunked-gradient.js';

/**
 * When threads pay by default, from the single-thread gradient time measured over the first MEASURED_STEPS
 * steps: at least `stepMs` per step (a threaded step adds ~0.1–0.2 ms: a message each way and a wake-up), and at
 * least `fitMs` for the rest of the fit (each worker starts a Node isolate, compiles and warms up the gradient:
 * ~100–200 ms of CPU).
 */
export const THREADED_TRAINING_MIN = { stepMs: 1.5, fitMs: 400 };

/** Steps timed on one thread before the default decides. */
const MEASURED_STEPS = 4;

/** What a worker needs to build the gradient: the batched lowering's source, or the per-sample function's. */
export type GradientBuild =
  | ({ kind: 'batched' } & BatchedGradientSource)
  | { kind: 'perSample'; source: string }
  | { kind: 'batchedFunction'; source: string; size: number; simd: boolean };

/** The worker's script (CommonJS, evaluated): builds the gradient, then computes the chunks it claims per message. */
const GRADIENT_WORKER_SCRIPT = `
const { parentPort, workerData: w } = require('node:worker_threads');
const data = new Float64Array(w.data), theta = new Float64Array(w.theta), rows = new Uint32Array(w.rows);
const partials = new Float64Array(w.partials), ctl = new Int32Array(w.control);
let chunks, failure;
try {
  if (w.build.kind === 'batched' || w.build.kind === 'batchedFunction') {
    let mem, gemm;
    if (w.build.simd) {
      const memory = new WebAssembly.Memory({ initial: w.pages });
      gemm = new WebAssembly.Instance(new WebAssembly.Module(w.wasm), { env: { mem: memory } }).exports.gemm;
      mem = new Float64Array(memory.buffer, 0, w.build.size);
    } else mem = new Float64Array(w.build.size);
    const made = new Function('mem', 'gemm', w.build.source)(mem, gemm);
    if (w.build.kind === 'batched') chunks = made;
    else {
      let t;
      chunks = { prepare(x) { t = x; }, chunk(d, r, s0, n, out) { made(d, t, r.subarray(s0, s0 + n), n, out); } };
    }
  } else {
    const f = new Function(w.build.source)();
    let t;
    chunks = { prepare(x) { t = x; }, chunk(d, r, s0, n, out) { f(d, t, r.subarray(s0, s0 + n), n, out); } };
  }
} catch (e) {
  failure = e;
}
parentPort.on('message', (m) => {
  try {
    if (failure !== undefined) throw failure;
    chunks.prepare(theta);
    for (;;) {
      const k = Atomics.add(ctl, 0, 1), s0 = k * ${GRADIENT_CHUNK};
      if (s0 >= m.count) break;
      chunks.chunk(data, rows, s0, Math.min(${GRADIENT_CHUNK}, m.count - s0), partials.subarray(k * w.width, (k + 1) * w.width));
    }
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: String(e instanceof Object && 'message' in e ? e.message : e) });
  }
});
`;

/** A worker's answer to a step. */
interface GradientAnswer { ok: boolean; message?: string }

/** The next answer of a worker (rejects with DarbouxError('INTERNAL') when it errors or exits). */
function answer(worker: Worker): Promise<GradientAnswer> {
  return new Promise((resolve, reject) => {
    const done = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
    const onMessage = (m: GradientAnswer) => { done(); resolve(m); };
    const onError = (e: Error) => { done(); reject(new DarbouxError('INTERNAL', `a training worker thread failed: ${e.message}`, { message: e.message })); };
    const onExit = (code: number) => { done(); reject(new DarbouxError('INTERNAL', `a training worker thread exited (code ${code})`, { code })); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

const shared = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));

/**
 * A pool of gradient workers for one fit: `count − 1` workers and the main thread share every step's chunks.
 *
 * @example
 * const pool = new GradientThreads(build, train.rows, 1 + P, 256, 2);
 * await pool.sums(chunks, train.rows, theta, rows, rows.length, out);
 * pool.dispose();
 */
export class GradientThreads {
  private readonly workers: Worker[];
  private readonly theta: Float64Array;
  private readonly rows: Uint32Array;
  private readonly partials: Float64Array;
  private readonly ctl = new Int32Array(shared(8));
  private disposed = false;

  constructor(build: GradientBuild, data: Float64Array, private readonly width: number, maxCount: number, readonly count: number) {
    const dataShared = new Float64Array(shared(data.length * 8), 0, data.length);
    dataShared.set(data);
    this.theta = new Float64Array(shared((width - 1) * 8), 0, width - 1);
    this.rows = new Uint32Array(shared(maxCount * 4), 0, maxCount);
    this.partials = new Float64Array(shared(chunkCount(maxCount) * width * 8), 0, chunkCount(maxCount) * width);
    const workerData = {
      build, width, data: dataShared.buffer, theta: this.theta.buffer, rows: this.rows.buffer, partials: this.partials.buffer, control: this.ctl.buffer,
      ...(build.kind !== 'perSample' && build.simd ? { wasm: wasmGemmBytes(), pages: wasmPages(build.size) } : {}),
    };
    this.workers = Array.from({ length: count - 1 }, () => {
      const worker = new Worker(GRADIENT_WORKER_SCRIPT, { eval: true, workerData });
      worker.unref();
      return worker;
    });
  }

  /**
   * out = the minibatch's sums (as `chunkedSums` on one thread): the workers and `chunks` on this thread claim
   * the chunks; the chunk sums are added in chunk order.
   */
  async sums(chunks: ChunkedGradient, data: Float64Array, theta: Float64Array, rows: Uint32Array, count: number, out: Float64Array): Promise<void> {
    if (this.disposed) throw new DarbouxError('INTERNAL', 'the training worker threads were disposed');
    this.theta.set(theta);
    this.rows.set(rows.subarray(0, count));
    Atomics.store(this.ctl, 0, 0);
    for (const worker of this.workers) worker.ref(); // a step in flight keeps the process alive
    try {
      const answers = Promise.all(this.workers.map((worker) => answer(worker)));
      answers.catch(() => undefined);
      for (const worker of this.workers) worker.postMessage({ count });
      chunks.prepare(theta);
      for (;;) {
        const k = Atomics.add(this.ctl, 0, 1), s0 = k * GRADIENT_CHUNK;
        if (s0 >= count) break;
        chunks.chunk(data, this.rows, s0, Math.min(GRADIENT_CHUNK, count - s0), this.partials.subarray(k * this.width, (k + 1) * this.width));
      }
      const failed = (await answers).find((a) => !a.ok);
      if (failed) throw new DarbouxError('INTERNAL', `a training worker thread failed: ${failed.message}`, { threads: this.count, message: failed.message });
      addChunkSums(out, this.partials, chunkCount(count));
    } finally {
      if (!this.disposed) for (const worker of this.workers) worker.unref();
    }
  }

  /** Terminates the workers. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const worker of this.workers) void worker.terminate();
  }
}

/**
 * The thread count of a fit's gradients: `requested` when given (at most one per chunk of the minibatch), else
 * `availableParallelism()` when the measured single-thread step (`stepMs`) and the rest of the fit
 * (`stepMs × remaining`) reach THREADED_TRAINING_MIN, else 1.
 *
 * @example
 * trainingThreads(undefined, 256, 10, 1000) // 2 on a 2-core machine
 */
export function trainingThreads(requested: number | undefined, batch: number, stepMs: number, remaining: number): number {
  const most = chunkCount(batch);
  if (requested !== undefined) return Math.max(1, Math.min(requested, most));
  if (stepMs < THREADED_TRAINING_MIN.stepMs || stepMs * remaining < THREADED_TRAINING_MIN.fitMs) return 1;
  return Math.max(1, Math.min(availableParallelism(), most));
}

/**
 * A fit's minibatch gradient on the CPU: chunked sums on this thread, or over a `GradientThreads` pool — asked
 * for (`threads`), or by default started once the first MEASURED_STEPS steps say it pays (`trainingThreads`).
 * Every thread count gives the same sums, so switching mid-fit changes no bit. `dispose` ends the workers.
 *
 * @example
 * const gradient = new MinibatchGradient(chunks, build, train.rows, 1 + P, 256, undefined, steps);
 * await gradient.sums(theta, rows, out);
 * gradient.dispose();
 */
export class MinibatchGradient {
  private pool: GradientThreads | undefined;
  private readonly partial: Float64Array;
  private readonly timings: number[] = [];
  private decided: boolean;
  private remaining: number;

  constructor(
    private readonly chunks: ChunkedGradient,
    private readonly build: GradientBuild,
    private readonly data: Float64Array,
    private readonly width: number,
    private readonly batch: number,
    requested: number | undefined,
    steps: number,
  ) {
    this.partial = new Float64Array(width);
    this.remaining = steps;
    this.decided = requested !== undefined;
    if (requested !== undefined) this.start(trainingThreads(requested, batch, 0, steps));
  }

  /** Threads the gradient runs on now (1 until the pool starts). */
  get threads(): number {
    return this.pool?.count ?? 1;
  }

  /** out = Σ loss and Σ ∂loss/∂θ over rows[0 … count−1]. */
  async sums(theta: Float64Array, rows: Uint32Array, out: Float64Array): Promise<void> {
    this.remaining--;
    if (this.pool !== undefined) return this.pool.sums(this.chunks, this.data, theta, rows, rows.length, out);
    const began = performance.now();
    chunkedSums(this.chunks, this.data, theta, rows, rows.length, out, this.partial);
    if (this.decided) return;
    this.timings.push(performance.now() - began);
    if (this.timings.length < MEASURED_STEPS) return;
    this.decided = true;
    const stepMs = [...this.timings].sort((a, b) => a - b)[this.timings.length >> 1]!; // the median (the first step also warms up)
    this.start(trainingThreads(undefined, this.batch, stepMs, this.remaining));
  }

  /** Terminates the workers, if any. */
  dispose(): void {
    this.pool?.dispose();
  }

  private start(count: number): void {
    if (count > 1) this.pool = new GradientThreads(this.build, this.data, this.width, this.batch, count);
  }
}
