/**
 * The skeleton every generated JavaScript runner shares, forward and backward: closure-scope scratch arrays,
 * iteration counters, the loop over trajectories (state loaded into locals), carried values, the step loop (the
 * lowered step, its iteration count, the hand-over of the new state and carried values, a finiteness test that
 * returns the first failure), optional recording, and the state stored back. Runners supply the lowered step and
 * their register pairs; `emit-js-stepper.ts` and `emit-js-adjoint.ts` use it.
 */
import { DarbouxError } from '../errors.js';
import type { Expr } from '../ir/expr.js';
import { size } from '../ir/shape.js';
import { topologicalOrder } from '../ir/traverse.js';
import type { Value } from '../ir/op.js';
import type { System } from '../system/system.js';
import type { Lowering } from './lowering.js';
import { elementOf, type RegisterPair, type StepDirection } from './values.js';
import { swapLines, type ArraySwaps } from './array-swaps.js';
import { THREAD_BARRIER, THREAD_FROM, THREAD_SUM, THREAD_TO, threadSplit } from '../ir/ops/pair-threads.js';

/** Indentation of the invariants, carried values and step body inside `jsKernelSkeleton`. */
export const JS_KERNEL_INDENT = { invariants: 1, carries: 2, step: 3 } as const;

/** State vectors up to this size live in scalar locals; larger ones in arrays. */
export const UNROLL_STATE = 64;

/**
 * A state vector in a runner: scalar locals `prefix0…` up to UNROLL_STATE, else the array `prefixA`.
 *
 * @example
 * jsStateValue('sq', 2);   // { kind: 'unrolled', elems: ['sq0', 'sq1'] }
 * jsStateValue('lq', 100); // { kind: 'array', name: 'lqA', size: 100 }
 */
export function jsStateValue(prefix: string, n: number): Value {
  return n <= UNROLL_STATE
    ? { kind: 'unrolled', elems: Array.from({ length: n }, (_, i) => `${prefix}${i}`) }
    : { kind: 'array', name: `${prefix}A`, size: n };
}

/**
 * Binds a system's inputs in a runner: the state to `jsStateValue`s `sq…`, `sp…`, dt and t to the locals
 * `dt` and `time`, parameter k to `th{k}` read from the runner argument `params` (the returned prologue).
 *
 * @example
 * const lowering = new Lowering(jsTarget, { prefix: 'v' });
 * const { q: qv, p: pv, prologue } = bindJsRunnerInputs(lowering, h);
 */
export function bindJsRunnerInputs(lowering: Lowering, h: System): { q: Value; p: Value; prologue: string[] } {
  const q = jsStateValue('sq', h.dof), p = jsStateValue('sp', h.dof);
  lowering.bind(h.q, q);
  lowering.bind(h.p, p);
  lowering.bind(h.dt, { kind: 'scalar', code: 'dt' });
  lowering.bind(h.time, { kind: 'scalar', code: 'time' });
  const prologue: string[] = [];
  h.params.forEach((node, k) => {
    prologue.push(node.shape.length === 0 ? `  const th${k} = params[${k}][0];` : `  const th${k} = params[${k}];`);
    lowering.bind(node, node.shape.length === 0 ? { kind: 'scalar', code: `th${k}` } : { kind: 'array', name: `th${k}`, size: size(node.shape) });
  });
  return { q, p, prologue };
}

/**
 * Generated functions longer than this (characters) risk exceeding V8's bytecode limit for optimisation
 * (`--max-optimized-bytecode-size`, 60 KiB). Measured on Node 20 with `%GetOptimizationStatus` on generated
 * runners: up to 70 447 characters they were optimised by TurboFan, from 78 276 on they were not (and ran
 * ~20–40× slower); this keeps a margin below the boundary.
 */
const OPTIMIZABLE_SOURCE_LENGTH = 60_000;

