import { DarbouxError } from '../../errors.js';
import { compileJsAdjointRunner, type JsAdjointRunner } from '../../codegen/emit-js-adjoint.js';
import { compileLaneRunner } from '../../codegen/lane-runner.js';
import { compileJsRunner, JS_FIXED_POINT, type JsRunner } from '../../codegen/emit-js-stepper.js';
import type { FixedPointSettings } from '../../codegen/step-body.js';
import { adjointStep, type AdjointStateSource } from '../../integrators/adjoint-step.js';
import type { StepProgram } from '../../integrators/step-program.js';
import type { CpuRunnerInfo } from '../stepper.js';

/** The generated f64 runners of one program and fixed-point settings: forward, and backward per state source. */
export interface JsRunners {
  readonly forward: JsRunner;
  /** The WebAssembly SIMD lane runner (`lane-runner.ts`), built on first use, or why there is none. */
  lane(): { runner: JsRunner & { lanes: number } } | { reason: string };
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
    const forward = compileJsRunner(program, settings);
    let lane: ReturnType<JsRunners['lane']> | undefined;
    runners = {
      forward,
      lane: () => (lane ??= compileLaneRunner(program, settings, forward)),
      backward: (source) => (backward[source] ??= compileJsAdjointRunner(adjointStep(program, source), settings)),
    };
    bySettings.set(key, runners);
  }
  return runners;
}

/** Which forward runner the CPU backend uses: 'wasm' (the lane runner), 'js', or 'auto' (the lane runner where it exists). */
export type CpuRunnerChoice = 'auto' | 'js' | 'wasm';


/**
 * The forward runner of the CPU backend for `choice`: 'auto' takes the WebAssembly SIMD lane runner wherever the
 * program has one (measured 2–4× the JS runner's trajectory·steps/s on explicit methods, bench/lane-runner.ts;
 * results equal bit for bit), else the JS runner; 'js' the JS runner; 'wasm' the lane runner or an OPTION error
 * saying why there is none.
 *
 * @example
 * const { runner, info } = cpuForwardRunner(program, JS_FIXED_POINT, 'auto'); // info.kind: 'wasm' | 'js'
 */
export function cpuForwardRunner(program: StepProgram, settings: FixedPointSettings, choice: CpuRunnerChoice = 'auto'): { runner: JsRunner; info: CpuRunnerInfo } {
  const runners = jsRunners(program, settings);
  if (choice === 'js') return { runner: runners.forward, info: { kind: 'js', lanes: 1, reason: "cpuRunner: 'js' was asked for" } };
  const lane = runners.lane();
  if ('runner' in lane) return { runner: lane.runner, info: { kind: 'wasm', lanes: lane.runner.lanes } };
  if (choice === 'wasm') {
    throw new DarbouxError('OPTION', `cpuRunner 'wasm': ${program.method} has no WebAssembly lane runner here: ${lane.reason}; use cpuRunner 'auto' or 'js'`, { option: 'cpuRunner', method: program.method, reason: lane.reason });
  }
  return { runner: runners.forward, info: { kind: 'js', lanes: 1, reason: lane.reason } };
}
