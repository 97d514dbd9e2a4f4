/**
 * The threaded f64 CPU runner: the generated runner of a step program with threaded pair loops
 * (src/ir/ops/pair-threads.ts), run by T worker threads at once. The pair loops are split by ranges of sites, their
 * per-worker sums exchanged through shared memory and a barrier (Atomics.wait/notify) per pair evaluation; for
 * explicit methods the elementwise passes over the state are split too, each worker updating its own range of
 * sites in shared arrays (thread-split-source.ts), otherwise every worker integrates a private copy of the state
 * and only the pair loops are split. The main thread only posts the run and
 * awaits the answer: it never blocks. Results equal the single-thread runner's up to the order of the pair sums
 * (agreement ~1e-15 relative per evaluation), and are reproducible bit for bit for a given thread count. Workers
 * are unreferenced between runs (they never keep the process alive) and terminated by `dispose`.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DarbouxError } from '../../errors.js';
import { OUT_OF_MEMORY, outOfMemory } from '../../codegen/emit-js.js';
import { jsRunnerSource, type JsRunStatus } from '../../codegen/emit-js-stepper.js';
import { optimizableSource } from '../../codegen/js-kernel.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { topologicalOrder } from '../../ir/traverse.js';
import { geometry } from '../../ir/ops/pair-geometry.js';
import { neighbourGrid } from '../../ir/ops/pair-neighbours.js';
import { enablePairThreads, enableThreadSplit, THREAD_BARRIER, THREAD_INDEX, type PairThreads } from '../../ir/ops/pair-threads.js';
import { isSplitUnsupported } from '../../codegen/js-kernel.js';
import { shareSplitArrays, splitPreamble, splitWidth } from './thread-split-source.js';

/** The pair ops whose loops a threaded runner splits. */
const PAIR_OPS = new Set(['pairSum', 'pairGradient', 'pairHessianVector']);

/**
 * Sites from which the default thread count is `availableParallelism()`: below, one thread. Measured on the LJ
 * benchmark state (leapfrog with split passes, steady state, medians; wall / CPU time of all threads per step,
 * 1 thread vs 2 on two quiet cores): 864 atoms 0.24 / 0.24 vs 0.18 / 0.31 ms, 2 048: 0.58 / 0.61 vs 0.43 / 0.70,
 * 4 000: 1.19 / 1.23 vs 0.86 / 1.46, 8 788: 2.70 / 2.73 vs 1.71 / 2.95 — so 1.3–1.6× in wall time from ~1 000
 * atoms on. Each worker also compiles the runner once (V8, ~0.2–0.5 s of CPU), which only long runs repay: hence
 * the margin.
 */
export const THREADED_MIN_SITES = 2000;

/** The largest site count among the pair ops of a program with a neighbour list, and whether it has pair ops at all. */
function pairSites(program: StepProgram): { any: boolean; listed: number } {
  const fp = program.implicit;
  const roots = [program.next.q, program.next.p, ...(fp ? [...(fp.iteration ?? fp.update), ...fp.initial, ...(fp.scale ?? [])] : [])];
  let any = false, listed = 0;
  for (const node of topologicalOrder(roots)) {
    if (!PAIR_OPS.has(node.op)) continue;
    any = true;
    const g = geometry(node.attrs);
    if (neighbourGrid(g) !== null) listed = Math.max(listed, g.n);
  }
  return { any, listed };
}

/**
 * The thread count a CPU stepper runs `program` with: `requested` (a positive integer) when the program has pair
 * loops to split, else 1; by default `availableParallelism()` for particle systems with neighbour lists of at
 * least THREADED_MIN_SITES sites, 1 otherwise.
 *
 * @example
 * runnerThreads(leapfrogStep(lj32000.hamiltonian), undefined) // 2 on a 2-core machine
 */
export function runnerThreads(program: StepProgram, requested: number | undefined): number {
  if (requested !== undefined && !(Number.isSafeInteger(requested) && requested >= 1 && requested <= 256)) {
    throw new DarbouxError('OPTION', `threads must be an integer from 1 to 256, got ${String(requested)}`, { threads: requested });
  }
  const { any, listed } = pairSites(program);
  if (!any) return 1;
  if (requested !== undefined) return requested;
  return listed >= THREADED_MIN_SITES ? Math.max(1, availableParallelism()) : 1;
}

/**
 * The threaded runner's source (for `new Function('thread', source)`) and the shared arrays it reads.
 *
 * @example
 * const { source, threads } = threadedRunnerSource(program, JS_FIXED_POINT, 2);
 */
export function threadedRunnerSource(program: StepProgram, settings: FixedPointSettings, count: number): { source: string; threads: PairThreads } {
  const width = splitWidth(program);
  if (width !== null) {
    try {
      const split = generate(program, settings, count, width);
      const shared = shareSplitArrays(split.body, split.threads, split.threads.split!);
      if (shared !== null) return withPreamble(shared, split.threads, splitPreamble(split.threads, split.threads.split!));
    } catch (e) {
      if (!isSplitUnsupported(e)) throw e;
    }
  }
  const { body, threads } = generate(program, settings, count, null);
  return withPreamble(body, threads, []);
}