/**
 * Source of a generated runner that V8 will still optimise: V8 leaves functions whose bytecode is over its
 * limit (~60 kB) to the interpreter, tens of times slower. Generated with the default unrolling first, and
 * again with loops for every tensor longer than 4 elements when that is too long (large networks, long
 * backward steps).
 *
 * @example
 * const source = optimizableSource((unrollLimit) => jsRunnerSource(program, settings, unrollLimit), [program.next.q, program.next.p]);
 */
export function optimizableSource(generate: (unrollLimit: number | undefined) => string, roots?: readonly Expr[]): string {
  const source = generate(undefined);
  if (source.length <= OPTIMIZABLE_SOURCE_LENGTH) return source;
  // Only tensors with 5 to 16 elements, or a dimension of 5 to 16 (reductions over it), lower differently with
  // unrollLimit 4 instead of 16: without any, generating again would give the same source.
  const midSized = (d: number) => d > 4 && d <= 16;
  const shrinks = roots === undefined || topologicalOrder(roots).some((n) => midSized(size(n.shape)) || n.shape.some(midSized));
  return shrinks ? generate(4) : source;
}

/**
 * The step loop of each direction over the window sFrom…sTo−1 of `steps` (forward: ascending, backward:
 * descending), and the time its carried values are evaluated at: that of the window's first step, computed as the
 * step before it computed it when the window starts inside the run (time + dt forward, time − dt backward), so a
 * run split into windows is bit-identical to one call.
 */
const JS_DIRECTIONS: Record<StepDirection, { stepLoop: string; firstTime: string }> = {
  forward: { stepLoop: 'for (let s = sFrom; s < sTo; s++) {', firstTime: 'sFrom === 0 ? tStart : tStart + (sFrom - 1) * dt + dt' },
  backward: { stepLoop: 'for (let s = sTo - 1; s >= sFrom; s--) {', firstTime: 'sTo === steps ? tStart + (steps - 1) * dt : tStart + sTo * dt - dt' },
};

/** What a runner puts into `jsKernelSkeleton`. */
export interface JsKernelParts {
  /**
   * Name and parameter list of the returned function: it must take `batch`, `steps`, `dt`, `tStart`, and end with
   * the window `bFrom = 0, bTo = batch, sFrom = 0, sTo = steps` (trajectories bFrom…bTo−1, steps sFrom…sTo−1).
   */
  readonly signature: string;
  readonly direction: StepDirection;
  readonly dof: number;
  /** The lowering holding the step body (`lines`, at JS_KERNEL_INDENT.step) and the closure-scope declarations. */
  readonly lowering: Lowering;
  /** Register pairs, in the order they are advanced and tested; trajectory b's values sit at offset `o = b·dof`. */
  readonly pairs: readonly RegisterPair[];
  /** Function-scope statements before the trajectory loop: parameter reads, loop invariants. */
  readonly prologue: readonly string[];
  /** Whether the step reads the local `time`. */
  readonly usesTime: boolean;
  /** Carried values: evaluated before the step loop, handed on after each step (indented). */
  readonly carries: { readonly preLoop: readonly string[]; readonly assign: readonly string[] };
  /** Statements at the start of every step, before the lowered body (e.g. loading a stored state). */
  readonly stepLoads?: readonly string[];
  /** Iteration counters of the step's solves (summed into the statistics). */
  readonly iterations: readonly string[];
  /** Record the first pair every `recordEvery` steps into `recordQ`, `recordP` (when not null). */
  readonly record?: boolean;
  /**
   * Forward runners of long states: the arrays handed over by swaps instead of copies (the carried ones claimed
   * already; the state pair is claimed here when its new values allow it).
   */
  readonly swaps?: ArraySwaps;
  /** Statements before each trajectory's step loop, and at the end of every step (registers hold the new state). */
  readonly hooks?: { readonly trajectoryStart: readonly string[]; readonly stepEnd: readonly string[] };
}

