/**
 * The WGSL kernel of Lyapunov spectra: one invocation per trajectory advances the state (registers) and `count`
 * tangent vectors (a function-scope array `tv`, read with constant indices) by the step and its exact JVP
 * (implicit steps: their fixed point, then the tangents' linear stage equations, each solved to rounding in
 * its own loop), and re-orthonormalises the tangents by modified Gram–Schmidt after every step whose absolute
 * number is a multiple of `renormalizeEvery` (and after the last), adding log R_jj to per-trajectory sums in
 * `dLogs`, one set per history interval (so a run needs no read-back until its end). f32 throughout.
 */
import type { StepProgram } from '../integrators/step-program.js';
import { tangentVectors } from '../integrators/tangent-vectors.js';
import { WGSL_FIXED_POINT, type KernelLoopIterations } from './emit-wgsl.js';
import { controlStruct, STATUS_WORDS, statusWord, TRUNCATED_FLAG, WORKGROUP_SIZE } from './kernel-words.js';
import { Lowering } from './lowering.js';
import { lowerLyapunovStep } from './lyapunov-body.js';
import type { FixedPointSettings } from './step-body.js';
import { wgslTarget } from './target-wgsl.js';
import { elementOf } from './values.js';
import { bindParams, declareWgslState, kernelBindings, shallowSum, wgslHoisted, wgslStateValue } from './wgsl-kernel.js';

/** Words of the Lyapunov kernel's control uniform (all u32 but dt and tStart). */
export const LYAPUNOV_CONTROL_WORDS = ['dt', 'tStart', 'steps', 'stepBase', 'offset', 'batch', 'renormalizeEvery', 'totalSteps', 'historyEvery', 'pad', 'pad', 'pad'] as const;

/** Gram–Schmidt is unrolled (constant indices) up to this many multiply-adds, else it runs as loops. */
const UNROLLED_GRAM_SCHMIDT = 4096;

/**
 * The kernel and its layout: dState holds per trajectory `stride` floats (q, p, then tangent j's δq, δp for
 * j = 0…count−1); dLogs, per history interval k (steps k·historyEvery + 1 … (k+1)·historyEvery), per trajectory,
 * `count` f32 sums of log R_jj (added to; zero at the start); dStatus STATUS_WORDS u32 per trajectory, as a
 * stepper kernel's (`decodeFailures`): the failure word (1 + the step at which the state or a tangent became
 * non-finite, or a solve did not converge, with NO_CONVERGENCE_FLAG; TRUNCATED_FLAG when the adapter cut the loop
 * short), solve iterations and the residual. A trajectory with a failure is skipped by later dispatches.
 * `loopIterations`: per step and per iteration of the solves (for adapters that bound them per invocation).
 *
 * @example
 * const { wgsl, stride } = wgslLyapunovKernel(leapfrogStep(h), 4);
 */
