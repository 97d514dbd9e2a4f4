/**
 * The script of a Lyapunov worker (CommonJS, evaluated by `new Worker(…, { eval: true })`): it compiles
 * `gramSchmidt` from its source once (src/backends/lyapunov-options.ts) and each generated tangent runner it is
 * sent once (and `writeAverages`), then answers run messages. A run shares Q, P, the log sums and the history with the main
 * thread (SharedArrayBuffer). The worker claims blocks of trajectories from a shared counter and takes each block
 * through every segment of `renormalizeEvery` steps — the generated runner, then per trajectory gather, Gram–Schmidt,
 * scatter, as the single-thread driver does (trajectories are independent, so every bit is the same) — checking
 * the abort word and publishing its progress between calls. A block stops at its first segment with a failed
 * trajectory or a tangent that vanished, which it reports (`LyapunovEvent`); the main thread keeps the earliest.
 */

/** Words of a run's control array (Int32Array over shared memory): the next unclaimed trajectory, and abort. */
export const NEXT_TRAJECTORY = 0, ABORT_RUN = 1;

/** Length of a worker's window of work between abort checks and progress updates, in milliseconds. */
const WINDOW_MS = 10;

/** Work units (trajectory·steps) of a worker's first window, before it has measured its rate. */
const FIRST_WINDOW_UNITS = 256;

/**
 * Where a block stopped: in the segment ending after step `segment`, with run failures (`failures`) or a
 * tangent vector of a trajectory that became zero or non-finite (`tangent`).
 */
export interface LyapunovEvent {
  segment: number;
  failures?: { kind: 'nonfinite' | 'noConvergence'; step: number; trajectory: number; residual?: number; iterations?: number }[];
  tangent?: { trajectory: number; j: number; norm: number };
}

/** What a worker answers to a run. */
export interface LyapunovWorkerAnswer {
  ok: boolean;
  message?: string;
  aborted?: boolean;
  events?: LyapunovEvent[];
}

/** The message that starts a run in a worker (arrays over shared memory, rebuilt there). */
export interface LyapunovRunMessage {
  index: number;
  source: string;
  control: SharedArrayBuffer;
  progress: SharedArrayBuffer;
  Q: SharedArrayBuffer;
  P: SharedArrayBuffer;
  logs: SharedArrayBuffer;
  history: SharedArrayBuffer;
  basis: Float64Array;
  params: Float64Array[];
  batch: number;
  steps: number;
  dt: number;
  t0: number;
  n: number;
  count: number;
  renormalizeEvery: number;
  historyEvery: number;
  maxClaim: number;
}

/** The worker's script; `workerData.gramSchmidt` and `workerData.writeAverages` are the sources of those functions. */
export const LYAPUNOV_WORKER_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const gramSchmidt = new Function('return (' + workerData.gramSchmidt + ')')();
const writeAverages = new Function('return (' + workerData.writeAverages + ')')();
const runners = new Map();
let rate = 0;
function runAll(m) {
  let runner = runners.get(m.source);
  if (runner === undefined) runners.set(m.source, (runner = new Function(m.source)()));
  const ctl = new Int32Array(m.control), progress = new Float64Array(m.progress);
  const Q = new Float64Array(m.Q), P = new Float64Array(m.P), logs = new Float64Array(m.logs), history = new Float64Array(m.history);
  const { batch, steps, n, count, renormalizeEvery: every, historyEvery } = m, dim = 2 * n;
  const T = Array.from({ length: 2 * count }, () => new Float64Array(batch * n));
  const v = new Float64Array(count * dim);
  const out = { ok: true, aborted: false, events: [] };
  const budget = () => rate <= 0 ? ${FIRST_WINDOW_UNITS} : Math.max(1, Math.floor(rate * ${WINDOW_MS}));
  const advance = (b0, b1, s0, s1) => {
    const started = performance.now();
    const status = runner(Q, P, T, m.params, batch, steps, m.dt, m.t0, b0, b1, s0, s1);
    const units = (b1 - b0) * (s1 - s0), measured = units / Math.max(performance.now() - started, 0.05);
    rate = rate <= 0 ? Math.min(measured, 8 * ${FIRST_WINDOW_UNITS} / ${WINDOW_MS}) : Math.min(measured, 8 * rate);
    return status.failures;
  };
  const copy = (b, gather) => {
    for (let j = 0; j < count; j++) {
      const tq = T[2 * j], tp = T[2 * j + 1];
      for (let i = 0, at = j * dim, o = b * n; i < n; i++) {
        if (gather) { v[at + i] = tq[o + i]; v[at + n + i] = tp[o + i]; } else { tq[o + i] = v[at + i]; tp[o + i] = v[at + n + i]; }
      }
    }
  };
  let done = 0;
  for (;;) {
    if (Atomics.load(ctl, ${ABORT_RUN}) !== 0) { out.aborted = true; break; }
    const want = Math.max(1, Math.min(m.maxClaim, Math.floor(budget() / every)));
    const b0 = Atomics.add(ctl, ${NEXT_TRAJECTORY}, want);
    if (b0 >= batch) break;
    const b1 = Math.min(batch, b0 + want);
    for (let b = b0; b < b1; b++) {
      for (let j = 0; j < count; j++) {
        T[2 * j].set(m.basis.subarray(2 * j * n, 2 * j * n + n), b * n);
        T[2 * j + 1].set(m.basis.subarray(2 * j * n + n, 2 * j * n + 2 * n), b * n);
      }
    }
    for (let s = 0; s < steps; ) {
      const sTo = Math.min(steps, s + every);
      let failures;
      if (b1 - b0 > 1) failures = advance(b0, b1, s, sTo);
      else {
        // One trajectory, a segment longer than a window: in windows of steps, stopping at its failure.
        failures = [];
        for (let from = s; from < sTo; ) {
          const to = Math.min(sTo, from + budget());
          failures = advance(b0, b1, from, to);
          from = failures.length > 0 ? sTo : to;
          progress[m.index] = done + (from - s);
          if (from < sTo && Atomics.load(ctl, ${ABORT_RUN}) !== 0) { out.aborted = true; return out; }
        }
      }
      let tangent;
      for (let b = b0; b < b1 && tangent === undefined; b++) {
        if (failures.some((f) => f.trajectory === b)) continue;
        copy(b, true);
        const j = gramSchmidt(v, 0, dim, count, logs, b * count);
        if (j >= 0) {
          let norm2 = 0;
          for (let k = 0; k < dim; k++) norm2 += v[j * dim + k] * v[j * dim + k];
          tangent = { trajectory: b, j, norm: Math.sqrt(norm2) };
          break;
        }
        copy(b, false);
        if (sTo % historyEvery === 0 || sTo === steps) {
          const k = Math.ceil(sTo / historyEvery) - 1;
          writeAverages(logs, b * count, count, sTo * Math.abs(m.dt), history, (k * batch + b) * count);
        }
      }
      done += (b1 - b0) * (sTo - s);
      progress[m.index] = done;
      if (tangent !== undefined || failures.length > 0) {
        out.events.push(tangent !== undefined ? { segment: s, tangent } : { segment: s, failures });
        break;
      }
      s = sTo;
      if (s < steps && Atomics.load(ctl, ${ABORT_RUN}) !== 0) { out.aborted = true; return out; }
    }
  }
  return out;
}
parentPort.on('message', (m) => {
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
