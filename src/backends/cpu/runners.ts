import { compileJsAdjointRunner, type JsAdjointRunner } from '../../codegen/emit-js-adjoint.js';
import { compileJsRunner, JS_FIXED_POINT, type JsRunner } from '../../codegen/emit-js-stepper.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { adjointStep, type AdjointStateSource } from '../../integrators/adjoint-step.js';
import type { StepProgram } from '../../integrators/step-program.js';

/** The generated f64 runners of one program and fixed-point settings: forward, and backward per state source. */
export interface JsRunners {
  readonly forward: JsRunner;
  backward(source: AdjointStateSource): JsAdjointRunner;
}

const runnerCache = new WeakMap<StepProgram, Map<string, JsRunners>>();

/**
 * The generated f64 runners of a program, compiled once per program and settings (backward ones on first use).
 *
 * @example
 * const { forward } = jsRunners(program, JS_FIXED_POINT);
 */
export function jsRunners(program: StepProgram, settings: FixedPointSettings = JS_FIXED_POINT): JsRunners {
  let bySettings = runnerCache.get(program);
  if (bySettings === undefined) runnerCache.set(program, (bySettings = new Map()));
  const key = `${settings.tolerance}:${settings.maxIterations}`;
  let runners = bySettings.get(key);
  if (runners === undefined) {
    const backward: Partial<Record<AdjointStateSource, JsAdjointRunner>> = {};
    runners = {
      forward: compileJsRunner(program, settings),
      backward: (source) => (backward[source] ??= compileJsAdjointRunner(adjointStep(program, source), settings)),
    };
    bySettings.set(key, runners);
  }
  return runners;
}
