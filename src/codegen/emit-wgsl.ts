import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import type { StepProgram } from '../integrators/step-program.js';
import { STEPPER_CONTROL_WORDS, WORKGROUP_SIZE } from './kernel-words.js';
import { Lowering } from './lowering.js';
import { lowerStepper, type FixedPointSettings } from './step-body.js';
import { wgslTarget } from './target-wgsl.js';
import { elementOf } from './values.js';
import { wgslTrajectoryParamReads } from './trajectory-params-wgsl.js';
import { bindParams, WGSL_KERNEL_INDENT, wgslHoisted, wgslKernelSkeleton, wgslStateValue } from './wgsl-kernel.js';

/** Threads per workgroup of every generated kernel (defined with the other kernel words). */
export { WORKGROUP_SIZE };

/** f32 fixed-point settings: updates at a few ulps of the state. */
export const WGSL_FIXED_POINT: FixedPointSettings = { tolerance: 4 * 1.1920928955078125e-7, maxIterations: 100 };

/**
 * WGSL for a fused multi-step kernel: one invocation per trajectory, the state in registers for `steps`
 * steps (loop inside the kernel, the fixed-point iteration of implicit methods inside that), reading q, p
 * once and writing once. Bindings (group 0): 0 state (q for the batch, then p), 1 packed parameters,
 * 2 recorded states, 3 per-trajectory status (STATUS_WORDS each), 4 the control uniform (STEPPER_CONTROL_WORDS).
 *
 * @example
 * const wgsl = emitWgslStepper(leapfrogStep(h));
 */
export function emitWgslStepper(
  program: StepProgram,
  settings: FixedPointSettings = WGSL_FIXED_POINT,
  options: { record?: boolean; checkEveryStep?: boolean; perTrajectory?: readonly number[] } = {},
): string {
  return wgslStepperKernel(program, settings, options).wgsl;
}

/** Loop iterations a stepper kernel runs: before its step loop, per step outside the solve, per solve iteration. */
export interface KernelLoopIterations {
  prologue: number;
  perStep: number;
  perSolveIteration: number;
}

/**
 * The forward step lowered inside a kernel: state values `sq`, `sp` bound to q and p, `dt` and `time` bound, the
 * parameters bound (per-trajectory ones read from the packed parameter buffer), and the step program lowered.
 * Shared by the stepper kernel and the section kernel.
 *
 * @example
 * const { lowering, qv, pv, paramPrologue, lowered } = lowerForwardStep(leapfrogStep(h), WGSL_FIXED_POINT, []);
 */
export function lowerForwardStep(program: StepProgram, settings: FixedPointSettings, perTrajectory: readonly number[]) {
  const h = program.system;
  const lowering = new Lowering(wgslTarget, { prefix: 'v' });
  const qv = wgslStateValue('sq', h.dof), pv = wgslStateValue('sp', h.dof);
  lowering.bind(h.q, qv);
  lowering.bind(h.p, pv);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  const paramPrologue = bindParams(lowering, h.params, wgslTrajectoryParamReads(h.params, perTrajectory));
  const lowered = lowerStepper(lowering, program, { q: qv, p: pv }, settings, WGSL_KERNEL_INDENT);
  return { lowering, qv, pv, paramPrologue, lowered };
}

/**
 * `emitWgslStepper` with what the host needs to size dispatches: the loop iterations the kernel runs before its
 * step loop, per step and per solve iteration. Software adapters bound loop
 * iterations per invocation (llvmpipe: 65 535), so steps per dispatch must respect them; the kernel also flags
 * a step loop that ended early (`TRUNCATED_FLAG`), so a run cut short is an error, never a silent result.
 * `perTrajectory`: indices of scalar parameters read per trajectory (`wgslTrajectoryParamReads`).
 *
 * @example
 * const { wgsl, loopIterations } = wgslStepperKernel(leapfrogStep(h));
 */