/**
 * The source of a generated runner (for `new Function`): returns a function that runs every trajectory through
 * its steps and returns `JsRunStatus` (the first failure: an unconverged solve, from the target's
 * `solveFailure`, or a non-finite pair value; and the iteration statistics). A failing step leaves the
 * registers at the last finite state (`failStep` is set and the labelled step loop left). Every runner takes a
 * window of trajectories and steps (a run split into windows, in trajectory-major order, is bit-identical to one
 * call); forward runners collect every trajectory's failure in `failures` and go on with the next one, backward
 * ones return at the first.
 *
 * @example
 * const source = jsKernelSkeleton({ signature: 'run(Q, P, params, batch, steps, dt, tStart)', direction: 'forward', dof: n, lowering, pairs: [state], prologue, usesTime, carries, iterations: [] });
 */
export function jsKernelSkeleton(parts: JsKernelParts): string {
  const { dof: n, lowering, pairs } = parts;
  const I = '      ';
  const split = threadSplit(lowering) !== null;
  if (split && (parts.direction !== 'forward' || pairs.length !== 1 || pairs[0]!.registers[0].kind !== 'array')) splitUnsupported('only forward runners of one array state split their passes');
  const collect = parts.direction === 'forward';
  const direction = JS_DIRECTIONS[parts.direction];
  const advanced = pairs.filter((pair) => pair.next !== null);
  const its = parts.iterations;
  const handOver = pairs[0]!.registers[0].kind === 'array' ? arrayHandOver(advanced, n, I, lowering, parts.swaps, split) : unrolledHandOver(advanced, n, I);
  const swapped = parts.swaps === undefined ? null : swapLines(parts.swaps, I);
  const declare = (lines: readonly string[]) => (swapped === null ? lines : lines.map(swapped.declare));
  const record = parts.record ? recordLines(advanced[0]!, n, I) : [];
  return [
    '"use strict";',
    ...declare(lowering.hoisted),
    ...declare(pairs.flatMap((pair) => pair.registers.flatMap((v) => (v.kind === 'array' ? [`const ${v.name} = new Float64Array(${n});`] : [])))),
    ...handOver.scratch,
    `return function ${parts.signature} {`,
    '  let iterationsTotal = 0, iterationsMax = 0;',
    ...(swapped?.locals ?? []),
    ...(collect ? ['  const failures = [];'] : []),
    ...parts.prologue,
    '  for (let b = bFrom; b < bTo; b++) {',
    `    const o = b * ${n};`,
    ...pairs.flatMap((pair) => loadLines(pair, n, split)),
    // Carried values are evaluated at the first state, at the time of the first step (H may depend on t). A
    // window that starts at step sFrom > 0 takes the time as the step before it computed it (time + dt).
    ...(parts.usesTime && parts.carries.preLoop.length > 0
      ? [`    const time = ${direction.firstTime};`]
      : []),
    ...parts.carries.preLoop,
    // Recording (forward): the next snapshot after step sFrom, and where it goes.
    ...(parts.record
      ? ['    let untilRecord = recordEvery > 0 ? recordEvery - (sFrom % recordEvery) : 0;', `    let recordAt = o + (recordEvery > 0 ? Math.floor(sFrom / recordEvery) * batch * ${n} : 0);`]
      : []),
    '    let failStep = -1, failKind = 0, failResidual = 0, failIterations = 0;',
    ...(parts.hooks?.trajectoryStart ?? []),
    `    stepLoop: ${direction.stepLoop}`,
    ...(parts.usesTime ? [`${I}const time = tStart + s * dt;`] : []),
    ...(parts.stepLoads ?? []),
    ...handOver.stepStart,
    ...lowering.lines,
    ...(its.length > 0 ? [`${I}const its = ${its.join(' + ')};`, `${I}iterationsTotal += its; if (its > iterationsMax) iterationsMax = its;`] : []),
    ...handOver.beforeCarries,
    ...parts.carries.assign,
    ...handOver.afterCarries,
    ...(swapped?.statements ?? []),
    ...record,
    ...(parts.hooks?.stepEnd ?? []),
    '    }',
    `    if (failStep >= 0) ${collect ? `failures.push(${FAILURE_RECORD});` : `return { failure: ${FAILURE_RECORD}, iterationsTotal, iterationsMax };`}`,
    ...(split ? [`    ${THREAD_BARRIER}();`] : []),
    ...pairs.flatMap((pair) => storeLines(pair, n)),
    '  }',
    collect ? '  return { failure: null, failures, iterationsTotal, iterationsMax };' : '  return { failure: null, iterationsTotal, iterationsMax };',
    '};',
  ].join('\n');
}

