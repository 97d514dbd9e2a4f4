import { size } from '../ir/shape.js';
import type { AdjointStep } from '../integrators/adjoint-step.js';
import { lowerAdjointStep } from './adjoint-body.js';
import { WGSL_FIXED_POINT, type KernelLoopIterations } from './emit-wgsl.js';
import { ADJOINT_CONTROL_WORDS } from './kernel-words.js';
import { Lowering } from './lowering.js';
import type { FixedPointSettings } from './step-body.js';
import { wgslTarget } from './target-wgsl.js';
import { elementOf } from './values.js';
import { wgslTrajectoryParamReads } from './trajectory-params-wgsl.js';
import { bindParams, WGSL_KERNEL_INDENT, wgslKernelSkeleton, wgslStateValue } from './wgsl-kernel.js';

/**
 * Number of f32 parameter-gradient accumulators per trajectory (all parameter elements).
 *
 * @example
 * gradientSize(adjointStep(leapfrogStep(h), 'reverse')); // 4 for a scalar parameter k and a 3-vector w
 */
export function gradientSize(step: AdjointStep): number {
  return step.forward.system.params.reduce((s, node) => s + size(node.shape), 0);
}

/**
 * WGSL for a fused backward kernel (`adjointStep`): one invocation per trajectory, z, λ in registers and the
 * parameter gradient in a private f32 array across the dispatch's steps, which run from step
 * stepBase + steps − 1 down to stepBase (forward step s starts at tStart + s·dt). Bindings (group 0):
 * 0 dState, per chunk [Q | P | LQ | LP | G] (batch·dof each, then batch × gradientSize, accumulated);
 * 1 packed parameters; 2 'store': the states z_s, [storedSteps × batch × dof] for q then for p (unused for
 * 'reverse'); 3 per-trajectory status (STATUS_WORDS); 4 the control uniform (ADJOINT_CONTROL_WORDS). Returned
 * with the loop iterations the kernel runs (see `wgslStepperKernel`): the host keeps dispatches within software
 * adapters' bounds, and the kernel flags a step loop cut short (TRUNCATED_FLAG). `perTrajectory`: scalar
 * parameters read per trajectory (`wgslTrajectoryParamReads`); their gradients stay in each trajectory's slot.
 *
 * @example
 * const { wgsl, loopIterations } = wgslAdjointKernel(adjointStep(program, 'reverse'));
 */
export function wgslAdjointKernel(step: AdjointStep, settings: FixedPointSettings = WGSL_FIXED_POINT, perTrajectory: readonly number[] = []): { wgsl: string; loopIterations: KernelLoopIterations } {
  const h = step.forward.system;
  const n = h.dof;
  const reverse = step.source === 'reverse';
  const G = gradientSize(step);
  const lowering = new Lowering(wgslTarget, { prefix: 'v' });
  const qv = wgslStateValue('sq', n), pv = wgslStateValue('sp', n), lqv = wgslStateValue('lq', n), lpv = wgslStateValue('lp', n);
  lowering.bind(h.q, qv);
  lowering.bind(h.p, pv);
  lowering.bind(step.cotangent.q, lqv);
  lowering.bind(step.cotangent.p, lpv);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  const paramPrologue = bindParams(lowering, h.params, wgslTrajectoryParamReads(h.params, perTrajectory));
  const body = lowerAdjointStep(lowering, step, { q: qv, p: pv }, settings, WGSL_KERNEL_INDENT, (k) => `gAcc[${k}]`);
  // 'store': the state of every backward step is read from the stored forward states (q block, then p).
  const stepLoads = reverse
    ? []
    : [
        `    let at = (step * dControl.batch + b) * ${n}u;`,
        ...Array.from({ length: n }, (_, i) => `    ${elementOf(qv, i)} = dStored[at + ${i}u]; ${elementOf(pv, i)} = dStored[pStored + at + ${i}u];`),
      ];
  const wgsl = wgslKernelSkeleton({
    direction: 'backward',
    dof: n,
    lowering,
    controlWords: ADJOINT_CONTROL_WORDS,
    binding2: 'var<storage, read> dStored',
    skipFailed: true,
    pairs: [
      { registers: [lqv, lpv], io: ['lqBase', 'lpBase'], firstBlock: 2, next: body.lambda, nextNames: ['nl', 'ml'] },
      { registers: [qv, pv], io: reverse ? ['qBase', 'pBase'] : null, firstBlock: 0, next: reverse ? body.previous : null, nextNames: ['nq', 'np'] },
    ],
    declarations: [
      `  let gBase = 4u * dControl.batch * ${n}u + b * ${G}u;`,
      ...(G > 0 ? [`  var gAcc: array<f32, ${G}>;`] : []),
      ...(reverse ? [] : [`  let pStored = dControl.storedSteps * dControl.batch * ${n}u;`]),
    ],
    prologue: [...paramPrologue, ...body.invariantLines],
    usesTime: body.usesTime,
    carries: { preLoop: body.carryLines, assign: body.assignCarries(WGSL_KERNEL_INDENT.step) },
    stepLoads,
    iterations: body.iterations,
    finiteCheck: 'break',
    epilogue: G > 0 ? [`  for (var i: u32 = 0u; i < ${G}u; i++) { dState[gBase + i] += gAcc[i]; }`] : [],
  });
  const stateLoads = qv.kind === 'unrolled' ? 0 : 4 * n;
  const loops = body.loopIterations;
  return { wgsl, loopIterations: { prologue: loops.prologue + stateLoads + G, perStep: loops.perStep, perSolveIteration: loops.perSolveIteration } };
}
