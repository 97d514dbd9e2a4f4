import type { StepProgram } from '../integrators/step-program.js';
import { Lowering } from './lowering.js';
import { compileGenerated } from './emit-js.js';
import { jsTarget } from './target-js.js';
import { lowerStepper, type FixedPointSettings } from './step-body.js';
import { bindJsRunnerInputs, JS_KERNEL_INDENT, jsKernelSkeleton, optimizableSource, UNROLL_STATE } from './js-kernel.js';
import { CARRY_LIMIT } from './carry.js';
import { ArraySwaps } from './array-swaps.js';

/** A trajectory's failure in a generated runner: the 0-based step that failed, and for solves the residual and iterations. */
export interface JsRunFailure {
  kind: 'nonfinite' | 'noConvergence';
  step: number;
  trajectory: number;
  residual?: number;
  iterations?: number;
}

/**
 * What a generated runner returns: a failure, or null (backward runners: the first; the forward runner: null, its
 * failures, one per failed trajectory in trajectory order, are in `failures`), and fixed-point iteration statistics.
 */
export interface JsRunStatus {
  failure: JsRunFailure | null;
  /** Forward runners: every failed trajectory of the call (each stopped at its first failure, state left at the last finite one). */
  failures?: JsRunFailure[];
  /** Total and maximum fixed-point iterations over all steps (0 for explicit methods). */
  iterationsTotal: number;
  iterationsMax: number;
}

/** The generated batched runner. Arrays are trajectory-major (batch × dof); `record*` may be null. */
export type JsRunner = ((
  Q: Float64Array,
  P: Float64Array,
  params: readonly Float64Array[],
  batch: number,
  steps: number,
  dt: number,
  tStart: number,
  recordEvery: number,
  recordQ: Float64Array | null,
  recordP: Float64Array | null,
  /** Window (default: everything): trajectories bFrom…bTo−1, steps sFrom…sTo−1 of `steps` (see `jsKernelSkeleton`). */
  bFrom?: number,
  bTo?: number,
  sFrom?: number,
  sTo?: number,
) => JsRunStatus) & {
  readonly source: string;
  /** The lowering's unroll limit the source was generated with (undefined: the default; see `optimizableSource`). */
  readonly unrollLimit?: number;
};

/** Default fixed-point settings for f64: updates at a few ulps of the state. */
export const JS_FIXED_POINT: FixedPointSettings = { tolerance: 4 * Number.EPSILON, maxIterations: 100 };

/**
 * Generates the CPU runner for a step program: per trajectory, the state is loaded into locals, the step body
 * (straight-line f64 code, plus the fixed-point loop of implicit methods) runs `steps` times, a cheap
 * finiteness test per step reports the first non-finite state, and every `recordEvery`-th state can be
 * recorded. Loop-invariant subexpressions are computed once. Compiled once with `new Function`.
 *
 * @example
 * const run = compileJsRunner(leapfrogStep(h));
 * run(Q, P, h.paramValues, batch, 1000, 0.01, 0, 0, null, null);
 */
export function compileJsRunner(program: StepProgram, settings: FixedPointSettings = JS_FIXED_POINT): JsRunner {
  const fp = program.implicit;
  const roots = [program.next.q, program.next.p, ...(fp ? [...(fp.iteration ?? fp.update), ...fp.initial, ...(fp.scale ?? [])] : [])];
  let used: number | undefined; // the limit of the source kept: optimizableSource's last call
  const source = optimizableSource((unrollLimit) => ((used = unrollLimit), jsRunnerSource(program, settings, unrollLimit)), roots);
  const fn = compileGenerated<(...args: never[]) => unknown>(source, `the ${program.method} runner`);
  return Object.assign(fn, { source, unrollLimit: used }) as JsRunner;
}

/**
 * The source of `compileJsRunner`'s runner; `prepare` sees the lowering before anything is lowered into it (the
 * threaded CPU runner makes its pair loops threaded there).
 *
 * @example
 * const source = jsRunnerSource(program, JS_FIXED_POINT, undefined);
 */
export function jsRunnerSource(program: StepProgram, settings: FixedPointSettings, unrollLimit: number | undefined, prepare?: (lowering: Lowering) => void): string {
  const parts = jsRunnerParts(program, settings, unrollLimit, prepare);
  const { lowering, next, extra, iterations, carries } = parts;
  // Long states: carried arrays and the new state handed over by swapping arrays where the step fills them.
  const swaps = parts.q.kind === 'array' ? new ArraySwaps(lowering, program.system.dof) : undefined;
  return jsKernelSkeleton({
    signature: 'run(Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP, bFrom = 0, bTo = batch, sFrom = 0, sTo = steps)',
    direction: 'forward',
    dof: program.system.dof,
    lowering,
    pairs: [{ registers: [parts.q, parts.p], io: ['Q', 'P'], next, nextNames: ['nq', 'np'] }],
    prologue: [...parts.prologue, ...parts.invariantLines],
    usesTime: parts.usesTime,
    carries: { preLoop: carries.preLoop, assign: carries.assign(extra, JS_KERNEL_INDENT.step, swaps && ((register, end) => swaps.claim(register, end))) },
    iterations: iterations ? [iterations] : [],
    record: true,
    swaps,
  });
}

/**
 * The lowered pieces of the forward runner before the skeleton wraps them: the lowering (step body in `lines`,
 * closure-scope declarations in `hoisted`), the state registers, parameter reads (`prologue`), loop invariants,
 * carried values and the new state. `jsRunnerSource` and the WebAssembly lane runner (`emit-wasm-stepper.ts`)
 * both start from them, so they evaluate the same operations in the same order.
 *
 * @example
 * const { lowering, next, invariantLines } = jsRunnerParts(program, JS_FIXED_POINT, undefined);
 */
export function jsRunnerParts(program: StepProgram, settings: FixedPointSettings, unrollLimit: number | undefined, prepare?: (lowering: Lowering) => void) {
  const h = program.system;
  const lowering = new Lowering(jsTarget, { prefix: 'v', unrollLimit });
  prepare?.(lowering);
  const { q, p, prologue } = bindJsRunnerInputs(lowering, h);
  const stepped = lowerStepper(lowering, program, { q, p }, settings, JS_KERNEL_INDENT, carryLimit(h.dof), 's === sTo - 1');
  return { lowering, q, p, prologue, ...stepped };
}

/**
 * The longest vector a runner carries from one step to the next: any length for array states (a carried array
 * is copied once per step, e.g. leapfrog's closing force over all particles), the register limit otherwise.
 */
function carryLimit(dof: number): number {
  return dof > UNROLL_STATE ? Infinity : CARRY_LIMIT;
}
