/**
 * Lyapunov spectra shared by every backend (Benettin et al. 1980): the options and result of `Stepper.lyapunov`,
 * their checks, the starting tangent basis, the modified Gram–Schmidt re-orthonormalisation, and the accumulator
 * of log-stretchings that turns them into exponents per unit time and their running estimate.
 */
import { DarbouxError, showValue } from '../errors.js';
import { checkRunOptions } from './checks.js';
import type { LyapunovOptions, LyapunovResult } from './lyapunov-types.js';

export type { LyapunovOptions, LyapunovResult } from './lyapunov-types.js';
import { checkOptionsObject, type Precision } from './input-checks.js';
import { onFailureMode } from './run-failures.js';
import type { OnFailure } from './stepper.js';

/** Normalised `lyapunov` options. */
export interface LyapunovPlan {
  batch: number;
  steps: number;
  t0: number;
  count: number;
  renormalizeEvery: number;
  historyEvery: number;
  onFailure: OnFailure;
}

/** At most this many history points by default. */
const HISTORY_POINTS = 1000;

/**
 * Checks `lyapunov` options against a stepper with `dof` degrees of freedom: those of `run` (INPUT), and `count`
 * in 1…2·dof, `renormalizeEvery` and `historyEvery` positive integers, `onFailure` 'throw' or 'report' (OPTION). @internal
 *
 * @example
 * checkLyapunovOptions({ q0: [0.1, 0], p0: [0, 0.2], steps: 1000, count: 4 }, 2); // { batch: 1, count: 4, renormalizeEvery: 1, … }
 */
export function checkLyapunovOptions(options: LyapunovOptions, dof: number, precision: Precision = 'f64'): LyapunovPlan {
  checkOptionsObject('lyapunov', options, '{ q0, p0, steps, batch?, count?, renormalizeEvery?, historyEvery?, t0?, onFailure? }');
  const { batch, steps, t0 } = checkRunOptions({ q0: options.q0, p0: options.p0, steps: options.steps, batch: options.batch, t0: options.t0 }, dof, precision);
  const count = optionCount('count', options.count, 1, 2 * dof, `the number of exponents: at most 2·dof = ${2 * dof} for this system`);
  const renormalizeEvery = optionCount('renormalizeEvery', options.renormalizeEvery, 1, Infinity, 'steps between two re-orthonormalisations, at least 1');
  const renormalizations = Math.ceil(steps / renormalizeEvery);
  const byDefault = renormalizeEvery * Math.max(1, Math.ceil(renormalizations / HISTORY_POINTS));
  const asked = optionCount('historyEvery', options.historyEvery, 1, Infinity, 'steps between two history points', byDefault);
  const historyEvery = Math.ceil(asked / renormalizeEvery) * renormalizeEvery;
  return { batch, steps, t0, count, renormalizeEvery, historyEvery, onFailure: onFailureMode(options.onFailure) };
}

/** An optional integer option in [min, max] (OPTION otherwise, naming it and what it means). */
function optionCount(name: string, value: unknown, min: number, max: number, meaning: string, fallback = min): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new DarbouxError('OPTION', `lyapunov: ${name} must be an integer in ${min}…${max === Infinity ? '∞' : max} (${meaning}), got ${showValue(value)}`, {
      option: name,
      value: showValue(value),
      min,
      max,
    });
  }
  return value;
}

/**
 * The starting tangent vectors: `count` orthonormal vectors of length 2·dof, the same for every trajectory and
 * backend (a fixed pseudo-random basis, so that no vector starts exactly orthogonal to a growing direction, as
 * unit vectors can by symmetry). Vector j is `basis[j·2n … (j+1)·2n)`, q components first.
 *
 * @example
 * const basis = startingTangents(2, 4); // 4 orthonormal vectors in R⁴
 */
export function startingTangents(dof: number, count: number): Float64Array {
  const m = 2 * dof;
  const basis = new Float64Array(count * m);
  let seed = 0x2545f491;
  for (let k = 0; k < basis.length; k++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    basis[k] = seed / 2 ** 32 - 0.5;
  }
  const logs = new Float64Array(count);
  orthonormalize(basis, 0, m, count, logs, 0);
  return basis;
}

