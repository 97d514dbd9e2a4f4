import { DarbouxError } from '../../errors.js';
import { JS_FIXED_POINT } from '../../codegen/emit-js-stepper.js';
import { cpuAdjointBackend } from './adjoint.js';
import { jsRunners } from './runners.js';
import { checkRunOptions, throwRunFailure } from '../checks.js';
import { runVjp } from '../adjoint-driver.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { jacobianFunction } from './jacobian.js';
import { threadedRunner, type CpuSettings } from './threaded-runner.js';
import type { StepProgram } from '../../integrators/step-program.js';
import { specializeParameters } from '../../integrators/specialize.js';
import type { RunOptions, RunResult, Stepper, VjpOptions, VjpResult } from '../stepper.js';

/**
 * The f64 CPU backend: a generated JavaScript runner for the step program, the exact Jacobian from the
 * program's tangent step, and the exact discrete adjoint (`vjp`) from its backward step programs.
 *
 * @example
 * const st = cpuStepper(leapfrogStep(h), 0.01);
 * await st.run({ q0: [1, 0], p0: [0, 1], steps: 100 });
 */
export function cpuStepper(program: StepProgram, dt: number, settings: CpuSettings = {}): Stepper {
  const h = program.system;
  const fixedPoint: FixedPointSettings = {
    tolerance: settings.tolerance ?? JS_FIXED_POINT.tolerance,
    maxIterations: settings.maxIterations ?? JS_FIXED_POINT.maxIterations,
  };
  // Small parameters are compiled in as constants (the stepper fixes their values anyway).
  const specialized = specializeParameters(program);
  const runner = jsRunners(specialized, fixedPoint).forward;
  const threaded = threadedRunner(specialized, fixedPoint, settings.threads); // null: 1 thread
  let jacobian: ReturnType<typeof jacobianFunction> | undefined;
  let disposed = false;
  const alive = () => {
    if (disposed) throw new DarbouxError('INPUT', 'this stepper was disposed');
  };
  return {
    method: program.method,
    dt,
    backend: 'cpu',
    dof: h.dof,
    source: runner.source,
    async run(options: RunOptions): Promise<RunResult> {
      alive();
      const { batch, steps, record } = checkRunOptions(options, h.dof);
      const q = Float64Array.from(options.q0), p = Float64Array.from(options.p0);
      const count = record > 0 ? Math.floor(steps / record) : 0;
      const rq = record > 0 ? new Float64Array(count * batch * h.dof) : null;
      const rp = record > 0 ? new Float64Array(count * batch * h.dof) : null;
      const args = [q, p, h.paramValues as Float64Array[], batch, steps, dt, options.t0 ?? 0, record, rq, rp] as const;
      const status = threaded === null ? runner(...args) : await threaded.run(...args);
      throwRunFailure(program.method, dt, status, { system: h, q0: options.q0 });
      const result: RunResult = { q, p };
      if (program.implicit) {
        result.stats = { iterations: { mean: steps > 0 ? status.iterationsTotal / (steps * batch) : 0, max: status.iterationsMax } };
      }
      if (rq !== null && rp !== null) result.record = { every: record, count, q: rq, p: rp };
      return result;
    },
    async vjp(options: VjpOptions): Promise<VjpResult> {
      alive();
      return runVjp(cpuAdjointBackend(program, dt, h.paramValues, fixedPoint), options);
    },
    jacobian(q0, p0, t = 0) {
      alive();
      if (q0.length !== h.dof || p0.length !== h.dof) {
        throw new DarbouxError('INPUT', `jacobian: q and p must have length ${h.dof}, got ${q0.length} and ${p0.length}`);
      }
      jacobian ??= jacobianFunction(program, fixedPoint);
      return jacobian(q0, p0, dt, t);
    },
    dispose() {
      disposed = true;
      threaded?.dispose();
    },
  };
}
