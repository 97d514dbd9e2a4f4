/**
 * The WGSL kernel of Lyapunov spectra for explicit step programs: one invocation per trajectory advances the
 * state (registers) and `count` tangent vectors (a function-scope array `tv`, read with constant indices) by
 * the step and its exact JVP, and re-orthonormalises the tangents by modified Gram–Schmidt after every step whose
 * absolute number is a multiple of `renormalizeEvery` (and after the last), adding log R_jj to per-trajectory
 * sums in `dLogs`, one set per history interval (so a run needs no read-back until its end). f32 throughout.
 */
import type { StepProgram } from '../integrators/step-program.js';
import { topologicalOrder } from '../ir/traverse.js';
import { tangentSteps } from './emit-js-lyapunov.js';
import { loopInvariants } from './invariants.js';
import { WORKGROUP_SIZE } from './kernel-words.js';
import { Lowering } from './lowering.js';
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
 * `count` f32 sums of log R_jj (added to; zero at the start); dStatus one u32 per
 * trajectory, 1 + the step at which the state or a tangent became non-finite (0: none). `loopIterations`: loop
 * iterations per step (for adapters that bound them per invocation).
 *
 * @example
 * const { wgsl, stride } = wgslLyapunovKernel(leapfrogStep(h), 4);
 */
export function wgslLyapunovKernel(program: StepProgram, count: number): { wgsl: string; stride: number; loopIterationsPerStep: number } {
  const h = program.system;
  const n = h.dof, m = 2 * n;
  const stride = m + count * m;
  const { lowering, qv, pv, values, invariantLines, paramPrologue, usesTime, bodyLoops } = lowerLyapunovStep(program, count);
  const { moduleScope, functionScope } = wgslHoisted(lowering);
  const idx = Array.from({ length: n }, (_, i) => i);
  const next = idx.flatMap((i) => [`    let nq${i} = ${elementOf(values[0]!, i)};`, `    let np${i} = ${elementOf(values[1]!, i)};`]);
  const nextTangents = Array.from({ length: count }, (_, j) => j).flatMap((j) => idx.flatMap((i) => [`    let nt${j * m + i} = ${elementOf(values[2 + 2 * j]!, i)};`, `    let nt${j * m + n + i} = ${elementOf(values[3 + 2 * j]!, i)};`]));
  const checkTerms = [...idx.flatMap((i) => [`nq${i}`, `np${i}`]), ...Array.from({ length: count * m }, (_, k) => `nt${k}`)];
  const unrolled = count * count * m <= UNROLLED_GRAM_SCHMIDT;
  const wgsl = [
    `struct Control { ${LYAPUNOV_CONTROL_WORDS.map((w, k) => `${w === 'pad' ? `pad${k}` : w}: ${w === 'dt' || w === 'tStart' ? 'f32' : 'u32'}`).join(', ')} }`,
    ...kernelBindings('var<storage, read_write> dLogs'),
    ...moduleScope,
    '',
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    '  let b = gid.x + dControl.offset;',
    '  if (b >= dControl.batch || dStatus[b] != 0u) { return; }',
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
    '  for (var s: u32 = 0u; s < dControl.steps; s++) {',
    '    let step = dControl.stepBase + s;',
    ...(usesTime ? ['    let time = dControl.tStart + f32(step) * dt;'] : []),
    ...lowering.lines,
    ...next,
    ...nextTangents,
    `    let check = ${shallowSum(checkTerms)};`,
    '    if (check - check != 0.0) { failStep = step + 1u; break; }',
    ...idx.map((i) => `    ${elementOf(qv, i)} = nq${i}; ${elementOf(pv, i)} = np${i};`),
    ...Array.from({ length: count * m }, (_, k) => `    tv[${k}] = nt${k};`),
    '    if ((step + 1u) % dControl.renormalizeEvery == 0u || step + 1u == dControl.totalSteps) {',
    `      let hb = (((step + dControl.historyEvery) / dControl.historyEvery - 1u) * dControl.batch + b) * ${count}u;`,
    ...(unrolled ? unrolledGramSchmidt(count, m) : loopedGramSchmidt(count, m)),
    '    }',
    '  }',
    '  if (failStep != 0u) { dStatus[b] = failStep; }',
    ...idx.map((i) => `  dState[base + ${i}u] = ${elementOf(qv, i)}; dState[base + ${n + i}u] = ${elementOf(pv, i)};`),
    `  for (var k: u32 = 0u; k < ${count * m}u; k++) { dState[base + ${m}u + k] = tv[k]; }`,
    '}',
    '',
  ].join('\n');
  const gramSchmidtLoops = unrolled ? 0 : count * count * (2 * m + 2);
  return { wgsl, stride, loopIterationsPerStep: 1 + bodyLoops + gramSchmidtLoops };
}

/** The step and its `count` tangent steps lowered to WGSL: state in registers, tangents in `tv`, invariants apart. */
function lowerLyapunovStep(program: StepProgram, count: number) {
  const h = program.system;
  const n = h.dof, m = 2 * n;
  const tangents = tangentSteps(program, count);
  const lowering = new Lowering(wgslTarget, { prefix: 'v' });
  const qv = wgslStateValue('sq', n), pv = wgslStateValue('sp', n);
  lowering.bind(h.q, qv);
  lowering.bind(h.p, pv);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  tangents.forEach((t, j) => {
    lowering.bind(t.tq, { kind: 'array', name: 'tv', size: n, offset: j * m });
    lowering.bind(t.tp, { kind: 'array', name: 'tv', size: n, offset: j * m + n });
  });
  const paramPrologue = bindParams(lowering, h.params);
  const roots = [program.next.q, program.next.p, ...tangents.flatMap((t) => [t.dq, t.dp])];
  lowering.baseIndent = 1;
  lowering.emit(loopInvariants(roots, [h.q, h.p, h.time, ...tangents.flatMap((t) => [t.tq, t.tp])]));
  const invariantLines = lowering.takeLines();
  lowering.takeLoopIterations();
  lowering.baseIndent = 2;
  const values = lowering.emit(roots);
  const bodyLoops = lowering.takeLoopIterations();
  return { lowering, qv, pv, values, invariantLines, paramPrologue, usesTime: topologicalOrder(roots).includes(h.time), bodyLoops };
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
    lines.push(`${I}{ let norm = sqrt(${shallowSum(range.map((k) => `tv[${j * m + k}] * tv[${j * m + k}]`))});`);
    lines.push(`${I}  dLogs[hb + ${j}u] += log(norm); let inv = 1.0 / norm;`);
    for (const k of range) lines.push(`${I}  tv[${j * m + k}] *= inv;`);
    lines.push(`${I}}`);
  }
  return lines;
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
    `${I}  let norm = sqrt(norm2);`,
    `${I}  dLogs[hb + j] += log(norm);`,
    `${I}  for (var k: u32 = 0u; k < ${m}u; k++) { tv[j * ${m}u + k] /= norm; }`,
    `${I}}`,
  ];
}