/**
 * Modified Gram–Schmidt in place on `count` vectors of length `m` stored one after another from `at` in `v`:
 * afterwards they are orthonormal, and `logs[logAt + j]` has gained log R_jj (the log of vector j's length after
 * removing its components along vectors 0…j−1). Throws NONFINITE on a zero or non-finite length.
 *
 * @example
 * const v = Float64Array.of(3, 0, 1, 1), logs = new Float64Array(2);
 * orthonormalize(v, 0, 2, 2, logs, 0); // v = [1, 0, 0, 1], logs = [log 3, 0]
 */
export function orthonormalize(v: Float64Array, at: number, m: number, count: number, logs: Float64Array, logAt: number): void {
  const j = gramSchmidt(v, at, m, count, logs, logAt);
  if (j >= 0) throw tangentError(j, vectorNorm(v, at + j * m, m));
}

/**
 * The work of `orthonormalize` without its error: returns −1, or the first vector j whose length is zero or not
 * finite (vector j then holds what was left after removing its components along 0…j−1; later vectors are
 * untouched). Self-contained (no outer names): trajectory worker threads compile it from its source, so every
 * thread runs the same arithmetic (src/backends/cpu/lyapunov-threads.ts).
 *
 * @example
 * gramSchmidt(Float64Array.of(0, 0), 0, 2, 1, new Float64Array(1), 0) // 0 (a zero vector)
 */
export function gramSchmidt(v: Float64Array, at: number, m: number, count: number, logs: Float64Array, logAt: number): number {
  for (let j = 0; j < count; j++) {
    const vj = at + j * m;
    for (let i = 0; i < j; i++) {
      const vi = at + i * m;
      let r = 0;
      for (let k = 0; k < m; k++) r += v[vi + k]! * v[vj + k]!;
      for (let k = 0; k < m; k++) v[vj + k]! -= r * v[vi + k]!;
    }
    let norm2 = 0;
    for (let k = 0; k < m; k++) norm2 += v[vj + k]! * v[vj + k]!;
    let norm = Math.sqrt(norm2);
    if (norm2 === Infinity) {
      // Squares past 1e308 (a tangent near an escape): the length as max|v_k| · ‖v / max|v_k|‖ (inline: no outer names).
      let largest = 0;
      for (let k = 0; k < m; k++) largest = Math.max(largest, Math.abs(v[vj + k]!));
      let sum = 0;
      for (let k = 0; k < m; k++) sum += (v[vj + k]! / largest) ** 2;
      norm = largest * Math.sqrt(sum);
    }
    if (!(norm > 0 && norm < Infinity)) return j;
    for (let k = 0; k < m; k++) v[vj + k]! /= norm;
    logs[logAt + j]! += Math.log(norm);
  }
  return -1;
}

/** The length of the m-vector at `at` in v, as `gramSchmidt` computes it. */
function vectorNorm(v: Float64Array, at: number, m: number): number {
  let norm2 = 0;
  for (let k = 0; k < m; k++) norm2 += v[at + k]! * v[at + k]!;
  return Math.sqrt(norm2);
}

/**
 * The NONFINITE error of tangent vector j whose length became `norm` (zero or not finite).
 *
 * @example
 * throw tangentError(1, 0);
 */
export function tangentError(j: number, norm: number): DarbouxError {
  return new DarbouxError('NONFINITE', `lyapunov: tangent vector ${j} became ${norm === 0 ? 'zero' : 'non-finite'}; renormalize more often (smaller renormalizeEvery) or reduce dt`, { tangent: j, norm });
}

/**
 * out[outAt …] = the `count` log sums from logs[at …] divided by `time` (0 when time is 0), largest first (a
 * stable insertion sort: no allocation). Self-contained (no outer names): Lyapunov worker threads compile it from
 * its source, so every thread writes the same history bits.
 *
 * @example
 * const out = new Float64Array(2); writeAverages(Float64Array.of(1, 3), 0, 2, 2, out, 0); // out = [1.5, 0.5]
 */
