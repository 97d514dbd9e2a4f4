import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { size } from '../ir/shape.js';
import type { StepProgram } from '../integrators/step-program.js';
import { Lowering } from './lowering.js';
import { elementOf, lowerStepper, type FixedPointDialect, type FixedPointSettings } from './step-body.js';
import { wgslSyntax } from './syntax-wgsl.js';

/** Threads per workgroup of every generated kernel. */
export const WORKGROUP_SIZE = 64;

/** State vectors up to this size live in scalar registers; larger ones in function-scope arrays. */
const UNROLL_STATE = 32;

/**
 * A state vector in a kernel: registers `prefix0…` up to UNROLL_STATE, else the function-scope array `prefixA`.
 *
 * @example
 * const qv = wgslStateValue('sq', 2); // { kind: 'unrolled', elems: ['sq0', 'sq1'] }
 */
export function wgslStateValue(prefix: string, n: number): Value {
  return n <= UNROLL_STATE ? { kind: 'unrolled', elems: Array.from({ length: n }, (_, i) => `${prefix}${i}`) } : { kind: 'array', name: `${prefix}A`, size: n };
}

/**
 * Declarations of state registers (or the array) in a kernel, initialised from `source(index)` (a u32 index in WGSL) when given.
 *
 * @example
 * declareWgslState(qv, 2, (i) => `dState[qBase + ${i}]`); // ['  var sq0: f32 = dState[qBase + 0u];', '  var sq1: f32 = dState[qBase + 1u];']
 */
export function declareWgslState(v: Value, n: number, source?: (index: string) => string): string[] {
  if (v.kind === 'array') return [`  var ${v.name}: array<f32, ${n}>;`, ...(source ? [`  for (var i: u32 = 0u; i < ${n}u; i++) { ${v.name}[i] = ${source('i')}; }`] : [])];
  return Array.from({ length: n }, (_, i) => `  var ${elementOf(v, i)}: f32${source ? ` = ${source(`${i}u`)}` : ''};`);
}


/**
 * Binds each parameter to the packed `dParams` buffer: scalars are read once into registers (`let`
 * statements returned for the kernel prologue), tensors are indexed in place.
 *
 * @example
 * const paramPrologue = bindParams(lowering, h.params); // e.g. ['  let th0 = dParams[0];']
 */
export function bindParams(lowering: Lowering, params: readonly Expr[]): string[] {
  const prologue: string[] = [];
  let at = 0;
  params.forEach((node, k) => {
    const n = size(node.shape);
    if (node.shape.length === 0) {
      prologue.push(`  let th${k} = dParams[${at}];`);
      lowering.bind(node, { kind: 'scalar', code: `th${k}` });
    } else {
      lowering.bind(node, { kind: 'array', name: 'dParams', size: n, offset: at });
    }
    at += n;
  });
  return prologue;
}

/** Layout of the control uniform of a stepper kernel (u32/f32 words, in order). */
export const STEPPER_CONTROL_WORDS = ['dt', 'tStart', 'steps', 'stepBase', 'offset', 'batch', 'recordEvery', 'recordCount'] as const;

/** Words of per-trajectory status: failure (step + 1, high bit set for no convergence), iterations total, max, residual bits. */
export const STATUS_WORDS = 4;
/** High bit of the status failure word: the implicit solve did not converge. */
export const NO_CONVERGENCE_FLAG = 0x80000000;
/**
 * Status flag of kernels that test the state only after their last step: the state was non-finite by the step in
 * the low bits (the exact step is found by running again with the per-step check).
 */
export const NONFINITE_BY_FLAG = 0x40000000;
/** Status flag: the step loop ended before its last step (the low bits hold the step it reached). */
export const TRUNCATED_FLAG = 0x20000000;

/** f32 fixed-point settings: updates at a few ulps of the state. */
export const WGSL_FIXED_POINT: FixedPointSettings = { tolerance: 4 * 1.1920928955078125e-7, maxIterations: 100 };

/** The fixed-point loop in WGSL; failing records step, iterations and residual in `dStatus[sBase…]`, sets `failed` and leaves the loop. */
export const wgslFixedPoint: FixedPointDialect = {
  mutable: (name, code) => `var ${name}: f32 = ${code};`,
  loopOpen: 'loop {',
  abs: (x) => `abs(${x})`,
  max: (a, b) => `max(${a}, ${b})`,
  huge: '3.0e38',
  fail: (residual, iterations) => [
    `dStatus[sBase] = (step + 1u) | ${NO_CONVERGENCE_FLAG}u;`,
    `dStatus[sBase + 2u] = max(dStatus[sBase + 2u], u32(${iterations}));`,
    `dStatus[sBase + 3u] = bitcast<u32>(${residual});`,
    'failed = true;',
    'break;',
  ],
};