/**
 * The failure of a trajectory's step loop as a `JsRunFailure`, from the numbers the loop leaves (numbers, not an
 * object built in the loop: V8 optimised that loop ~30% worse): `failStep` (−1 for none), `failKind` (0 non-finite,
 * 1 unconverged solve, with `failResidual` and `failIterations`).
 */
const FAILURE_RECORD =
  "failKind === 0 ? { kind: 'nonfinite', step: failStep, trajectory: b } : { kind: 'noConvergence', step: failStep, trajectory: b, residual: failResidual, iterations: failIterations }";

/** The finiteness test of a step's new values (`check`, their sum): on failure, leaves the step loop. */
function failIfNonFinite(I: string): string {
  return `${I}if (check - check !== 0) { failStep = s; break stepLoop; }`;
}

/** How a step's new values replace the registers: statements before and after the carried values are stored. */
interface HandOver {
  /** Closure-scope declarations (scratch arrays). */
  readonly scratch: readonly string[];
  /** Statements at the start of every step, before the lowered step. */
  readonly stepStart: readonly string[];
  readonly beforeCarries: readonly string[];
  /** Tests the sum of all new values (`check`, non-finite iff one of them is) before any register is set. */
  readonly afterCarries: readonly string[];
}

/** Unrolled registers: every new value into a named local, the carried values stored, then the registers set. */
function unrolledHandOver(advanced: readonly RegisterPair[], n: number, I: string): HandOver {
  const idx = Array.from({ length: n }, (_, i) => i);
  const e = elementOf;
  return {
    scratch: [],
    stepStart: [],
    beforeCarries: advanced.flatMap((pair) => [0, 1].flatMap((k) => idx.map((i) => `${I}const ${pair.nextNames[k]}${i} = ${e(pair.next![k]!, i)};`))),
    afterCarries: [
      `${I}const check = ${advanced.flatMap((pair) => idx.map((i) => `${pair.nextNames[0]}${i} + ${pair.nextNames[1]}${i}`)).join(' + ')};`,
      failIfNonFinite(I),
      ...advanced.flatMap((pair) => idx.map((i) => `${I}${e(pair.registers[0], i)} = ${pair.nextNames[0]}${i}; ${e(pair.registers[1], i)} = ${pair.nextNames[1]}${i};`)),
    ],
  };
}

/**
 * Array registers (long states): the finiteness sum of the new values, then (when finite) the new values copied
 * into the registers (`set`, a memory copy, for whole arrays), so the source does not grow with the state and a
 * failing step leaves the registers at the last finite state. New values that are not arrays of their own (fused or
 * unrolled values, or views of a register) are first written to a scratch array `nextName + 'A'`, so that no
 * register is overwritten before every new value is read. With one register pair, the scratch writes and the sum
 * go into the step's last elementwise loop when it runs over the state (`Lowering.fuseIntoLastLoop`: the same
 * sum, in the same order, without passes of their own); otherwise into loops of their own. Runs before the
 * carried values are stored (a new value may be a carried register).
 */
