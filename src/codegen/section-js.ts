/**
 * The CPU runner of runs with Poincaré sections and saved steps (`run({ section, saveAt })`): the forward runner
 * of `emit-js-stepper.ts` with two hooks in its step loop. After every step it evaluates the section function g
 * at the new state, and where g changes sign in a requested direction it hands the states at both ends of the
 * step to the host's `hit` (which locates the crossing, stores it, and may stop the trajectory there: an event);
 * at the requested step counts it writes the state into the saved arrays. Everything else (windows, failures,
 * carried values, recording) is the plain runner's.
 */
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import type { StepProgram } from '../integrators/step-program.js';
import type { JsRunner, JsRunStatus } from './emit-js-stepper.js';
import { compileGenerated } from './emit-js.js';
import { bindJsRunnerInputs, JS_KERNEL_INDENT, jsKernelSkeleton, UNROLL_STATE } from './js-kernel.js';
import { Lowering } from './lowering.js';
import { lowerStepper, type FixedPointSettings } from './step-body.js';
import { jsTarget } from './target-js.js';
import { elementOf } from './values.js';
import type { Value } from '../ir/op.js';

/**
 * What a section runner reads and writes besides the state (one object per run). `old`/`next` (2·dof, q then p)
 * receive the states at both ends of a crossing step before `hit(b, s, gOld, gNew)` is called; when `hit` returns
 * true the trajectory stops at the state it put in `z` (2·dof). Trajectories with `stopped[b] = 1` are skipped.
 * `saveSteps` are increasing step counts; the state after `saveSteps[k]` steps goes to slot k·batch + b of
 * `savedQ`, `savedP` (× dof).
 */
export interface SectionRunState {
  direction: number;
  old: Float64Array;
  next: Float64Array;
  z: Float64Array;
  stopped: Uint8Array;
  hit: (b: number, s: number, gOld: number, gNew: number) => boolean;
  saveSteps: Int32Array;
  savedQ: Float64Array;
  savedP: Float64Array;
}

/** The generated runner: the plain runner's arguments, the window (explicit), then the run's `SectionRunState`. */
export type JsSectionRunner = ((...args: [...Required<Parameters<JsRunner>>, SectionRunState]) => JsRunStatus) & { readonly source: string };

/** The largest dof a section runner takes (its state lives in scalar locals). */
export const SECTION_MAX_DOF = UNROLL_STATE;

/**
 * Compiles the section runner of a program for the section function `g` (an expression of the system's q, p,
 * time and parameters), or for saved steps only (`g` null).
 *
 * @example
 * const run = compileJsSectionRunner(leapfrogStep(h), JS_FIXED_POINT, index(h.q, 1));
 */
export function compileJsSectionRunner(program: StepProgram, settings: FixedPointSettings, g: Expr | null): JsSectionRunner {
  const source = sectionRunnerSource(program, settings, g);
  const fn = compileGenerated<(...args: never[]) => unknown>(source, `the ${program.method} section runner`);
  return Object.assign(fn, { source }) as JsSectionRunner;
}