/**
 * The head every per-trajectory stepper kernel shares, up to the trajectory's state offsets: the control uniform
 * (dt, tStart, steps, stepBase, offset, batch, then `controlTail`), bindings 0 dState, 1 dParams, 2 `binding2`
 * (an array<f32>), 3 dStatus, 4 dControl, the module-scope declarations, and the entry point `main` with `b`,
 * `sBase` (returning for idle or failed trajectories), `qBase` and `pBase`.
 *
 * @example
 * const head = trajectoryKernelHead('storedSteps: u32, pad: u32', 'var<storage, read> dStored', moduleScope, h.dof);
 */
export function trajectoryKernelHead(controlTail: string, binding2: string, moduleScope: readonly string[], n: number, skipFailed = true): string[] {
  return [
    'struct Control {',
    '  dt: f32, tStart: f32, steps: u32, stepBase: u32,',
    `  offset: u32, batch: u32, ${controlTail},`,
    '}',
    '@group(0) @binding(0) var<storage, read_write> dState: array<f32>;',
    '@group(0) @binding(1) var<storage, read> dParams: array<f32>;',
    `@group(0) @binding(2) ${binding2}: array<f32>;`,
    '@group(0) @binding(3) var<storage, read_write> dStatus: array<u32>;',
    '@group(0) @binding(4) var<uniform> dControl: Control;',
    ...moduleScope,
    '',
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    '  let b = gid.x + dControl.offset;',
    `  let sBase = b * ${STATUS_WORDS}u;`,
    skipFailed ? '  if (b >= dControl.batch || dStatus[sBase] != 0u) { return; }' : '  if (b >= dControl.batch) { return; }',
    `  let qBase = b * ${n}u;`,
    `  let pBase = (dControl.batch + b) * ${n}u;`,
  ];
}

/**
 * WGSL for a fused multi-step kernel: one invocation per trajectory, the state in registers for `steps`
 * steps (loop inside the kernel, the fixed-point iteration of implicit methods inside that), reading q, p
 * once and writing once. Bindings (group 0): 0 state (q for the batch, then p), 1 packed parameters,
 * 2 recorded states, 3 per-trajectory status (STATUS_WORDS each), 4 the control uniform.
 *
 * @example
 * const wgsl = emitWgslStepper(leapfrogStep(h));
 */
