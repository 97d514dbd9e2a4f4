import type { Value } from '../ir/op.js';
import { size } from '../ir/shape.js';
import type { AdjointStep } from '../integrators/adjoint-step.js';
import { lowerAdjointStep } from './adjoint-body.js';
import { bindParams, declareWgslState, trajectoryKernelHead, TRUNCATED_FLAG, WGSL_FIXED_POINT, wgslFixedPoint, wgslStateValue, type KernelLoopIterations } from './emit-wgsl.js';
import { Lowering } from './lowering.js';
import { elementOf, type FixedPointSettings } from './step-body.js';
import { wgslSyntax } from './syntax-wgsl.js';

/** Layout of the control uniform of a backward kernel (u32/f32 words, in order). */
export const ADJOINT_CONTROL_WORDS = ['dt', 'tStart', 'steps', 'stepBase', 'offset', 'batch', 'storedSteps', 'pad'] as const;

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
 * 'reverse'); 3 per-trajectory status (STATUS_WORDS); 4 the control uniform (ADJOINT_CONTROL_WORDS).
 *
 * @example
 * const wgsl = emitWgslAdjoint(adjointStep(leapfrogStep(h), 'reverse'));
 */
export function emitWgslAdjoint(step: AdjointStep, settings: FixedPointSettings = WGSL_FIXED_POINT): string {
  return wgslAdjointKernel(step, settings).wgsl;
}

/**
 * `emitWgslAdjoint` with the loop iterations the kernel runs (see `wgslStepperKernel`): the host keeps dispatches
 * within software adapters' bounds, and the kernel flags a step loop cut short (TRUNCATED_FLAG).
 *
 * @example
 * const { wgsl, loopIterations } = wgslAdjointKernel(adjointStep(program, 'reverse'));
 */