export function writeAverages(logs: Float64Array, at: number, count: number, time: number, out: Float64Array, outAt: number): void {
  for (let j = 0; j < count; j++) {
    const s = time > 0 ? logs[at + j]! / time : 0;
    let i = j;
    while (i > 0 && out[outAt + i - 1]! < s) {
      out[outAt + i] = out[outAt + i - 1]!;
      i--;
    }
    out[outAt + i] = s;
  }
}

/**
 * Sums of log-stretchings per trajectory and exponent, and the history of their averages: `reached(b, steps)`
 * after each renormalisation of trajectory b, `stopped(b, step)` for a trajectory that failed at `step`,
 * `result` at the end. History points are after every `historyEvery` steps and after the last step. A stopped
 * trajectory's exponents are its estimate at its last renormalisation before the failure (the logs so far over
 * the time so far; 0 when it failed before its first), and its history points after that repeat it.
 *
 * @example
 * const acc = new LyapunovAccumulator(plan, dt);
 * orthonormalize(v, b * count * m, m, count, acc.logs, b * count); acc.reached(b, stepsDone);
 */
export class LyapunovAccumulator {
  /** Σ log R_jj so far, batch × count. */
  readonly logs: Float64Array;
  private readonly times: Float64Array;
  private readonly history: Float64Array;
  /** Steps each trajectory's logs cover: `steps`, or for a stopped one its last renormalisation. */
  private readonly covered: Float64Array;

  constructor(private readonly plan: LyapunovPlan, private readonly dt: number) {
    const { batch, count, steps, historyEvery } = plan;
    this.logs = new Float64Array(batch * count);
    this.covered = new Float64Array(batch).fill(steps);
    const points = Math.ceil(steps / historyEvery);
    this.times = Float64Array.from({ length: points }, (_, k) => plan.t0 + Math.min(steps, (k + 1) * historyEvery) * dt);
    this.history = new Float64Array(points * batch * count);
  }

  /**
   * Call after trajectory b's vectors were renormalised after `stepsDone` steps: records its history point when
   * due (from `this.logs`).
   */
  reached(b: number, stepsDone: number): void {
    const { batch, count, steps, historyEvery } = this.plan;
    if (stepsDone % historyEvery !== 0 && stepsDone !== steps) return;
    const k = Math.ceil(stepsDone / historyEvery) - 1;
    writeAverages(this.logs, b * count, count, stepsDone * Math.abs(this.dt), this.history, (k * batch + b) * count);
  }

  /** Takes log sums and history points computed elsewhere (worker threads, the same arithmetic): batch × count, points × batch × count. */
  adopt(logs: Float64Array, history: Float64Array): void {
    this.logs.set(logs);
    this.history.set(history);
  }

  /** Trajectory b failed at (0-based) step `step`: its logs cover the steps up to its last renormalisation before it. */
  stopped(b: number, step: number): void {
    const every = this.plan.renormalizeEvery;
    this.covered[b] = Math.min(this.covered[b]!, Math.floor(step / every) * every);
  }

  /** Trajectory b's exponents after `stepsDone` steps (at most the steps its logs cover), largest first. */
  averages(b: number, stepsDone: number): number[] {
    const { count } = this.plan;
    const out = new Float64Array(count);
    writeAverages(this.logs, b * count, count, Math.min(stepsDone, this.covered[b]!) * Math.abs(this.dt), out, 0);
    return Array.from(out);
  }

  /** The result, with the final state; history points past a stopped trajectory's last renormalisation repeat its estimate. */
  result(q: Float64Array, p: Float64Array): LyapunovResult {
    const { batch, count, steps, historyEvery } = this.plan;
    const exponents = new Float64Array(batch * count);
    for (let b = 0; b < batch; b++) {
      const estimate = this.averages(b, steps);
      exponents.set(estimate, b * count);
      if (this.covered[b]! >= steps) continue;
      for (let k = 0; k < this.times.length; k++) {
        if (Math.min(steps, (k + 1) * historyEvery) > this.covered[b]!) this.history.set(estimate, (k * batch + b) * count);
      }
    }
    return { exponents, time: steps * Math.abs(this.dt), history: { t: this.times, exponents: this.history }, q, p };
  }
}