export function wgslLyapunovKernel(program: StepProgram, count: number, settings: FixedPointSettings = WGSL_FIXED_POINT): { wgsl: string; stride: number; loopIterations: KernelLoopIterations } {
  const h = program.system;
  const n = h.dof, m = 2 * n;
  const stride = m + count * m;
  const { lowering, qv, pv, body, paramPrologue } = lowerKernelStep(program, count, settings);
  const { values, invariantLines, usesTime, iterations } = body;
  const solves = iterations.length > 0;
  const { moduleScope, functionScope } = wgslHoisted(lowering);
  const idx = Array.from({ length: n }, (_, i) => i);
  const next = idx.flatMap((i) => [`    let nq${i} = ${elementOf(values[0]!, i)};`, `    let np${i} = ${elementOf(values[1]!, i)};`]);
  const nextTangents = Array.from({ length: count }, (_, j) => j).flatMap((j) => idx.flatMap((i) => [`    let nt${j * m + i} = ${elementOf(values[2 + 2 * j]!, i)};`, `    let nt${j * m + n + i} = ${elementOf(values[3 + 2 * j]!, i)};`]));
  const checkTerms = [...idx.flatMap((i) => [`nq${i}`, `np${i}`]), ...Array.from({ length: count * m }, (_, k) => `nt${k}`)];
  const unrolled = count * count * m <= UNROLLED_GRAM_SCHMIDT;
  const wgsl = [
    ...controlStruct(LYAPUNOV_CONTROL_WORDS),
    ...kernelBindings('var<storage, read_write> dLogs'),
    ...moduleScope,
    '',
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    '  let b = gid.x + dControl.offset;',
    `  let sBase = b * ${STATUS_WORDS}u;`,
    `  if (b >= dControl.batch || ${statusWord('failure')} != 0u) { return; }`,
    `  let base = b * ${stride}u;`,
    ...functionScope.map((l) => `  ${l}`),
    ...declareWgslState(qv, n, (i) => `dState[base + ${i}]`),
    ...declareWgslState(pv, n, (i) => `dState[base + ${n}u + ${i}]`),
    `  var tv: array<f32, ${count * m}>;`,
    `  for (var k: u32 = 0u; k < ${count * m}u; k++) { tv[k] = dState[base + ${m}u + k]; }`,
    '  let dt = dControl.dt;',
    ...paramPrologue,
    ...invariantLines,
    '  var failStep: u32 = 0u;',
    ...(solves ? ['  var failed = false;', '  var iterationsTotal: u32 = 0u;', '  var iterationsMax: u32 = 0u;'] : []),
    '  var s: u32 = 0u;',
    '  for (; s < dControl.steps; s++) {',
    '    let step = dControl.stepBase + s;',
    ...(usesTime ? ['    let time = dControl.tStart + f32(step) * dt;'] : []),
    ...lowering.lines,
    ...(solves ? [`    let its = u32(${iterations.join(' + ')});`, '    iterationsTotal += its;', '    iterationsMax = max(iterationsMax, its);'] : []),
    ...next,
    ...nextTangents,
    `    let check = ${shallowSum(checkTerms)};`,
    // The exponent bits, not check − check ≠ 0 (which compilers may fold away as always false).
    '    if ((bitcast<u32>(check) & 0x7f800000u) == 0x7f800000u) { failStep = step + 1u; break; }',
    ...idx.map((i) => `    ${elementOf(qv, i)} = nq${i}; ${elementOf(pv, i)} = np${i};`),
    ...Array.from({ length: count * m }, (_, k) => `    tv[${k}] = nt${k};`),
    '    if ((step + 1u) % dControl.renormalizeEvery == 0u || step + 1u == dControl.totalSteps) {',
    `      let hb = (((step + dControl.historyEvery) / dControl.historyEvery - 1u) * dControl.batch + b) * ${count}u;`,
    ...(unrolled ? unrolledGramSchmidt(count, m) : loopedGramSchmidt(count, m)),
    '    }',
    '  }',
    // A step loop cut short (an adapter's loop-iteration bound) must not pass for a result.
    `  if (s < dControl.steps && failStep == 0u${solves ? ' && !failed' : ''}) { failStep = (dControl.stepBase + s + 1u) | ${TRUNCATED_FLAG}u; }`,
    `  if (failStep != 0u && ${statusWord('failure')} == 0u) { ${statusWord('failure')} = failStep; }`,
    ...(solves ? [`  ${statusWord('iterationsTotal')} += iterationsTotal;`, `  ${statusWord('iterationsMax')} = max(${statusWord('iterationsMax')}, iterationsMax);`] : []),
    ...idx.map((i) => `  dState[base + ${i}u] = ${elementOf(qv, i)}; dState[base + ${n + i}u] = ${elementOf(pv, i)};`),
    `  for (var k: u32 = 0u; k < ${count * m}u; k++) { dState[base + ${m}u + k] = tv[k]; }`,
    '}',
    '',
  ].join('\n');
  const gramSchmidtLoops = unrolled ? 0 : count * count * (2 * m + 2);
  const { prologue, perStep, perSolveIteration } = body.loopIterations;
  return { wgsl, stride, loopIterations: { prologue: prologue + 1, perStep: perStep + gramSchmidtLoops, perSolveIteration } };
}