export function wgslAdjointKernel(step: AdjointStep, settings: FixedPointSettings = WGSL_FIXED_POINT): { wgsl: string; loopIterations: KernelLoopIterations } {
  const h = step.forward.system;
  const n = h.dof;
  const reverse = step.source === 'reverse';
  const G = gradientSize(step);
  const lowering = new Lowering(wgslSyntax, { prefix: 'v' });
  const qv = wgslStateValue('sq', n), pv = wgslStateValue('sp', n), lqv = wgslStateValue('lq', n), lpv = wgslStateValue('lp', n);
  lowering.bind(h.q, qv);
  lowering.bind(h.p, pv);
  lowering.bind(step.cotangent.q, lqv);
  lowering.bind(step.cotangent.p, lpv);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  const paramPrologue = bindParams(lowering, h.params);
  const body = lowerAdjointStep(lowering, step, { q: qv, p: pv }, wgslFixedPoint, settings, { invariants: 1, carries: 1, step: 2 }, (k) => `gAcc[${k}]`, ['if (failed) { break; }']);
  const idx = Array.from({ length: n }, (_, i) => i);
  const e = (v: Value, i: number) => elementOf(v, i);
  const set = (v: Value, i: number, code: string) => `${e(v, i)} = ${code};`;
  const nonFinite = '(bitcast<u32>(check) & 0x7f800000u) == 0x7f800000u';
  const moduleScope = lowering.hoisted.filter((l) => l.startsWith('var<private>'));
  const functionScope = lowering.hoisted.filter((l) => !l.startsWith('var<private>'));
  const its = body.iterations;
  const wgsl = [
    ...trajectoryKernelHead('storedSteps: u32, pad: u32', 'var<storage, read> dStored', moduleScope, n),
    `  let lqBase = (2u * dControl.batch + b) * ${n}u;`,
    `  let lpBase = (3u * dControl.batch + b) * ${n}u;`,
    `  let gBase = 4u * dControl.batch * ${n}u + b * ${G}u;`,
    ...functionScope.map((l) => `  ${l}`),
    ...declareWgslState(qv, n, reverse ? (i) => `dState[qBase + ${i}]` : undefined),
    ...declareWgslState(pv, n, reverse ? (i) => `dState[pBase + ${i}]` : undefined),
    ...declareWgslState(lqv, n, (i) => `dState[lqBase + ${i}]`),
    ...declareWgslState(lpv, n, (i) => `dState[lpBase + ${i}]`),
    ...(G > 0 ? [`  var gAcc: array<f32, ${G}>;`] : []),
    '  let dt = dControl.dt;',
    ...paramPrologue,
    ...body.invariantLines,
    // Carried values are evaluated at this dispatch's first state, at the time of its first backward step.
    ...(body.usesTime && body.carryLines.length > 0 ? ['  let time = dControl.tStart + f32(dControl.stepBase + dControl.steps - 1u) * dt;'] : []),
    ...body.carryLines,
    '  var failed = false;',
    '  var failStep: u32 = 0u;',
    '  var iterationsTotal: u32 = 0u;',
    '  var iterationsMax: u32 = 0u;',
    `  let pStored = dControl.storedSteps * dControl.batch * ${n}u;`,
    '  var s: u32 = 0u;',
    '  for (; s < dControl.steps; s++) {',
    '    let step = dControl.stepBase + dControl.steps - 1u - s;',
    ...(body.usesTime ? ['    let time = dControl.tStart + f32(step) * dt;'] : []),
    ...(reverse ? [] : [`    let at = (step * dControl.batch + b) * ${n}u;`, ...idx.map((i) => `    ${set(qv, i, `dStored[at + ${i}u]`)} ${set(pv, i, `dStored[pStored + at + ${i}u]`)}`)]),
    ...lowering.lines,
    ...(its.length > 0 ? [`    let its = u32(${its.join(' + ')});`, '    iterationsTotal += its;', '    iterationsMax = max(iterationsMax, its);'] : []),
    ...idx.map((i) => `    let nl${i} = ${e(body.lambda[0], i)};`),
    ...idx.map((i) => `    let ml${i} = ${e(body.lambda[1], i)};`),
    ...(reverse ? [...idx.map((i) => `    let nq${i} = ${e(body.previous[0], i)};`), ...idx.map((i) => `    let np${i} = ${e(body.previous[1], i)};`)] : []),
    ...body.assignCarries(2),
    ...idx.map((i) => `    ${set(lqv, i, `nl${i}`)} ${set(lpv, i, `ml${i}`)}`),
    ...(reverse ? idx.map((i) => `    ${set(qv, i, `nq${i}`)} ${set(pv, i, `np${i}`)}`) : []),
    `    let check = ${[...idx.map((i) => `nl${i} + ml${i}`), ...(reverse ? idx.map((i) => `nq${i} + np${i}`) : [])].join(' + ')};`,
    `    if (${nonFinite}) { failStep = step + 1u; break; }`,
    '  }',
    `  if (s < dControl.steps && failStep == 0u && !failed) { failStep = (dControl.stepBase + dControl.steps - s) | ${TRUNCATED_FLAG}u; }`,
    '  if (failStep != 0u) { dStatus[sBase] = failStep; }',
    '  dStatus[sBase + 1u] += iterationsTotal;',
    '  dStatus[sBase + 2u] = max(dStatus[sBase + 2u], iterationsMax);',
    ...(reverse ? idx.map((i) => `  dState[qBase + ${i}u] = ${e(qv, i)}; dState[pBase + ${i}u] = ${e(pv, i)};`) : []),
    ...idx.map((i) => `  dState[lqBase + ${i}u] = ${e(lqv, i)}; dState[lpBase + ${i}u] = ${e(lpv, i)};`),
    ...(G > 0 ? [`  for (var i: u32 = 0u; i < ${G}u; i++) { dState[gBase + i] += gAcc[i]; }`] : []),
    '}',
    '',
  ].join('\n');
  const stateLoads = qv.kind === 'unrolled' ? 0 : 4 * n;
  const loops = body.loopIterations;
  return { wgsl, loopIterations: { prologue: loops.prologue + stateLoads + G, perStep: loops.perStep, perSolveIteration: loops.perSolveIteration } };
}
