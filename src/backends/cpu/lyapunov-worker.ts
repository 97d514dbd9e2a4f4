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
import { ABORT_RUN, NEXT_TRAJECTORY, WORKER_MESSAGE_LOOP } from './trajectory-worker.js';

/**
 * Words of a run's control array (Int32Array over shared memory): the next unclaimed trajectory, and abort — the
 * trajectory pool's layout (its `awaitWorkers` raises ABORT_RUN).
 */
export { ABORT_RUN, NEXT_TRAJECTORY };

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
// The run's shared arrays, tangents and helpers (the runner compiled once per source).
function context(m) {
  let runner = runners.get(m.source);
  if (runner === undefined) runners.set(m.source, (runner = new Function(m.source)()));
  const c = { m, ctl: new Int32Array(m.control), progress: new Float64Array(m.progress), done: 0 };
  c.Q = new Float64Array(m.Q); c.P = new Float64Array(m.P); c.logs = new Float64Array(m.logs); c.history = new Float64Array(m.history);
  c.T = Array.from({ length: 2 * m.count }, () => new Float64Array(m.batch * m.n));
  c.v = new Float64Array(2 * m.count * m.n);
  c.advance = (b0, b1, s0, s1) => {
    const started = performance.now();
    const status = runner(c.Q, c.P, c.T, m.params, m.batch, m.steps, m.dt, m.t0, b0, b1, s0, s1);
    const units = (b1 - b0) * (s1 - s0), measured = units / Math.max(performance.now() - started, 0.05);
    rate = rate <= 0 ? Math.min(measured, 8 * ${FIRST_WINDOW_UNITS} / ${WINDOW_MS}) : Math.min(measured, 8 * rate);
    return status.failures;
  };
  return c;
}
const budget = () => rate <= 0 ? ${FIRST_WINDOW_UNITS} : Math.max(1, Math.floor(rate * ${WINDOW_MS}));
const aborted = (c) => Atomics.load(c.ctl, ${ABORT_RUN}) !== 0;
// Trajectory b's tangents into v (gather) or back (scatter).
function copy(c, b, gather) {
  const { n, count } = c.m, dim = 2 * n;
  for (let j = 0; j < count; j++) {
    const tq = c.T[2 * j], tp = c.T[2 * j + 1];
    for (let i = 0, at = j * dim, o = b * n; i < n; i++) {
      if (gather) { c.v[at + i] = tq[o + i]; c.v[at + n + i] = tp[o + i]; } else { tq[o + i] = c.v[at + i]; tp[o + i] = c.v[at + n + i]; }
    }
  }
}
// Steps s…sTo of trajectories b0…b1−1: one call, or for one trajectory windows of steps stopping at its failure.
function segment(c, b0, b1, s, sTo) {
  if (b1 - b0 > 1) return c.advance(b0, b1, s, sTo);
  let failures = [];
  for (let from = s; from < sTo; ) {
    const to = Math.min(sTo, from + budget());
    failures = c.advance(b0, b1, from, to);
    from = failures.length > 0 ? sTo : to;
    c.progress[c.m.index] = c.done + (from - s);
    if (from < sTo && aborted(c)) return null;
  }
  return failures;
}
// Renormalises the block's trajectories that did not fail (their logs and history points); the first vanished tangent, if any.
function renormalize(c, b0, b1, failures, sTo) {
  const { n, count, batch, steps, historyEvery, dt } = c.m, dim = 2 * n;
  for (let b = b0; b < b1; b++) {
    if (failures.some((f) => f.trajectory === b)) continue;
    copy(c, b, true);
    const j = gramSchmidt(c.v, 0, dim, count, c.logs, b * count);
    if (j >= 0) {
      let norm2 = 0;
      for (let k = 0; k < dim; k++) norm2 += c.v[j * dim + k] * c.v[j * dim + k];
      return { trajectory: b, j, norm: Math.sqrt(norm2) };
    }
    copy(c, b, false);
    if (sTo % historyEvery === 0 || sTo === steps) {
      writeAverages(c.logs, b * count, count, sTo * Math.abs(dt), c.history, ((Math.ceil(sTo / historyEvery) - 1) * batch + b) * count);
    }
  }
  return undefined;
}
// A block through every segment: its event (or undefined), or null when aborted.
function runBlock(c, b0, b1) {
  const { n, count, steps, renormalizeEvery } = c.m;
  for (let b = b0; b < b1; b++) {
    for (let j = 0; j < count; j++) {
      c.T[2 * j].set(c.m.basis.subarray(2 * j * n, 2 * j * n + n), b * n);
      c.T[2 * j + 1].set(c.m.basis.subarray(2 * j * n + n, 2 * j * n + 2 * n), b * n);
    }
  }
  for (let s = 0; s < steps; ) {
    const sTo = Math.min(steps, s + renormalizeEvery);
    const failures = segment(c, b0, b1, s, sTo);
    if (failures === null) return null;
    const tangent = renormalize(c, b0, b1, failures, sTo);
    c.done += (b1 - b0) * (sTo - s);
    c.progress[c.m.index] = c.done;
    if (tangent !== undefined) return { segment: s, tangent };
    if (failures.length > 0) return { segment: s, failures };
    s = sTo;
    if (s < steps && aborted(c)) return null;
  }
  return undefined;
}
function runAll(m) {
  const c = context(m);
  const out = { ok: true, aborted: false, events: [] };
  for (;;) {
    if (aborted(c)) { out.aborted = true; break; }
    const want = Math.max(1, Math.min(m.maxClaim, Math.floor(budget() / m.renormalizeEvery)));
    const b0 = Atomics.add(c.ctl, ${NEXT_TRAJECTORY}, want);
    if (b0 >= m.batch) break;
    const event = runBlock(c, b0, Math.min(m.batch, b0 + want));
    if (event === null) { out.aborted = true; break; }
    if (event !== undefined) out.events.push(event);
  }
  return out;
}
${WORKER_MESSAGE_LOOP}`;