function arrayHandOver(advanced: readonly RegisterPair[], n: number, I: string, lowering: Lowering, swaps?: ArraySwaps, split = false): HandOver {
  const scratch: string[] = [];
  const lines: string[] = [];
  const registerNames = new Set(advanced.flatMap((pair) => pair.registers.map((v) => (v.kind === 'array' ? v.name : ''))));
  // Once one statement needs a loop of its own, the later ones follow it there (they may read what it writes).
  let fuse = advanced.length === 1;
  const perElement = (statement: (i: string) => string, writes?: string) => {
    fuse &&= (!split || lowering.lastLoopIsSplit) && lowering.fuseIntoLastLoop(n, (i) => lowering.line(statement(i), false), writes);
    if (!fuse && split) splitUnsupported('the new state is not written by the step\'s last split loop');
    if (!fuse) lines.push(`${I}for (let i = 0; i < ${n}; i++) ${statement('i')}`);
  };
  const copies = advanced.map((pair) => {
    const sources = [0, 1].map((k): Value => {
      const v = pair.next![k]!;
      if (v.kind === 'array' && !registerNames.has(v.name)) return v;
      const name = `${pair.nextNames[k]}A`;
      scratch.push(`const ${name} = new Float64Array(${n});`);
      if (v.kind === 'fused' || v.kind === 'array') perElement((i) => `${name}[${i}] = ${elementIndexed(v, i)};`, name);
      else {
        fuse = false;
        if (split) splitUnsupported('the new state is unrolled');
        for (let i = 0; i < n; i++) lines.push(`${I}${name}[${i}] = ${elementOf(v, i)};`);
      }
      return { kind: 'array', name, size: n } as Value;
    });
    const [r0, r1] = pair.registers.map((v) => (v as { name: string }).name);
    return { sources, r0: r0!, r1: r1! };
  });
  for (const { sources } of copies) perElement((i) => `check += ${elementIndexed(sources[0]!, i)} + ${elementIndexed(sources[1]!, i)};`);
  // Split passes: each worker summed its own range; the total (a barrier) publishes the new state too.
  if (split) lines.push(`${I}check = ${THREAD_SUM}(check);`);
  lines.push(failIfNonFinite(I));
  for (const { sources, r0, r1 } of copies) {
    if (swaps !== undefined && advanced.length === 1 && swapsBoth(swaps, [r0, r1], sources)) continue;
    if (split) splitUnsupported('the new state is not handed over by swaps');
    if (sources.every(isWholeArray)) lines.push(`${I}${r0}.set(${(sources[0] as { name: string }).name}); ${r1}.set(${(sources[1] as { name: string }).name});`);
    else lines.push(`${I}for (let i = 0; i < ${n}; i++) { ${r0}[i] = ${elementIndexed(sources[0]!, 'i')}; ${r1}[i] = ${elementIndexed(sources[1]!, 'i')}; }`);
  }
  return { scratch, stepStart: [`${I}let check = 0;`], beforeCarries: lines, afterCarries: [] };
}

/**
 * Refuses split passes for a runner they do not fit (the threaded runner then generates it without them).
 *
 * @example
 * if (!fused) splitUnsupported('the new state is unrolled');
 */
function splitUnsupported(reason: string): never {
  throw new DarbouxError('INTERNAL', `split threaded passes do not apply: ${reason}`, { threadSplit: 'unsupported', reason });
}

/**
 * Whether `error` is `splitUnsupported`'s refusal (the threaded runner catches it and generates the runner without
 * split passes).
 *
 * @example
 * try { source = generate(true); } catch (e) { if (!isSplitUnsupported(e)) throw e; source = generate(false); }
 */
export function isSplitUnsupported(error: unknown): boolean {
  return error instanceof DarbouxError && error.details.threadSplit === 'unsupported';
}

/** Claims swaps of both registers with their new values when both can be swapped (two distinct arrays), else none. */
function swapsBoth(swaps: ArraySwaps, registers: readonly [string, string], sources: readonly Value[]): boolean {
  const [s0, s1] = sources as [Value, Value];
  if (s0.kind !== 'array' || s1.kind !== 'array' || s0.name === s1.name) return false;
  if (!swaps.canSwap(registers[0], s0) || !swaps.canSwap(registers[1], s1)) return false;
  return swaps.claim(registers[0], s0) && swaps.claim(registers[1], s1);
}