export function wgslStepperKernel(
  program: StepProgram,
  settings: FixedPointSettings = WGSL_FIXED_POINT,
  options: { record?: boolean; checkEveryStep?: boolean; perTrajectory?: readonly number[] } = {},
): { wgsl: string; loopIterations: KernelLoopIterations } {
  const h = program.system;
  const n = h.dof;
  const { lowering, qv, pv, paramPrologue, lowered } = lowerForwardStep(program, settings, options.perTrajectory ?? []);
  const implicit = program.implicit !== undefined;
  const { next, extra, iterations, invariantLines, carries, usesTime, loopIterations } = lowered;
  const wgsl = wgslKernelSkeleton({
    direction: 'forward',
    dof: n,
    lowering,
    controlWords: STEPPER_CONTROL_WORDS,
    binding2: 'var<storage, read_write> dRecord',
    // Implicit kernels skip trajectories that already failed (their solve would spin to maxIterations); explicit
    // ones keep going (a status read on entry cost ~25% of a cheap step on llvmpipe) and keep the first failure.
    skipFailed: implicit,
    // A run's first dispatch starts its status words from zero (no clear command from the host).
    clearStatusAtStart: true,
    // A loop cut short leaves NaN: with the finiteness tests, every failure of an explicit kernel is a non-finite
    // stored state, which the host reads back anyway (no status summary needed).
    nanWhenTruncated: true,
    pairs: [{ registers: [qv, pv], io: ['qBase', 'pBase'], firstBlock: 0, next, nextNames: ['nq', 'np'] }],
    prologue: [...paramPrologue, ...invariantLines],
    usesTime,
    carries: { preLoop: carries.preLoop, assign: carries.assign(extra, WGSL_KERNEL_INDENT.step) },
    iterations: iterations ? [iterations] : [],
    // Implicit steps stop at once on a non-finite state, before the solve sees NaNs. Explicit ones either flag it
    // without leaving the loop (a data-dependent break keeps llvmpipe from running lanes in lockstep) or, by
    // default, test only after the last step: every method updates z ← z + Δ, so a non-finite state stays
    // non-finite, and the per-step test cost a third of a cheap step. The host then finds the exact step with
    // the per-step variant.
    finiteCheck: implicit ? 'break' : (options.checkEveryStep ?? true) ? 'select' : 'afterLoop',
    record: options.record ?? true,
  });
  const stateLoads = qv.kind === 'unrolled' ? 0 : 2 * n;
  return { wgsl, loopIterations: { ...loopIterations, prologue: loopIterations.prologue + stateLoads } };
}

/**
 * WGSL for evaluating a graph at many points (one invocation per point): bindings 0 the inputs (each point's
 * input nodes flattened in order, `inputStride` floats per point), 1 the outputs (`outputStride` per point),
 * 2 a uniform with the point count. Used to check the WGSL backend against the f64 JS backend.
 *
 * @example
 * const { wgsl, inputStride, outputStride } = emitWgslEvaluator([z], [f]);
 */
export function emitWgslEvaluator(inputs: readonly Expr[], outputs: readonly Expr[]): { wgsl: string; inputStride: number; outputStride: number } {
  const lowering = new Lowering(wgslTarget, { prefix: 'v' });
  lowering.baseIndent = 1;
  const inputStride = inputs.reduce((s, e) => s + size(e.shape), 0);
  const outputStride = outputs.reduce((s, e) => s + size(e.shape), 0);
  let at = 0;
  for (const node of inputs) {
    const offset = `inBase + ${at}`;
    lowering.bind(node, node.shape.length === 0 ? { kind: 'scalar', code: `dIn[${offset}]` } : { kind: 'array', name: 'dIn', size: size(node.shape), offset });
    at += size(node.shape);
  }
  const values = lowering.emit(outputs);
  const stores: string[] = [];
  let out = 0;
  outputs.forEach((o, k) => {
    for (let i = 0; i < size(o.shape); i++) stores.push(`  dOut[outBase + ${out + i}u] = ${elementOf(values[k]!, i)};`);
    out += size(o.shape);
  });
  const { moduleScope, functionScope } = wgslHoisted(lowering);
  const wgsl = [
    'struct Control { count: u32, pad0: u32, pad1: u32, pad2: u32 }',
    '@group(0) @binding(0) var<storage, read> dIn: array<f32>;',
    '@group(0) @binding(1) var<storage, read_write> dOut: array<f32>;',
    '@group(0) @binding(2) var<uniform> dControl: Control;',
    ...moduleScope,
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    '  let b = gid.x;',
    '  if (b >= dControl.count) { return; }',
    `  let inBase = i32(b * ${inputStride}u);`,
    `  let outBase = b * ${outputStride}u;`,
    ...functionScope.map((l) => `  ${l}`),
    ...lowering.lines,
    ...stores,
    '}',
    '',
  ].join('\n');
  return { wgsl, inputStride, outputStride };
}
