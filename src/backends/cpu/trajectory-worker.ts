/**
 * The script of a trajectory worker (CommonJS, evaluated by `new Worker(…, { eval: true })`): it compiles the
 * generated forward runner once from its source, then answers run messages. A run shares Q, P and the record
 * arrays with the main thread (SharedArrayBuffer); the worker claims blocks of trajectories from a shared counter
 * (Atomics.add), runs each block through the same generated code as the single-thread runner (trajectories are
 * independent, so every element is the same bit for bit), publishes its progress in its own slot of a shared
 * Float64Array, and checks a shared abort word between windows of about TRAJECTORY_WINDOW_MS. A trajectory longer
 * than a window runs in windows of steps (the runner's step window gives the same bits as one call).
 */

/** Words of a run's control array (Int32Array over shared memory): the next unclaimed trajectory, and abort. */
export const NEXT_TRAJECTORY = 0, ABORT_RUN = 1;

/** Length of a worker's window of work between abort checks and progress updates, in milliseconds. */
export const TRAJECTORY_WINDOW_MS = 10;

/** Work units (trajectory·steps) of a worker's first window, before it has measured its rate. */
export const FIRST_WINDOW_UNITS = 256;

/** What a worker answers to a run: its failures and iteration statistics, or an error message. */
export interface TrajectoryWorkerAnswer {
  ok: boolean;
  message?: string;
  aborted?: boolean;
  failures?: { kind: 'nonfinite' | 'noConvergence'; step: number; trajectory: number; residual?: number; iterations?: number }[];
  iterationsTotal?: number;
  iterationsMax?: number;
}

/** The message that starts a run in a worker (the arrays are views over shared memory, rebuilt there). */
export interface TrajectoryRunMessage {
  index: number;
  control: SharedArrayBuffer;
  progress: SharedArrayBuffer;
  Q: SharedArrayBuffer;
  P: SharedArrayBuffer;
  recordQ: SharedArrayBuffer | null;
  recordP: SharedArrayBuffer | null;
  params: Float64Array[];
  batch: number;
  steps: number;
  dt: number;
  t0: number;
  record: number;
  /** Most trajectories one claim may take (keeps the tail of the run balanced across workers). */
  maxClaim: number;
}

/**
 * The message loop that ends a worker script (trajectory and Lyapunov workers): each message is one `runAll(m)`; an
 * exception raises the run's abort word (so the other workers stop) and is answered as `{ ok: false, message }`.
 */
export const WORKER_MESSAGE_LOOP = `parentPort.on('message', (m) => {
  let out;
  try {
    out = runAll(m);
  } catch (e) {
    Atomics.store(new Int32Array(m.control), ${ABORT_RUN}, 1);
    out = { ok: false, message: String(e instanceof Object && 'message' in e ? e.message : e) };
  }
  parentPort.postMessage(out);
});
`;

/** The worker's script: compile once, then claim windows of trajectories until none are left or the run is aborted. */
export const TRAJECTORY_WORKER_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const runner = new Function(workerData.source)();
// Work units per ms of this runner, kept across runs (the first run starts from a small window and measures it).
let rate = 0;
function runAll(m) {
  const ctl = new Int32Array(m.control), progress = new Float64Array(m.progress);
  const Q = new Float64Array(m.Q), P = new Float64Array(m.P);
  const recordQ = m.recordQ === null ? null : new Float64Array(m.recordQ);
  const recordP = m.recordP === null ? null : new Float64Array(m.recordP);
  const out = { ok: true, aborted: false, failures: [], iterationsTotal: 0, iterationsMax: 0 };
  let done = 0;
  const budget = () => rate <= 0 ? ${FIRST_WINDOW_UNITS} : Math.max(1, Math.floor(rate * ${TRAJECTORY_WINDOW_MS}));
  const call = (b0, b1, s0, s1) => {
    const started = performance.now();
    const status = runner(Q, P, m.params, m.batch, m.steps, m.dt, m.t0, m.record, recordQ, recordP, b0, b1, s0, s1);
    const units = (b1 - b0) * (s1 - s0), measured = units / Math.max(performance.now() - started, 0.05);
    rate = rate <= 0 ? Math.min(measured, 8 * ${FIRST_WINDOW_UNITS} / ${TRAJECTORY_WINDOW_MS}) : Math.min(measured, 8 * rate);
    out.iterationsTotal += status.iterationsTotal;
    out.iterationsMax = Math.max(out.iterationsMax, status.iterationsMax);
    for (const f of status.failures) out.failures.push(f);
    return status.failures.length > 0;
  };
  for (;;) {
    if (Atomics.load(ctl, ${ABORT_RUN}) !== 0) { out.aborted = true; break; }
    const units = budget();
    const want = Math.max(1, Math.min(m.maxClaim, Math.floor(units / m.steps)));
    const b0 = Atomics.add(ctl, ${NEXT_TRAJECTORY}, want);
    if (b0 >= m.batch) break;
    const b1 = Math.min(m.batch, b0 + want);
    if (want * m.steps <= units) {
      call(b0, b1, 0, m.steps);
    } else {
      // One trajectory longer than a window: in windows of steps, stopping at its failure or an abort.
      for (let s = 0; s < m.steps;) {
        const length = Math.min(m.steps - s, budget());
        const failed = call(b0, b1, s, s + length);
        s += length;
        progress[m.index] = done + s;
        if (failed) break;
        if (s < m.steps && Atomics.load(ctl, ${ABORT_RUN}) !== 0) { out.aborted = true; return out; }
      }
    }
    done += (b1 - b0) * m.steps;
    progress[m.index] = done;
  }
  return out;
}
${WORKER_MESSAGE_LOOP}`;
