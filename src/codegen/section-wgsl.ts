/**
 * The WGSL kernel of GPU runs with Poincaré sections, events and saved steps: the fused stepper kernel of
 * `emit-wgsl.ts` with hooks in its step loop. After every step it evaluates the section function g at the new
 * state; where g changes sign in the requested direction it locates the crossing in the kernel: cubic Hermite
 * interpolation of g over the step (g and dg/dt along the flow at both ends), then Newton corrections of the
 * fractional step τ with the step's own map Φ_τ (the step program lowered once more with step size τ), and stores
 * it; at the requested step counts it writes the state. Implicit methods re-run their fixed-point solve inside
 * each fractional step (a solve that fails there reports NO_CONVERGENCE at the crossing step).
 *
 * Buffers: binding 2 `dOut` (f32): crossing slots (b·max + k)·(1 + 2·dof) = [τ, q…, p…], then the saved q block
 * (save × batch × dof) and p block. Binding 3 `dStatus` (u32): the STATUS_WORDS per trajectory, then 4 words per
 * trajectory [stored crossings, overflowed, stopped, save cursor], the save list (saveCount step counts), and the
 * step index of each crossing slot (b·max + k).
 */
import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import type { StepProgram } from '../integrators/step-program.js';
import { STATUS_WORDS } from './kernel-words.js';
import { Lowering } from './lowering.js';
import { emitStep, type FixedPointSettings } from './step-body.js';
import { wgslTarget } from './target-wgsl.js';
import { elementOf } from './values.js';
import { bindParams, WGSL_KERNEL_INDENT, wgslKernelSkeleton } from './wgsl-kernel.js';
import { lowerForwardStep, type KernelLoopIterations } from './emit-wgsl.js';
import { wgslTrajectoryParamReads } from './trajectory-params-wgsl.js';

/** Layout of the control uniform of a section kernel (direction: 0 both, 1 upward, 2 downward; stop: 0 or 1). */
export const SECTION_CONTROL_WORDS = ['dt', 'tStart', 'steps', 'stepBase', 'offset', 'batch', 'sectionMax', 'saveCount', 'direction', 'stop', 'pad'] as const;

/** Words per trajectory after the status words: stored crossings, overflowed, stopped, save cursor. */
export const SECTION_HEADER_WORDS = 4;

/** The largest dof a section kernel takes (its state lives in registers). */
export const WGSL_SECTION_MAX_DOF = 32;

/** Loop iterations one located crossing runs (the Hermite root and the Newton corrections), for dispatch sizing. */
export const CROSSING_LOOP_ITERATIONS = 40;

/**
 * The section kernel for a program, the section function `g` and its rate dg/dt along the flow (both
 * null: saved steps only), with its loop iterations (as `wgslStepperKernel`); `saves` false leaves out the save branch.
 * `perTrajectory`: indices of scalar parameters read per trajectory (`wgslTrajectoryParamReads`; a sweep).
 *
 * @example
 * const { wgsl } = wgslSectionKernel(leapfrogStep(h), WGSL_FIXED_POINT, g, rate);
 */
export function wgslSectionKernel(
  program: StepProgram,
  settings: FixedPointSettings,
  g: Expr | null,
  rate: Expr | null,
  saves = true,
  perTrajectory: readonly number[] = [],
): { wgsl: string; loopIterations: KernelLoopIterations } {
  const h = program.system;
  const n = h.dof;
  const { lowering, qv, pv, paramPrologue, lowered } = lowerForwardStep(program, settings, perTrajectory);
  const { next, extra, iterations, invariantLines, carries, usesTime, loopIterations } = lowered;
  const reads = wgslTrajectoryParamReads(h.params, perTrajectory);
  const section = g !== null && rate !== null ? crossingLines(lowering, program, settings, g, rate, qv, pv, reads) : null;
  const wgsl = wgslKernelSkeleton({
    direction: 'forward',
    dof: n,
    lowering,
    controlWords: SECTION_CONTROL_WORDS,
    binding2: 'var<storage, read_write> dOut',
    skipFailed: true,
    pairs: [{ registers: [qv, pv], io: ['qBase', 'pBase'], firstBlock: 0, next, nextNames: ['nq', 'np'] }],
    prologue: [...paramPrologue, ...invariantLines],
    usesTime,
    carries: { preLoop: carries.preLoop, assign: carries.assign(extra, WGSL_KERNEL_INDENT.step) },
    stepLoads: section?.stepLoads ?? [],
    iterations: iterations ? [iterations] : [],
    // As the plain kernels: implicit steps stop at a non-finite state; explicit ones flag it without a
    // data-dependent exit (llvmpipe keeps its lanes in lockstep). Either way the host then rejects the run.
    finiteCheck: program.implicit ? 'break' : 'select',
    record: false,
    hooks: {
      beforeLoop: [
        `  let uBase = dControl.batch * ${STATUS_WORDS}u;`,
        `  let hBase = uBase + b * ${SECTION_HEADER_WORDS}u;`,
        '  if (dStatus[hBase + 2u] != 0u) { return; }',
        '  var saveAt: u32 = dStatus[hBase + 3u];',
        `  let saveList = uBase + dControl.batch * ${SECTION_HEADER_WORDS}u;`,
        '  let slotSteps = saveList + dControl.saveCount;',
        `  let savedBase = dControl.batch * dControl.sectionMax * ${1 + 2 * n}u;`,
        // The next step to save, in a register (one storage read per save, not per step).
        '  var nextSave: u32 = 0xffffffffu;',
        '  if (saveAt < dControl.saveCount) { nextSave = dStatus[saveList + saveAt]; }',
        ...(section?.beforeLoop ?? []),
      ],
      stepEnd: [
        // Without saved steps the branch is left out (a per-step branch slows software adapters' lockstep lanes).
        ...(saves ? saveLines(n, qv, pv) : []),
        ...(section?.stepEnd ?? []),
      ],
    },
    epilogue: ['  dStatus[hBase + 3u] = saveAt;'],
  });
  return { wgsl: `${wgsl}\n${HERMITE_ROOT_WGSL}`, loopIterations: { ...loopIterations, perStep: loopIterations.perStep + (section ? 1 : 0) } };
}