/** The step and its `count` tangent steps lowered to WGSL: state in registers, tangents in `tv`, invariants apart. */
function lowerKernelStep(program: StepProgram, count: number, settings: FixedPointSettings) {
  const h = program.system;
  const n = h.dof, m = 2 * n;
  const vectors = tangentVectors(program, count);
  const lowering = new Lowering(wgslTarget, { prefix: 'v' });
  const qv = wgslStateValue('sq', n), pv = wgslStateValue('sp', n);
  lowering.bind(h.q, qv);
  lowering.bind(h.p, pv);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  vectors.tangents.forEach((t, j) => {
    lowering.bind(t.tq, { kind: 'array', name: 'tv', size: n, offset: j * m });
    lowering.bind(t.tp, { kind: 'array', name: 'tv', size: n, offset: j * m + n });
  });
  const paramPrologue = bindParams(lowering, h.params);
  const body = lowerLyapunovStep(lowering, program, vectors, { q: qv, p: pv }, settings, { invariants: 1, step: 2 });
  return { lowering, qv, pv, body, paramPrologue };
}

/** Modified Gram–Schmidt on tv with constant indices: vector j projected off 0…j−1, normalised, the log of its length added to dLogs. */
function unrolledGramSchmidt(count: number, m: number): string[] {
  const I = '      ';
  const lines: string[] = [];
  const range = Array.from({ length: m }, (_, k) => k);
  for (let j = 0; j < count; j++) {
    for (let i = 0; i < j; i++) {
      lines.push(`${I}{ let r = ${shallowSum(range.map((k) => `tv[${i * m + k}] * tv[${j * m + k}]`))};`);
      for (const k of range) lines.push(`${I}  tv[${j * m + k}] -= r * tv[${i * m + k}];`);
      lines.push(`${I}}`);
    }
    lines.push(`${I}{ let norm2 = ${shallowSum(range.map((k) => `tv[${j * m + k}] * tv[${j * m + k}]`))};`);
    lines.push(...safeNorm(`${I}  `, `${j}u`, m));
    lines.push(`${I}  dLogs[hb + ${j}u] += log(norm); let inv = 1.0 / norm;`);
    for (const k of range) lines.push(`${I}  tv[${j * m + k}] *= inv;`);
    lines.push(`${I}}`);
  }
  return lines;
}

/**
 * `var norm` from `norm2`, the sum of squares of tangent `j`: its square root, or where the squares overflow f32
 * (a tangent longer than ~1e19, near an escape) the length computed again scaled by the largest component.
 */
function safeNorm(I: string, j: string, m: number): string[] {
  return [
    `${I}var norm = sqrt(norm2);`,
    `${I}if (norm2 > 1.0e38) {`,
    `${I}  var largest: f32 = 0.0;`,
    `${I}  for (var k: u32 = 0u; k < ${m}u; k++) { largest = max(largest, abs(tv[${j} * ${m}u + k])); }`,
    `${I}  var scaled: f32 = 0.0;`,
    `${I}  for (var k: u32 = 0u; k < ${m}u; k++) { let x = tv[${j} * ${m}u + k] / largest; scaled += x * x; }`,
    `${I}  norm = largest * sqrt(scaled);`,
    `${I}}`,
  ];
}

/** The same as loops (large tangent sets). */
function loopedGramSchmidt(count: number, m: number): string[] {
  const I = '      ';
  return [
    `${I}for (var j: u32 = 0u; j < ${count}u; j++) {`,
    `${I}  for (var i: u32 = 0u; i < j; i++) {`,
    `${I}    var r: f32 = 0.0;`,
    `${I}    for (var k: u32 = 0u; k < ${m}u; k++) { r += tv[i * ${m}u + k] * tv[j * ${m}u + k]; }`,
    `${I}    for (var k: u32 = 0u; k < ${m}u; k++) { tv[j * ${m}u + k] -= r * tv[i * ${m}u + k]; }`,
    `${I}  }`,
    `${I}  var norm2: f32 = 0.0;`,
    `${I}  for (var k: u32 = 0u; k < ${m}u; k++) { norm2 += tv[j * ${m}u + k] * tv[j * ${m}u + k]; }`,
    ...safeNorm(`${I}  `, 'j', m),
    `${I}  dLogs[hb + j] += log(norm);`,
    `${I}  for (var k: u32 = 0u; k < ${m}u; k++) { tv[j * ${m}u + k] /= norm; }`,
    `${I}}`,
  ];
}