/** The runner's body, threaded over `count` workers (with passes split by sites of `width` elements, unless null). */
function generate(program: StepProgram, settings: FixedPointSettings, count: number, width: number | null): { body: string; threads: PairThreads } {
  let threads: PairThreads | undefined;
  const fp = program.implicit;
  const roots = [program.next.q, program.next.p, ...(fp ? [...(fp.iteration ?? fp.update), ...fp.initial, ...(fp.scale ?? [])] : [])];
  const body = optimizableSource((unrollLimit) => jsRunnerSource(program, settings, unrollLimit, (lowering) => {
    threads = enablePairThreads(lowering, count);
    if (width !== null) enableThreadSplit(threads, program.system.dof, width);
  }), roots);
  return { body, threads: threads! };
}

/** The source with the threaded preamble (the worker's names, shared views, then `extra`) after "use strict". */
function withPreamble(body: string, threads: PairThreads, extra: readonly string[]): { source: string; threads: PairThreads } {
  const preamble = [
    `const ${THREAD_INDEX} = thread.index;`,
    `const ${THREAD_BARRIER} = thread.barrier;`,
    ...threads.shared.map((s, k) => `const ${s.name} = thread.shared[${k}];`),
    ...extra,
  ];
  return { source: body.replace('"use strict";', ['"use strict";', ...preamble].join('\n')), threads };
}

/** The runner's arguments as `JsRunner` takes them (the arrays are written in place). */
export type RunnerArguments = [
  Q: Float64Array, P: Float64Array, params: readonly Float64Array[], batch: number, steps: number, dt: number, tStart: number,
  recordEvery: number, recordQ: Float64Array | null, recordP: Float64Array | null,
];

/** A generated runner run by worker threads. */
export interface ThreadedRunner {
  readonly threads: number;
  readonly source: string;
  /** Runs like `JsRunner` (Q, P, recordQ, recordP written in place), in the workers; runs are queued. */
  run(...args: RunnerArguments): Promise<JsRunStatus>;
  /** Terminates the workers. */
  dispose(): void;
}

/** Control words of the barrier (Int32Array over shared memory). */
const ARRIVED = 0, GENERATION = 1, ABORTED = 2, SLEEPING = 3;

/**
 * The worker's script (CommonJS, evaluated): a sense-reversing barrier (spin briefly, then Atomics.wait; the last
 * to arrive calls Atomics.notify only when a worker sleeps — counted in SLEEPING before it waits, so a release
 * either sees it or its wait sees the new generation — which halves a barrier's cost when all spin), the
 * compiled runner, and the run message handler. A failing worker raises the abort word and wakes the others,
 * whose barriers then throw, so no worker is left waiting.
 */