/** The save branch at the end of a step: the state after `nextSave` steps into its saved slot. */
function saveLines(n: number, qv: Value, pv: Value): string[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  return [
    '    if (step + 1u == nextSave) {',
    `      let at = savedBase + (saveAt * dControl.batch + b) * ${n}u;`,
    `      let pAt = at + dControl.saveCount * dControl.batch * ${n}u;`,
    ...idx.map((i) => `      dOut[at + ${i}u] = ${elementOf(qv, i)}; dOut[pAt + ${i}u] = ${elementOf(pv, i)};`),
    '      saveAt++;',
    '      nextSave = 0xffffffffu;',
    '      if (saveAt < dControl.saveCount) { nextSave = dStatus[saveList + saveAt]; }',
    '    }',
  ];
}

/** Binds a helper lowering's inputs: q, p to the given registers, dt and time to code, parameters as `bindParams` did (`reads`: per trajectory). */
function bindSection(gl: Lowering, program: StepProgram, q: Value, p: Value, dt: string, time: string, reads: ReadonlyMap<number, string>): void {
  const h = program.system;
  gl.bind(h.q, q);
  gl.bind(h.p, p);
  gl.bind(h.dt, { kind: 'scalar', code: dt });
  gl.bind(h.time, { kind: 'scalar', code: time });
  bindParams(gl, h.params, reads); // the kernel prologue already declares th{k}
}

/** Lowers `roots` in a helper lowering (its hoisted declarations join the kernel's) and returns lines and values. */
function lowerHelper(main: Lowering, program: StepProgram, prefix: string, indent: number, bind: [Value, Value, string, string, ReadonlyMap<number, string>], emit: (l: Lowering) => Value[]): { lines: string[]; values: Value[] } {
  const gl = new Lowering(wgslTarget, { prefix });
  bindSection(gl, program, ...bind);
  gl.baseIndent = indent;
  const values = emit(gl);
  main.hoisted.push(...gl.hoisted);
  return { lines: gl.lines, values };
}

