/**
 * `lyapunov` on the f64 CPU backend (Benettin et al.): `count` tangent vectors advanced with the state by the
 * exact tangent step and re-orthonormalised by modified Gram–Schmidt every `renormalizeEvery` steps, the logs of
 * R's diagonal summed. Explicit methods run a generated loop (state and tangents together); implicit ones take
 * each step's exact Jacobian through the implicit function theorem (`jacobianFunction`) and advance the state with
 * the ordinary runner. Work is split into pieces of about CHUNK_TARGET_MS with a yield between them.
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

/** Advances trajectory b through steps sFrom…sTo−1, state in Q, P and tangents in `tangents` (count × 2n per trajectory); returns a failure or null. */
type Advance = (b: number, sFrom: number, sTo: number) => JsRunFailure | null;

/**
 * The CPU `lyapunov` of a step program with step size dt (`forward`: its ordinary runner, used by implicit methods).
 *
 * @example
 * const lyapunov = cpuLyapunov(leapfrogStep(h), 0.01, JS_FIXED_POINT, runner);
 * const { exponents } = await lyapunov({ q0: [0.1, 0], p0: [0, 0.3], steps: 10_000, count: 4 });
 */
export function cpuLyapunov(program: StepProgram, dt: number, settings: FixedPointSettings, forward: JsRunner): (options: LyapunovOptions) => Promise<LyapunovResult> {
  const h = program.system;
  const n = h.dof, m = 2 * n;
  const runners = new Map<number, JsLyapunovRunner>();
  let jacobian: ReturnType<typeof jacobianFunction> | undefined;
  return async (options) => {
    const plan = checkLyapunovOptions(options, n);
    const control = new RunControl(options, 'lyapunov', plan.steps);
    control.throwIfAborted();
    const Q = Float64Array.from(options.q0), P = Float64Array.from(options.p0);
    const tangents = new Float64Array(plan.batch * plan.count * m);
    const basis = startingTangents(n, plan.count);
    for (let b = 0; b < plan.batch; b++) tangents.set(basis, b * basis.length);
    let advance: Advance;
    if (program.implicit) {
      jacobian ??= jacobianFunction(program, settings);
      advance = implicitAdvance(jacobian, forward, h.paramValues, Q, P, tangents, plan, dt);
    } else {
      if (!runners.has(plan.count)) runners.set(plan.count, compileJsLyapunovRunner(specializeParameters(program), plan.count));
      advance = explicitAdvance(runners.get(plan.count)!, h.paramValues, Q, P, tangents, plan, dt);
    }
    const accumulator = new LyapunovAccumulator(plan, dt);
    const failures: JsRunFailure[] = [];
    await driveRenormalized(plan, control, advance, (b) => orthonormalize(tangents, b * plan.count * m, m, plan.count, accumulator.logs, b * plan.count), accumulator, failures);
    if (failures.length > 0) throw runFailureError(`${program.method} (lyapunov)`, dt, failures, { batch: plan.batch });
    return accumulator.result(Q, P);
  };
}

/**
 * Runs every trajectory (in turn) through its steps in segments of `renormalizeEvery`, each split into pieces
 * the control's budget allows, re-orthonormalising after each segment, and yielding between pieces once
 * CHUNK_TARGET_MS has passed. A failed trajectory is recorded and left (its exponents are not used).
 */
async function driveRenormalized(
  plan: LyapunovPlan,
  control: RunControl,
  advance: Advance,
  renormalize: (b: number) => void,
  accumulator: LyapunovAccumulator,
  failures: JsRunFailure[],
): Promise<void> {
  const total = plan.batch * plan.steps;
  for (let b = 0; b < plan.batch; b++) {
    trajectory: for (let s = 0; s < plan.steps; ) {
      const segmentEnd = Math.min(plan.steps, s + plan.renormalizeEvery);
      while (s < segmentEnd) {
        const to = Math.min(segmentEnd, s + control.budget());
        const began = performance.now();
        const failure = advance(b, s, to);
        control.measured(to - s, performance.now() - began);
        if (failure !== null) {
          failures.push(failure);
          break trajectory;
        }
        s = to;
        await control.tick(b * plan.steps + s, total);
      }
      renormalize(b);
      accumulator.reached(b, s);
    }
  }
  control.report(total, total);
}

/** The generated loop, one trajectory at a time: the tangents copied into its 2·count arrays and back. */
function explicitAdvance(runner: JsLyapunovRunner, params: readonly Float64Array[], Q: Float64Array, P: Float64Array, tangents: Float64Array, plan: LyapunovPlan, dt: number): Advance {
  const { batch, count } = plan;
  const n = Q.length / batch, m = 2 * n;
  const T = Array.from({ length: 2 * count }, () => new Float64Array(batch * n));
  const scatter = (b: number, into: boolean) => {
    for (let j = 0; j < count; j++) {
      const at = (b * count + j) * m;
      const tq = T[2 * j]!, tp = T[2 * j + 1]!;
      for (let i = 0; i < n; i++) {
        if (into) {
          tq[b * n + i] = tangents[at + i]!;
          tp[b * n + i] = tangents[at + n + i]!;
        } else {
          tangents[at + i] = tq[b * n + i]!;
          tangents[at + n + i] = tp[b * n + i]!;
        }
      }
    }
  };
  return (b, sFrom, sTo) => {
    scatter(b, true);
    const status = runner(Q, P, T, params, batch, plan.steps, dt, plan.t0, b, b + 1, sFrom, sTo);
    scatter(b, false);
    return status.failures![0] ?? null;
  };
}

/** Implicit methods: per step, the exact one-step Jacobian at the current state times the tangents, then the state advanced by the runner. */
function implicitAdvance(
  jacobian: ReturnType<typeof jacobianFunction>,
  forward: JsRunner,
  params: readonly Float64Array[],
  Q: Float64Array,
  P: Float64Array,
  tangents: Float64Array,
  plan: LyapunovPlan,
  dt: number,
): Advance {
  const { batch, count } = plan;
  const n = Q.length / batch, m = 2 * n;
  const column = new Float64Array(m);
  return (b, sFrom, sTo) => {
    for (let s = sFrom; s < sTo; s++) {
      const J = jacobian(Q.subarray(b * n, (b + 1) * n), P.subarray(b * n, (b + 1) * n), dt, plan.t0 + s * dt);
      for (let j = 0; j < count; j++) {
        const at = (b * count + j) * m;
        for (let r = 0; r < m; r++) {
          let sum = 0;
          for (let c = 0; c < m; c++) sum += J[r * m + c]! * tangents[at + c]!;
          column[r] = sum;
        }
        tangents.set(column, at);
      }
      const status = forward(Q, P, params, batch, plan.steps, dt, plan.t0, 0, null, null, b, b + 1, s, s + 1);
      if (status.failures!.length > 0) return status.failures![0]!;
    }
    return null;
  };
}
