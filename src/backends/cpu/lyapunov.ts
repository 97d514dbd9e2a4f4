/**
 * `lyapunov` on the f64 CPU backend (Benettin et al.): `count` tangent vectors advanced with the state by the
 * exact tangent step and re-orthonormalised by modified Gram–Schmidt every `renormalizeEvery` steps, the logs of
 * R's diagonal summed. Explicit methods run a generated loop (state and tangents together); implicit ones take
 * each step's exact Jacobian through the implicit function theorem (`jacobianFunction`) and advance the state with
 * the ordinary runner. Work is split into pieces of about CHUNK_TARGET_MS with a yield between them; with a
 * `pool`, explicit methods' trajectories go over worker threads when the work pays (lyapunov-threads.ts; the same
 * bits as here). Implicit methods stay on this thread.
 */
import type { JsRunFailure, JsRunner } from '../../codegen/emit-js-stepper.js';
import { compileJsLyapunovRunner, type JsLyapunovRunner } from '../../codegen/emit-js-lyapunov.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { specializeParameters } from '../../integrators/specialize.js';
import { checkLyapunovOptions, LyapunovAccumulator, orthonormalize, startingTangents, type LyapunovOptions, type LyapunovPlan, type LyapunovResult } from '../lyapunov-options.js';
import { RunControl } from '../run-control.js';
import { runFailureError } from '../run-failures.js';
import { jacobianFunction } from './jacobian.js';
import type { LyapunovPool } from './lyapunov-threads.js';

/** Advances trajectories bFrom…bTo−1 through steps sFrom…sTo−1 (state in Q, P, tangents in T); returns their failures. */
type Advance = (bFrom: number, bTo: number, sFrom: number, sTo: number) => JsRunFailure[];

/**
 * The CPU `lyapunov` of a step program with step size dt (`forward`: its ordinary runner, used by implicit methods).
 *
 * @example
 * const lyapunov = cpuLyapunov(leapfrogStep(h), 0.01, JS_FIXED_POINT, runner);
 * const { exponents } = await lyapunov({ q0: [0.1, 0], p0: [0, 0.3], steps: 10_000, count: 4 });
 */
export function cpuLyapunov(program: StepProgram, dt: number, settings: FixedPointSettings, forward: JsRunner, pool?: LyapunovPool): (options: LyapunovOptions) => Promise<LyapunovResult> {
  const h = program.system;
  const n = h.dof;
  const runners = new Map<number, JsLyapunovRunner>();
  let jacobian: ReturnType<typeof jacobianFunction> | undefined;
  return async (options) => {
    const plan = checkLyapunovOptions(options, n);
    const control = new RunControl(options, 'lyapunov', plan.steps);
    control.throwIfAborted();
    const Q = Float64Array.from(options.q0), P = Float64Array.from(options.p0);
    const T = tangentArrays(n, plan.batch, plan.count);
    let advance: Advance;
    if (program.implicit) {
      jacobian ??= jacobianFunction(program, settings);
      advance = implicitAdvance(jacobian, forward, h.paramValues, Q, P, T, plan, dt);
    } else {
      if (!runners.has(plan.count)) runners.set(plan.count, compileJsLyapunovRunner(specializeParameters(program), plan.count));
      const runner = runners.get(plan.count)!;
      const threads = pool?.threadsFor(plan) ?? 1;
      if (threads > 1) return pool!.run(plan, { source: runner.source, q0: options.q0, p0: options.p0, params: h.paramValues, dt, n, method: program.method }, control, threads);
      advance = (bFrom, bTo, sFrom, sTo) => runner(Q, P, T, h.paramValues, plan.batch, plan.steps, dt, plan.t0, bFrom, bTo, sFrom, sTo).failures!;
    }
    const accumulator = new LyapunovAccumulator(plan, dt);
    const failures = await driveRenormalized(plan, control, advance, renormalizer(T, n, plan.count, accumulator.logs), accumulator);
    if (failures.length > 0) throw runFailureError(`${program.method} (lyapunov)`, dt, failures, { batch: plan.batch });
    return accumulator.result(Q, P);
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
 * It stops after the first segment in which a trajectory failed, returning the failures (none before that segment).
 */
async function driveRenormalized(plan: LyapunovPlan, control: RunControl, advance: Advance, renormalize: (b: number) => void, accumulator: LyapunovAccumulator): Promise<JsRunFailure[]> {
  const { batch, steps, renormalizeEvery } = plan;
  const total = batch * steps;
  const failures: JsRunFailure[] = [];
  for (let s = 0; s < steps && failures.length === 0; ) {
    const sTo = Math.min(steps, s + renormalizeEvery), length = sTo - s;
    for (let b = 0; b < batch; ) {
      const group = Math.max(1, Math.min(batch - b, Math.floor(control.budget() / length)));
      for (let from = s; from < sTo; ) {
        const to = group > 1 ? sTo : Math.min(sTo, from + control.budget());
        const began = performance.now();
        const failed = advance(b, b + group, from, to);
        control.measured(group * (to - from), performance.now() - began);
        failures.push(...failed);
        from = failed.length > 0 ? sTo : to;
        await control.tick(s * batch + b * length + group * (from - s), total);
      }
      for (let k = b; k < b + group; k++) {
        if (failures.length > 0 && failures.some((f) => f.trajectory === k)) continue;
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

/** Implicit methods: per step, the exact one-step Jacobian at the current state times the tangents, then the state advanced by the runner. */
function implicitAdvance(
  jacobian: ReturnType<typeof jacobianFunction>,
  forward: JsRunner,
  params: readonly Float64Array[],
  Q: Float64Array,
  P: Float64Array,
  T: readonly Float64Array[],
  plan: LyapunovPlan,
  dt: number,
): Advance {
  const { batch, count } = plan;
  const n = Q.length / batch, m = 2 * n;
  const v = new Float64Array(m), w = new Float64Array(m);
  return (bFrom, bTo, sFrom, sTo) => {
    const failures: JsRunFailure[] = [];
    for (let b = bFrom; b < bTo; b++) {
      for (let s = sFrom; s < sTo; s++) {
        const J = jacobian(Q.subarray(b * n, (b + 1) * n), P.subarray(b * n, (b + 1) * n), dt, plan.t0 + s * dt);
        for (let j = 0; j < count; j++) {
          v.set(T[2 * j]!.subarray(b * n, b * n + n), 0);
          v.set(T[2 * j + 1]!.subarray(b * n, b * n + n), n);
          for (let r = 0; r < m; r++) {
            let sum = 0;
            for (let c = 0; c < m; c++) sum += J[r * m + c]! * v[c]!;
            w[r] = sum;
          }
          T[2 * j]!.set(w.subarray(0, n), b * n);
          T[2 * j + 1]!.set(w.subarray(n), b * n);
        }
        const status = forward(Q, P, params, batch, plan.steps, dt, plan.t0, 0, null, null, b, b + 1, s, s + 1);
        if (status.failures!.length > 0) {
          failures.push(status.failures![0]!);
          break;
        }
      }
    }
    return failures;
  };
}