const WORKER_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const { source, index, count, control, shared } = workerData;
const ctl = new Int32Array(control);
const ABORT = Symbol('another worker of this run failed');
function barrier() {
  if (Atomics.load(ctl, ${ABORTED}) !== 0) throw ABORT;
  const generation = Atomics.load(ctl, ${GENERATION});
  if (Atomics.add(ctl, ${ARRIVED}, 1) === count - 1) {
    Atomics.store(ctl, ${ARRIVED}, 0);
    Atomics.add(ctl, ${GENERATION}, 1);
    if (Atomics.load(ctl, ${SLEEPING}) > 0) Atomics.notify(ctl, ${GENERATION});
    return;
  }
  for (let spin = 0; Atomics.load(ctl, ${GENERATION}) === generation; spin++) {
    if (spin > 2000) {
      Atomics.add(ctl, ${SLEEPING}, 1);
      Atomics.wait(ctl, ${GENERATION}, generation, 100);
      Atomics.sub(ctl, ${SLEEPING}, 1);
    }
    if (Atomics.load(ctl, ${ABORTED}) !== 0) throw ABORT;
  }
}
const run = new Function('thread', source)({ index, barrier, shared: shared.map((b) => new Float64Array(b)) });
parentPort.on('message', (m) => {
  try {
    // Only worker 0's frames are returned: the others record nothing (recording has no barrier in it).
    const recordQ = m.recordLength > 0 && index === 0 ? new Float64Array(m.recordLength) : null;
    const recordP = m.recordLength > 0 && index === 0 ? new Float64Array(m.recordLength) : null;
    const status = run(m.Q, m.P, m.params, m.batch, m.steps, m.dt, m.tStart, m.recordEvery, recordQ, recordP);
    if (index !== 0) { parentPort.postMessage({ ok: true }); return; }
    const transfer = [m.Q.buffer, m.P.buffer, ...(recordQ ? [recordQ.buffer, recordP.buffer] : [])];
    parentPort.postMessage({ ok: true, status, Q: m.Q, P: m.P, recordQ, recordP }, transfer);
  } catch (e) {
    Atomics.store(ctl, ${ABORTED}, 1);
    Atomics.add(ctl, ${GENERATION}, 1);
    Atomics.notify(ctl, ${GENERATION});
    parentPort.postMessage({ ok: false, aborted: e === ABORT, message: e === ABORT ? 'aborted' : String(e instanceof Object && 'message' in e ? e.message : e) });
  }
});
`;

/** What a worker answers to a run. */
interface WorkerAnswer {
  ok: boolean;
  aborted?: boolean;
  message?: string;
  status?: JsRunStatus;
  Q?: Float64Array; P?: Float64Array; recordQ?: Float64Array | null; recordP?: Float64Array | null;
}

/** The next answer of a worker (rejects when it errors or exits). */
function answer(worker: Worker): Promise<WorkerAnswer> {
  return new Promise((resolve, reject) => {
    const done = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
    const onMessage = (m: WorkerAnswer) => { done(); resolve(m); };
    const onError = (e: Error) => { done(); reject(e); };
    const onExit = (code: number) => { done(); reject(new DarbouxError('INTERNAL', `a worker thread of the threaded CPU runner exited (code ${code})`, { code })); };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

/**
 * Compiles the threaded runner of `program` over `count` workers (started now, unreferenced while idle).
 *
 * @example
 * const runner = compileThreadedRunner(program, JS_FIXED_POINT, 2);
 * const status = await runner.run(Q, P, params, 1, 100, 0.005, 0, 0, null, null);
 * runner.dispose();
 */
export function compileThreadedRunner(program: StepProgram, settings: FixedPointSettings, count: number): ThreadedRunner {
  const { source, threads } = threadedRunnerSource(program, settings, count);
  const control = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
  const ctl = new Int32Array(control);
  const shared = threads.shared.map((s) => new SharedArrayBuffer(s.length * Float64Array.BYTES_PER_ELEMENT));
  const workers = Array.from({ length: count }, (_, index) => {
    const worker = new Worker(WORKER_SCRIPT, { eval: true, workerData: { source, index, count, control, shared } });
    worker.unref();
    return worker;
  });
  let queue: Promise<unknown> = Promise.resolve();
  let disposed = false;
  const runOnce = async (...[Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP]: RunnerArguments): Promise<JsRunStatus> => {
    if (disposed) throw new DarbouxError('INPUT', 'this stepper was disposed');
    Atomics.store(ctl, ARRIVED, 0);
    Atomics.store(ctl, ABORTED, 0);
    const recordLength = recordQ === null ? 0 : recordQ.length;
    for (const worker of workers) worker.ref(); // a run in flight keeps the process alive
    try {
      const answers = workers.map((worker) => answer(worker));
      for (const worker of workers) {
        worker.postMessage({ Q: Q.slice(), P: P.slice(), params: params.map((a) => a.slice()), batch, steps, dt, tStart, recordEvery, recordLength });
      }
      const results = await Promise.all(answers).catch((e: unknown) => {
        if (disposed) throw new DarbouxError('INPUT', 'this stepper was disposed during a run');
        throw e;
      });
      const failed = results.find((r) => !r.ok && !r.aborted) ?? results.find((r) => !r.ok);
      if (failed && OUT_OF_MEMORY.test(failed.message ?? '')) throw outOfMemory('a worker thread of the threaded CPU runner', failed.message!);
      if (failed) throw new DarbouxError('INTERNAL', `a worker thread of the threaded CPU runner failed: ${failed.message}`, { threads: count });
      const first = results[0]!;
      Q.set(first.Q!);
      P.set(first.P!);
      if (recordQ !== null && recordP !== null) { recordQ.set(first.recordQ!); recordP.set(first.recordP!); }
      return first.status!;
    } finally {
      if (!disposed) for (const worker of workers) worker.unref();
    }
  };
  return {
    threads: count,
    source,
    run(...args) {
      const result = queue.then(() => runOnce(...args));
      queue = result.catch(() => undefined);
      return result;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const worker of workers) void worker.terminate();
    },
  };
}

/**
 * Settings of the CPU stepper: fixed-point settings, the thread count of `run` (see `runnerThreads`) and the forward
 * runner (`cpuForwardRunner`: 'auto', 'js' or 'wasm').
 */
export type CpuSettings = Partial<FixedPointSettings> & { threads?: number; cpuRunner?: 'auto' | 'js' | 'wasm' };

/**
 * The threaded runner of `program` when it runs on more than one thread (`runnerThreads`), else null (the
 * single-thread runner applies).
 *
 * @example
 * const threaded = threadedRunner(program, JS_FIXED_POINT, 2); // null for a program without pair loops
 */
export function threadedRunner(program: StepProgram, settings: FixedPointSettings, threads: number | undefined): ThreadedRunner | null {
  const count = runnerThreads(program, threads);
  return count > 1 ? compileThreadedRunner(program, settings, count) : null;
}