/** The section's lines: g before the loop, the old state kept each step, and the crossing test, location and store. */
function crossingLines(main: Lowering, program: StepProgram, settings: FixedPointSettings, g: Expr, rate: Expr, qv: Value, pv: Value, reads: ReadonlyMap<number, string>) {
  const n = program.system.dof;
  const idx = Array.from({ length: n }, (_, i) => i);
  const unrolled = (prefix: string): Value => ({ kind: 'unrolled', elems: idx.map((i) => `${prefix}${i}`) });
  const [oq, op, yq, yp] = [unrolled('oq'), unrolled('op'), unrolled('yq'), unrolled('yp')];
  const e = elementOf;
  const start = lowerHelper(main, program, 'xi', 1, [qv, pv, 'dt', '(dControl.tStart + f32(dControl.stepBase) * dt)', reads], (l) => l.emit([g]));
  const end = lowerHelper(main, program, 'xg', 2, [qv, pv, 'dt', '(dControl.tStart + f32(step + 1u) * dt)', reads], (l) => l.emit([g]));
  const fractional = lowerHelper(main, program, 'xf', 5, [oq, op, 'tau', 'tn', reads], (l) => emitStep(l, program, { q: oq, p: op }, settings).next);
  const probe = lowerHelper(main, program, 'xr', 4, [yq, yp, 'dt', 'yt', reads], (l) => l.emit([g, rate]));
  const [fq, fp] = fractional.values as [Value, Value];
  const [pg, pr] = probe.values as [Value, Value];
  return {
    beforeLoop: [...start.lines, `  var secPrev: f32 = ${e(start.values[0]!, 0)};`],
    stepLoads: [`    ${idx.map((i) => `let oq${i} = ${e(qv, i)}; let op${i} = ${e(pv, i)};`).join(' ')}`],
    stepEnd: [
      ...end.lines,
      `    let secNew = ${e(end.values[0]!, 0)};`,
      '    if ((secPrev < 0.0 && secNew >= 0.0 && dControl.direction != 2u) || (secPrev > 0.0 && secNew <= 0.0 && dControl.direction != 1u)) {',
      '      let tn = dControl.tStart + f32(step) * dt;',
      `      ${idx.map((i) => `var yq${i}: f32 = oq${i}; var yp${i}: f32 = op${i};`).join(' ')}`,
      '      var yt: f32 = tn; var g0: f32 = 0.0; var r0: f32 = 0.0; var tau: f32 = dt;',
      '      for (var k: u32 = 0u; k < 6u; k++) {',
      `        if (k == 1u) { ${idx.map((i) => `yq${i} = ${e(qv, i)}; yp${i} = ${e(pv, i)};`).join(' ')} yt = tn + dt; }`,
      '        if (k >= 2u) {',
      ...fractional.lines,
      `          ${idx.map((i) => `yq${i} = ${e(fq, i)}; yp${i} = ${e(fp, i)};`).join(' ')} yt = tn + tau;`,
      '        }',
      '        if (k == 5u) { break; }',
      ...probe.lines,
      `        let pg = ${e(pg, 0)}; let pr = ${e(pr, 0)};`,
      '        if (k == 0u) { g0 = pg; r0 = pr * dt; }',
      '        else if (k == 1u) { tau = sectionHermiteRoot(g0, r0, pg, pr * dt) * dt; }',
      '        else if (pr != 0.0) { tau = clamp((tau - pg / pr) / dt, 0.0, 1.0) * dt; }',
      '      }',
      '      let stored = dStatus[hBase];',
      '      if (stored < dControl.sectionMax) {',
      '        let slot = b * dControl.sectionMax + stored;',
      '        dStatus[slotSteps + slot] = step;',
      `        let at = slot * ${1 + 2 * n}u;`,
      `        dOut[at] = tau; ${idx.map((i) => `dOut[at + ${1 + i}u] = yq${i}; dOut[at + ${1 + n + i}u] = yp${i};`).join(' ')}`,
      '        dStatus[hBase] = stored + 1u;',
      '      } else { dStatus[hBase + 1u] = dStatus[hBase + 1u] + 1u; }',
      `      if (dControl.stop != 0u) { ${idx.map((i) => `${e(qv, i)} = yq${i}; ${e(pv, i)} = yp${i};`).join(' ')} dStatus[hBase + 2u] = 1u; s = dControl.steps; break; }`,
      '    }',
      '    secPrev = secNew;',
    ],
  };
}

/** The root in [0, 1] of the cubic Hermite interpolant of g over a step (as the CPU's `hermiteRoot`, in f32). */
const HERMITE_ROOT_WGSL = `fn sectionHermiteRoot(g0: f32, d0: f32, g1: f32, d1: f32) -> f32 {
  if (g1 == 0.0) { return 1.0; }
  var lo: f32 = 0.0; var hi: f32 = 1.0;
  var u: f32 = g0 / (g0 - g1);
  for (var k: u32 = 0u; k < 30u; k++) {
    let u2 = u * u; let u3 = u2 * u;
    let v = (2.0 * u3 - 3.0 * u2 + 1.0) * g0 + (u3 - 2.0 * u2 + u) * d0 + (3.0 * u2 - 2.0 * u3) * g1 + (u3 - u2) * d1;
    if (v == 0.0) { return u; }
    if (sign(v) == sign(g0)) { lo = u; } else { hi = u; }
    let d = (6.0 * u2 - 6.0 * u) * g0 + (3.0 * u2 - 4.0 * u + 1.0) * d0 + (6.0 * u - 6.0 * u2) * g1 + (3.0 * u2 - 2.0 * u) * d1;
    var next: f32 = 0.5 * (lo + hi);
    if (d != 0.0) { let nt = u - v / d; if (nt > lo && nt < hi) { next = nt; } }
    if (abs(next - u) <= 1.2e-7) { return next; }
    u = next;
  }
  return u;
}
`;
