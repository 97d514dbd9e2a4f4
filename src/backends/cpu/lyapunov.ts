/**
 * `lyapunov` on the f64 CPU backend (Benettin et al.): `count` tangent vectors advanced with the state by the
 * exact tangent step and re-orthonormalised by modified Gram–Schmidt every `renormalizeEvery` steps, the logs of
 * R's diagonal summed, in one generated loop over the state and the tangents (implicit methods solve the tangents'
 * linear stage equations after their own, `tangentVectors`). Work is split into pieces of about CHUNK_TARGET_MS
 * with a yield between them; with a `pool`, trajectories go over worker threads when the work pays
 * (lyapunov-threads.ts; the same bits as here). With `onFailure: 'report'` (one thread) a failed trajectory stops at
 * its last finite state and keeps the estimate of its last renormalisation before the failure.
 */
import type { JsRunFailure } from '../../codegen/emit-js-stepper.js';
import { compileJsLyapunovRunner, type JsLyapunovRunner } from '../../codegen/emit-js-lyapunov.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { specializeParameters } from '../../integrators/specialize.js';
import { checkLyapunovOptions, LyapunovAccumulator, orthonormalize, startingTangents, type LyapunovOptions, type LyapunovPlan, type LyapunovResult } from '../lyapunov-options.js';
import { RunControl } from '../run-control.js';
import { runFailureError, trajectoryStatuses } from '../run-failures.js';
import type { LyapunovPool } from './lyapunov-threads.js';

/** Advances trajectories bFrom…bTo−1 through steps sFrom…sTo−1 (state in Q, P, tangents in T); returns their failures. */
type Advance = (bFrom: number, bTo: number, sFrom: number, sTo: number) => JsRunFailure[];

/**
 * The CPU `lyapunov` of a step program with step size dt, its solves converged with `settings`.
 *
 * @example
 * const lyapunov = cpuLyapunov(leapfrogStep(h), 0.01, JS_FIXED_POINT);
 * const { exponents } = await lyapunov({ q0: [0.1, 0], p0: [0, 0.3], steps: 10_000, count: 4 });
 */
export function cpuLyapunov(program: StepProgram, dt: number, settings: FixedPointSettings, pool?: LyapunovPool): (options: LyapunovOptions) => Promise<LyapunovResult> {
  const h = program.system;
  const n = h.dof;
  const runners = new Map<number, JsLyapunovRunner>();
  return async (options) => {
    const plan = checkLyapunovOptions(options, n);
    const control = new RunControl(options, 'lyapunov', plan.steps);
    control.throwIfAborted();
    const Q = Float64Array.from(options.q0), P = Float64Array.from(options.p0);
    const T = tangentArrays(n, plan.batch, plan.count);
    if (!runners.has(plan.count)) runners.set(plan.count, compileJsLyapunovRunner(specializeParameters(program), plan.count, settings));
    const runner = runners.get(plan.count)!;
    const threads = plan.onFailure === 'throw' ? (pool?.threadsFor(plan) ?? 1) : 1;
    if (threads > 1) return pool!.run(plan, { source: runner.source, q0: options.q0, p0: options.p0, params: h.paramValues, dt, n, method: program.method }, control, threads);
    const advance: Advance = (bFrom, bTo, sFrom, sTo) => runner(Q, P, T, h.paramValues, plan.batch, plan.steps, dt, plan.t0, bFrom, bTo, sFrom, sTo).failures!;
    const accumulator = new LyapunovAccumulator(plan, dt);
    const failures = await driveRenormalized(plan, control, advance, renormalizer(T, n, plan.count, accumulator.logs), accumulator);
    if (failures.length > 0 && plan.onFailure === 'throw') throw runFailureError(`${program.method} (lyapunov)`, dt, failures, { batch: plan.batch });
    for (const f of failures) accumulator.stopped(f.trajectory, f.step);
    const result = accumulator.result(Q, P);
    if (plan.onFailure === 'report') result.status = trajectoryStatuses(plan.batch, failures);
    return result;
  };
}