/** An array value without an offset (the whole array: copied by `set`). */
function isWholeArray(v: Value): boolean {
  return v.kind === 'array' && (v.offset === undefined || v.offset === 0);
}

/** Element `i` (an index expression) of an array or fused value. */
function elementIndexed(v: Value, i: string): string {
  if (v.kind === 'fused') return v.at(i);
  if (v.kind !== 'array') throw new DarbouxError('INTERNAL', `runner hand-over: element ${i} of a ${v.kind} value (expected an array or a fused value)`, { kind: v.kind });
  return `${v.name}[${v.offset === undefined ? '' : `${v.offset} + `}${i}]`;
}

/** Stores a pair's registers back into its arrays at offset `o` (nothing when it has none). */
function storeLines(pair: RegisterPair, n: number): string[] {
  if (pair.io === null) return [];
  const [a, b] = pair.registers;
  const [to0, to1] = pair.io;
  if (a.kind === 'array' && b.kind === 'array') return [`    for (let i = 0; i < ${n}; i++) { ${to0}[o + i] = ${a.name}[i]; ${to1}[o + i] = ${b.name}[i]; }`];
  return Array.from({ length: n }, (_, i) => `    ${to0}[o + ${i}] = ${elementOf(a, i)}; ${to1}[o + ${i}] = ${elementOf(b, i)};`);
}

/**
 * Declarations of a pair's locals, loaded from its arrays at offset `o` (or left unset when it has none). Split
 * passes (thread-split.ts): each worker loads its own range of the shared registers, between two barriers.
 */
function loadLines(pair: RegisterPair, n: number, split = false): string[] {
  const [a, b] = pair.registers;
  if (pair.io === null && a.kind === 'array') return [];
  const [from0, from1] = pair.io ?? [];
  if (pair.io !== null && a.kind === 'array' && b.kind === 'array' && split) {
    // The first barrier: no worker still reads the previous trajectory's registers (storing them back).
    const load = `    for (let i = ${THREAD_FROM}; i < ${THREAD_TO}; i++) { ${a.name}[i] = ${from0}[o + i]; ${b.name}[i] = ${from1}[o + i]; }`;
    return [`    ${THREAD_BARRIER}();`, load, `    ${THREAD_BARRIER}();`];
  }
  if (pair.io !== null && a.kind === 'array' && b.kind === 'array') return [`    for (let i = 0; i < ${n}; i++) { ${a.name}[i] = ${from0}[o + i]; ${b.name}[i] = ${from1}[o + i]; }`];
  const idx = Array.from({ length: n }, (_, i) => i); // scalar registers only: the array case stays O(1) in n
  if (pair.io === null) return [`    let ${[...idx.map((i) => elementOf(a, i)), ...idx.map((i) => elementOf(b, i))].join(', ')};`];
  return [`    let ${idx.map((i) => `${elementOf(a, i)} = ${from0}[o + ${i}]`).join(', ')};`, `    let ${idx.map((i) => `${elementOf(b, i)} = ${from1}[o + ${i}]`).join(', ')};`];
}

/** The recording branch: the pair's new values every `recordEvery` steps, snapshot k at k·batch·dof. */
function recordLines(pair: RegisterPair, n: number, I: string): string[] {
  const [nq, np] = pair.nextNames;
  const [a, b] = pair.registers;
  const copy = a.kind === 'array' && b.kind === 'array'
    ? [`${I}  for (let i = 0; i < ${n}; i++) { recordQ[recordAt + i] = ${a.name}[i]; recordP[recordAt + i] = ${b.name}[i]; }`]
    : Array.from({ length: n }, (_, i) => `${I}  recordQ[recordAt + ${i}] = ${nq}${i}; recordP[recordAt + ${i}] = ${np}${i};`);
  return [
    `${I}if (recordQ !== null && --untilRecord === 0) {`,
    `${I}  untilRecord = recordEvery;`,
    ...copy,
    `${I}  recordAt += batch * ${n};`,
    `${I}}`,
  ];
}