/** The source of `compileJsSectionRunner`'s runner. */
function sectionRunnerSource(program: StepProgram, settings: FixedPointSettings, g: Expr | null): string {
  const h = program.system;
  const n = h.dof;
  const lowering = new Lowering(jsTarget, { prefix: 'v' });
  const { q: qv, p: pv, prologue } = bindJsRunnerInputs(lowering, h);
  const { next, extra, iterations, invariantLines, carries, usesTime } = lowerStepper(lowering, program, { q: qv, p: pv }, settings, JS_KERNEL_INDENT);
  const I = '      ';
  const section = g === null ? null : sectionLines(lowering, program, g, qv, pv);
  const save = [
    `${I}if (saveAt < saveCount && s + 1 === saveSteps[saveAt]) {`,
    `${I}  const at = (saveAt * batch + b) * ${n};`,
    ...Array.from({ length: n }, (_, i) => `${I}  savedQ[at + ${i}] = ${elementOf(qv, i)}; savedP[at + ${i}] = ${elementOf(pv, i)};`),
    `${I}  saveAt++;`,
    `${I}}`,
  ];
  return jsKernelSkeleton({
    signature: 'run(Q, P, params, batch, steps, dt, tStart, recordEvery, recordQ, recordP, bFrom, bTo, sFrom, sTo, sec)',
    direction: 'forward',
    dof: n,
    lowering,
    pairs: [{ registers: [qv, pv], io: ['Q', 'P'], next, nextNames: ['nq', 'np'] }],
    prologue: [
      ...prologue,
      ...invariantLines,
      '  const secUp = sec.direction >= 0, secDown = sec.direction <= 0, secOld = sec.old, secNext = sec.next, secZ = sec.z, stopped = sec.stopped;',
      '  const saveSteps = sec.saveSteps, saveCount = saveSteps.length, savedQ = sec.savedQ, savedP = sec.savedP;',
    ],
    usesTime,
    carries: { preLoop: carries.preLoop, assign: carries.assign(extra, JS_KERNEL_INDENT.step) },
    stepLoads: section?.stepLoads ?? [],
    iterations: iterations ? [iterations] : [],
    record: true,
    hooks: {
      trajectoryStart: [
        '    if (stopped[b] === 1) continue;',
        '    let saveAt = 0;',
        '    while (saveAt < saveCount && saveSteps[saveAt] <= sFrom) saveAt++;',
        ...(section?.trajectoryStart ?? []),
      ],
      stepEnd: [...save, ...(section?.stepEnd ?? [])],
    },
  });
}

/**
 * The section's lines: g at the window's first state (`secPrev`), the old state kept at the start of each step,
 * and at the end of each step g at the new state, the crossing test and the call of `sec.hit`.
 */
function sectionLines(lowering: Lowering, program: StepProgram, g: Expr, qv: Value, pv: Value) {
  const n = program.system.dof;
  const I = '      ';
  const lowerG = (prefix: string, indent: number, time: string): string[] => {
    const gl = new Lowering(jsTarget, { prefix });
    bindLike(gl, program, qv, pv, time);
    gl.baseIndent = indent;
    const [value] = gl.emit([g]);
    lowering.hoisted.push(...gl.hoisted);
    return [...gl.lines, `${'  '.repeat(indent)}${gl.syntax.mutableDecl(prefix === 'si' ? 'secPrev' : 'secNew', elementOf(value!, 0))}`];
  };
  const idx = Array.from({ length: n }, (_, i) => i);
  const q = (i: number) => elementOf(qv, i), p = (i: number) => elementOf(pv, i);
  return {
    trajectoryStart: lowerG('si', JS_KERNEL_INDENT.carries, '(tStart + sFrom * dt)'),
    stepLoads: [`${I}const ${idx.map((i) => `oq${i} = ${q(i)}, op${i} = ${p(i)}`).join(', ')};`],
    stepEnd: [
      ...lowerG('sg', JS_KERNEL_INDENT.step, '(tStart + (s + 1) * dt)'),
      `${I}if ((secPrev < 0 && secNew >= 0 && secUp) || (secPrev > 0 && secNew <= 0 && secDown)) {`,
      ...idx.map((i) => `${I}  secOld[${i}] = oq${i}; secOld[${n + i}] = op${i}; secNext[${i}] = ${q(i)}; secNext[${n + i}] = ${p(i)};`),
      `${I}  if (sec.hit(b, s, secPrev, secNew)) {`,
      ...idx.map((i) => `${I}    ${q(i)} = secZ[${i}]; ${p(i)} = secZ[${n + i}];`),
      `${I}    break stepLoop;`,
      `${I}  }`,
      `${I}}`,
      `${I}secPrev = secNew;`,
    ],
  };
}

/** Binds a section function's inputs as `bindJsRunnerInputs` binds the step's (the parameters `th{k}` it declared). */
function bindLike(gl: Lowering, program: StepProgram, qv: Value, pv: Value, time: string): void {
  const h = program.system;
  gl.bind(h.q, qv);
  gl.bind(h.p, pv);
  gl.bind(h.dt, { kind: 'scalar', code: 'dt' });
  gl.bind(h.time, { kind: 'scalar', code: time });
  h.params.forEach((node, k) => {
    gl.bind(node, node.shape.length === 0 ? { kind: 'scalar', code: `th${k}` } : { kind: 'array', name: `th${k}`, size: size(node.shape) });
  });
}