/** The tangents as 2·count arrays of batch × dof (δq of vector 0, δp of vector 0, …), every trajectory starting from `startingTangents`. */
function tangentArrays(n: number, batch: number, count: number): Float64Array[] {
  const basis = startingTangents(n, count);
  const T = Array.from({ length: 2 * count }, () => new Float64Array(batch * n));
  for (let j = 0; j < count; j++) {
    for (let b = 0; b < batch; b++) {
      T[2 * j]!.set(basis.subarray(2 * j * n, 2 * j * n + n), b * n);
      T[2 * j + 1]!.set(basis.subarray(2 * j * n + n, 2 * j * n + 2 * n), b * n);
    }
  }
  return T;
}

/** Re-orthonormalises trajectory b's tangents (gathered, modified Gram–Schmidt, scattered back), adding log R_jj to `logs`. */
function renormalizer(T: readonly Float64Array[], n: number, count: number, logs: Float64Array): (b: number) => void {
  const m = 2 * n;
  const v = new Float64Array(count * m);
  const copy = (b: number, gather: boolean) => {
    for (let j = 0; j < count; j++) {
      const tq = T[2 * j]!, tp = T[2 * j + 1]!;
      for (let i = 0, at = j * m, o = b * n; i < n; i++) {
        if (gather) {
          v[at + i] = tq[o + i]!;
          v[at + n + i] = tp[o + i]!;
        } else {
          tq[o + i] = v[at + i]!;
          tp[o + i] = v[at + n + i]!;
        }
      }
    }
  };
  return (b) => {
    copy(b, true);
    orthonormalize(v, 0, m, count, logs, b * count);
    copy(b, false);
  };
}

/**
 * Advances every trajectory in segments of `renormalizeEvery` steps, re-orthonormalising after each: a segment
 * runs over as many trajectories per call as the control's budget allows (trajectories × steps ≈ CHUNK_TARGET_MS
 * of work), or, for a long segment, one trajectory in pieces; the driver yields once CHUNK_TARGET_MS has passed.
 * A failed trajectory is not advanced or renormalised again. With onFailure 'throw' it stops after the first
 * segment in which a trajectory failed; with 'report' it goes on with the others. Returns the failures.
 */
async function driveRenormalized(plan: LyapunovPlan, control: RunControl, advance: Advance, renormalize: (b: number) => void, accumulator: LyapunovAccumulator): Promise<JsRunFailure[]> {
  const { batch, steps, renormalizeEvery } = plan;
  const total = batch * steps;
  const failures: JsRunFailure[] = [];
  const failed = new Uint8Array(batch);
  const stopAtFirst = plan.onFailure === 'throw';
  for (let s = 0; s < steps && !(stopAtFirst && failures.length > 0); ) {
    const sTo = Math.min(steps, s + renormalizeEvery), length = sTo - s;
    for (let b = 0; b < batch; ) {
      if (failed[b] === 1) {
        b++;
        continue;
      }
      let group = 1;
      const most = Math.max(1, Math.min(batch - b, Math.floor(control.budget() / length)));
      while (group < most && failed[b + group] === 0) group++;
      for (let from = s; from < sTo; ) {
        const to = group > 1 ? sTo : Math.min(sTo, from + control.budget());
        const began = performance.now();
        const failedNow = advance(b, b + group, from, to);
        control.measured(group * (to - from), performance.now() - began);
        for (const f of failedNow) failed[f.trajectory] = 1;
        failures.push(...failedNow);
        from = failedNow.length > 0 ? sTo : to;
        await control.tick(s * batch + b * length + group * (from - s), total);
      }
      for (let k = b; k < b + group; k++) {
        if (failed[k] === 1) continue;
        renormalize(k);
        accumulator.reached(k, sTo);
      }
      b += group;
    }
    s = sTo;
  }
  control.report(total, total);
  return failures;
}