export function emitWgslStepper(
  program: StepProgram,
  settings: FixedPointSettings = WGSL_FIXED_POINT,
  options: { record?: boolean; checkEveryStep?: boolean } = {},
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
 * `emitWgslStepper` with what the host needs to size dispatches: the loop iterations the kernel runs before its
 * step loop, per step and per solve iteration. Software adapters bound loop
 * iterations per invocation (llvmpipe: 65 535), so steps per dispatch must respect them; the kernel also flags
 * a step loop that ended early (`TRUNCATED_FLAG`), so a run cut short is an error, never a silent result.
 *
 * @example
 * const { wgsl, loopIterations } = wgslStepperKernel(leapfrogStep(h));
 */
export function wgslStepperKernel(
  program: StepProgram,
  settings: FixedPointSettings = WGSL_FIXED_POINT,
  options: { record?: boolean; checkEveryStep?: boolean } = {},
): { wgsl: string; loopIterations: KernelLoopIterations } {
  const record = options.record ?? true;
  const h = program.system;
  const n = h.dof;
  const lowering = new Lowering(wgslSyntax, { prefix: 'v' });
  const qv = wgslStateValue('sq', n), pv = wgslStateValue('sp', n);
  lowering.bind(h.q, qv);
  lowering.bind(h.p, pv);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  const paramPrologue = bindParams(lowering, h.params);
  const fp = program.implicit;
  const idx = Array.from({ length: n }, (_, i) => i);
  const { next: [nq, np], extra, iterations, invariantLines, carries, usesTime, loopIterations } = lowerStepper(lowering, program, { q: qv, p: pv }, wgslFixedPoint, settings, { invariants: 1, carries: 1, step: 2 });
  // Implicit steps stop at once on a non-finite state, before the solve sees NaNs. Explicit ones either flag it
  // without leaving the loop (a data-dependent break keeps llvmpipe from running lanes in lockstep) or, by
  // default, test only after the last step: every method updates z ← z + Δ, so a non-finite state stays
  // non-finite, and the per-step test cost a third of a cheap step. The host then finds the exact step with
  // the per-step variant.
  const nonFinite = (x: string) => `(bitcast<u32>(${x}) & 0x7f800000u) == 0x7f800000u`;
  const checkEveryStep = fp !== undefined || (options.checkEveryStep ?? true);
  const checkLines = !checkEveryStep
    ? []
    : [
        `    let check = ${idx.map((i) => `nq${i} + np${i}`).join(' + ')};`,
        fp ? `    if (${nonFinite('check')}) { failStep = step + 1u; break; }` : `    failStep = select(failStep, step + 1u, failStep == 0u && ${nonFinite('check')});`,
      ];
  const endCheckLines = checkEveryStep
    ? []
    : [
        `  let check = ${idx.map((i) => `${elementOf(qv, i)} + ${elementOf(pv, i)}`).join(' + ')};`,
        `  if (${nonFinite('check')}) { failStep = (dControl.stepBase + dControl.steps) | ${NONFINITE_BY_FLAG}u; }`,
      ];
  const recordLines = record
    ? [
        '    if (dControl.recordEvery != 0u && (step + 1u) % dControl.recordEvery == 0u) {',
        `      let at = ((step + 1u) / dControl.recordEvery - 1u) * dControl.batch * ${n}u + b * ${n}u;`,
        `      let pAt = at + dControl.recordCount * dControl.batch * ${n}u;`,
        ...Array.from({ length: n }, (_, i) => `      dRecord[at + ${i}u] = nq${i}; dRecord[pAt + ${i}u] = np${i};`),
        '    }',
      ]
    : [];
  const sq = (i: number) => elementOf(qv, i), sp = (i: number) => elementOf(pv, i);
  const moduleScope = lowering.hoisted.filter((l) => l.startsWith('var<private>'));
  const functionScope = lowering.hoisted.filter((l) => !l.startsWith('var<private>'));
  const wgsl = [
    // Implicit kernels skip trajectories that already failed (their solve would spin to maxIterations); explicit
    // ones keep going (a status read on entry cost ~25% of a cheap step on llvmpipe) and keep the first failure.
    ...trajectoryKernelHead('recordEvery: u32, recordCount: u32', 'var<storage, read_write> dRecord', moduleScope, n, fp !== undefined),
    ...functionScope.map((l) => `  ${l}`),
    ...declareWgslState(qv, n, (i) => `dState[qBase + ${i}]`),
    ...declareWgslState(pv, n, (i) => `dState[pBase + ${i}]`),
    '  let dt = dControl.dt;',
    ...paramPrologue,
    ...invariantLines,
    // Carried values are evaluated at this dispatch's first state, at its start time (H may depend on t).
    ...(usesTime && carries.preLoop.length > 0 ? ['  let time = dControl.tStart + f32(dControl.stepBase) * dt;'] : []),
    ...carries.preLoop,
    '  var failStep: u32 = 0u;',
    ...(fp ? ['  var failed = false;', '  var iterationsTotal: u32 = 0u;', '  var iterationsMax: u32 = 0u;'] : []),
    '  var s: u32 = 0u;',
    '  for (; s < dControl.steps; s++) {',
    '    let step = dControl.stepBase + s;',
    ...(usesTime ? ['    let time = dControl.tStart + f32(step) * dt;'] : []),
    ...lowering.lines,
    ...(iterations ? ['    if (failed) { break; }', `    iterationsTotal += u32(${iterations});`, `    iterationsMax = max(iterationsMax, u32(${iterations}));`] : []),
    ...idx.map((i) => `    let nq${i} = ${elementOf(nq, i)};`),
    ...idx.map((i) => `    let np${i} = ${elementOf(np, i)};`),
    ...carries.assign(extra, 2),
    ...idx.map((i) => `    ${sq(i)} = nq${i}; ${sp(i)} = np${i};`),
    ...checkLines,
    ...recordLines,
    '  }',
    // A step loop cut short (an adapter's loop-iteration bound, a driver fault) must not pass for a result.
    `  if (s < dControl.steps && failStep == 0u) { failStep = (dControl.stepBase + s + 1u) | ${TRUNCATED_FLAG}u; }`,
    ...endCheckLines,
    '  if (failStep != 0u && dStatus[sBase] == 0u) { dStatus[sBase] = failStep; }',
    ...(fp ? ['  dStatus[sBase + 1u] += iterationsTotal;', '  dStatus[sBase + 2u] = max(dStatus[sBase + 2u], iterationsMax);'] : []),
    ...idx.map((i) => `  dState[qBase + ${i}u] = ${sq(i)}; dState[pBase + ${i}u] = ${sp(i)};`),
    '}',
    '',
  ].join('\n');
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
  const lowering = new Lowering(wgslSyntax, { prefix: 'v' });
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
  const moduleScope = lowering.hoisted.filter((l) => l.startsWith('var<private>'));
  const functionScope = lowering.hoisted.filter((l) => !l.startsWith('var<private>'));
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
