/**
 * The skeleton every generated per-trajectory WGSL kernel shares, forward and backward: the control uniform
 * (`struct Control` from its named words), bindings 0 dState, 1 dParams, 2 a kernel-specific array, 3 dStatus
 * (STATUS_WORDS per trajectory), 4 dControl; the entry point `main` (one invocation per trajectory), the register
 * pairs loaded from `dState`, carried values, the step loop of one dispatch (the lowered step, iteration
 * statistics, the hand-over of the new state and carried values, the finiteness test, optional recording), the
 * TRUNCATED test of a loop cut short, the status words, and the state stored back. `emit-wgsl.ts` and
 * `emit-wgsl-adjoint.ts` use it.
 */
import type { Expr } from '../ir/expr.js';
import type { Value } from '../ir/op.js';
import { size } from '../ir/shape.js';
import { controlStruct, NONFINITE_BY_FLAG, STATUS_WORDS, statusWord, TRUNCATED_FLAG, WORKGROUP_SIZE } from './kernel-words.js';
import type { Lowering } from './lowering.js';
import { elementOf, type RegisterPair, type StepDirection } from './values.js';

/** Indentation of the invariants, carried values and step body inside `wgslKernelSkeleton`. */
export const WGSL_KERNEL_INDENT = { invariants: 1, carries: 1, step: 2 } as const;

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
 * statements returned for the kernel prologue), tensors are indexed in place. Parameters in `perTrajectory`
 * (parameter index → WGSL offset of trajectory b's first element, `wgslTrajectoryParamReads`) are read there instead.
 *
 * @example
 * const paramPrologue = bindParams(lowering, h.params); // e.g. ['  let th0 = dParams[0];']
 */
export function bindParams(lowering: Lowering, params: readonly Expr[], perTrajectory: ReadonlyMap<number, string> = new Map()): string[] {
  const prologue: string[] = [];
  let at = 0;
  params.forEach((node, k) => {
    const n = size(node.shape);
    const own = perTrajectory.get(k);
    if (node.shape.length === 0) {
      prologue.push(`  let th${k} = dParams[${own ?? at}];`);
      lowering.bind(node, { kind: 'scalar', code: `th${k}` });
    } else {
      lowering.bind(node, { kind: 'array', name: 'dParams', size: n, offset: own === undefined ? at : `(${own})` });
    }
    at += n;
  });
  return prologue;
}

/**
 * A lowering's hoisted declarations split by scope: constant tensors (`var<private>`) at module scope, scratch
 * arrays in the function.
 *
 * @example
 * const { moduleScope, functionScope } = wgslHoisted(lowering);
 */
export function wgslHoisted(lowering: Lowering): { moduleScope: string[]; functionScope: string[] } {
  return {
    moduleScope: lowering.hoisted.filter((l) => l.startsWith('var<private>')),
    functionScope: lowering.hoisted.filter((l) => !l.startsWith('var<private>')),
  };
}

/** A register pair of a WGSL kernel: `io` names its offsets into dState, blocks `firstBlock` and `firstBlock + 1`. */
export interface WgslRegisterPair extends RegisterPair {
  /** dState holds blocks of batch·dof floats (e.g. q, p, λq, λp); the pair's q-like values are in this one. */
  readonly firstBlock: number;
}

/**
 * WGSL expressions of each direction, per dispatch: the step `s` runs (`step`), the first step, the 1-based
 * number of the step the loop reached when it stopped at `s`, and that of the dispatch's last step.
 */
const WGSL_DIRECTIONS: Record<StepDirection, { step: string; firstStep: string; reached: string; last: string }> = {
  forward: { step: 'dControl.stepBase + s', firstStep: 'dControl.stepBase', reached: 'dControl.stepBase + s + 1u', last: 'dControl.stepBase + dControl.steps' },
  backward: {
    step: 'dControl.stepBase + dControl.steps - 1u - s',
    firstStep: 'dControl.stepBase + dControl.steps - 1u',
    reached: 'dControl.stepBase + dControl.steps - s',
    last: 'dControl.stepBase + 1u',
  },
};

/**
 * How a kernel tests its advanced pairs for a non-finite value: every step, leaving the loop (`'break'`), every
 * step, only flagging the first (`'select'`: no data-dependent exit, which keeps llvmpipe's lanes in lockstep),
 * or once after the last step (`'afterLoop'`, NONFINITE_BY_FLAG: a non-finite state stays non-finite).
 */
export type WgslFiniteCheck = 'break' | 'select' | 'afterLoop';

/** What a kernel puts into `wgslKernelSkeleton`. */
export interface WgslKernelParts {
  readonly direction: StepDirection;
  readonly dof: number;
  /** The lowering holding the step body (`lines`, at WGSL_KERNEL_INDENT.step) and the hoisted declarations. */
  readonly lowering: Lowering;
  /** Names of the control uniform's words (`STEPPER_CONTROL_WORDS`, `ADJOINT_CONTROL_WORDS`). */
  readonly controlWords: readonly string[];
  /** Binding 2, an `array<f32>`: its address space, access and name (e.g. 'var<storage, read> dStored'). */
  readonly binding2: string;
  /** Return at once for a trajectory whose status already holds a failure. */
  readonly skipFailed: boolean;
  /**
   * Zero the trajectory's status words in the first dispatch of a run (`dControl.stepBase` 0), so the host needs
   * no clear of its own (the stepper kernels; others keep words the host set up or accumulates across dispatches).
   */
  readonly clearStatusAtStart?: boolean;
  /**
   * Store NaN for a trajectory whose step loop was cut short (TRUNCATED), so that a non-finite stored state marks
   * every failure of an explicit stepper kernel and the host can find failures from the state it reads back.
   */
  readonly nanWhenTruncated?: boolean;
  /** Register pairs, in the order they are advanced and tested. */
  readonly pairs: readonly WgslRegisterPair[];
  /** Statements after the pairs' declarations (offsets, accumulators). */
  readonly declarations?: readonly string[];
  /** Statements after `let dt`: parameter reads, loop invariants. */
  readonly prologue: readonly string[];
  /** Whether the step reads `time`. */
  readonly usesTime: boolean;
  /** Carried values: evaluated before the step loop, handed on after each step (indented). */
  readonly carries: { readonly preLoop: readonly string[]; readonly assign: readonly string[] };
  /** Statements at the start of every step, before the lowered body (e.g. loading a stored state). */
  readonly stepLoads?: readonly string[];
  /** Iteration counters of the step's solves (f32 locals). */
  readonly iterations: readonly string[];
  readonly finiteCheck: WgslFiniteCheck;
  /** Record the first pair every `recordEvery` steps into binding 2 (`dRecord`). */
  readonly record?: boolean;
  /** Statements at the end of `main` (after the pairs are stored). */
  readonly epilogue?: readonly string[];
  /** Statements before the step loop, and at the end of every step (registers hold the new state). */
  readonly hooks?: { readonly beforeLoop: readonly string[]; readonly stepEnd: readonly string[] };
}

/**
 * A per-trajectory WGSL kernel with entry point `main` (see the module comment for its layout).
 *
 * @example
 * const wgsl = wgslKernelSkeleton({ direction: 'forward', dof: n, lowering, controlWords: STEPPER_CONTROL_WORDS, binding2: 'var<storage, read_write> dRecord', skipFailed: false, pairs, prologue, usesTime, carries, iterations: [], finiteCheck: 'select', record: true });
 */
export function wgslKernelSkeleton(parts: WgslKernelParts): string {
  return [...kernelHead(parts), ...stepLoop(parts), ...kernelTail(parts), '}', ''].join('\n');
}

/**
 * The five bindings every per-trajectory kernel declares: state, parameters, binding 2 (`declaration`, e.g.
 * `var<storage, read_write> dRecord`), status words and the Control uniform.
 *
 * @example
 * kernelBindings('var<storage, read_write> dLogs'); // five `@group(0) @binding(k)` lines
 */
export function kernelBindings(declaration: string): string[] {
  return [
    '@group(0) @binding(0) var<storage, read_write> dState: array<f32>;',
    '@group(0) @binding(1) var<storage, read> dParams: array<f32>;',
    `@group(0) @binding(2) ${declaration}: array<f32>;`,
    '@group(0) @binding(3) var<storage, read_write> dStatus: array<u32>;',
    '@group(0) @binding(4) var<uniform> dControl: Control;',
  ];
}

/** Declarations, bindings and `main` up to the step loop: offsets, registers, parameters, invariants, carried values. */
function kernelHead(parts: WgslKernelParts): string[] {
  const { dof: n, lowering, pairs } = parts;
  const { moduleScope, functionScope } = wgslHoisted(lowering);
  return [
    ...controlStruct(parts.controlWords),
    ...kernelBindings(parts.binding2),
    ...moduleScope,
    '',
    `@compute @workgroup_size(${WORKGROUP_SIZE})`,
    'fn main(@builtin(global_invocation_id) gid: vec3<u32>) {',
    '  let b = gid.x + dControl.offset;',
    `  let sBase = b * ${STATUS_WORDS}u;`,
    ...(parts.clearStatusAtStart
      ? ['  if (b >= dControl.batch) { return; }', `  if (dControl.stepBase == 0u) { ${Array.from({ length: STATUS_WORDS }, (_, w) => `dStatus[sBase + ${w}u] = 0u;`).join(' ')} }`, ...(parts.skipFailed ? [`  if (${statusWord('failure')} != 0u) { return; }`] : [])]
      : [parts.skipFailed ? `  if (b >= dControl.batch || ${statusWord('failure')} != 0u) { return; }` : '  if (b >= dControl.batch) { return; }']),
    ...pairs.flatMap((pair) => (pair.io === null ? [] : [0, 1].map((k) => `  let ${pair.io![k]} = ${blockOffset(pair.firstBlock + k)} * ${n}u;`))),
    ...functionScope.map((l) => `  ${l}`),
    ...pairs.flatMap((pair) => [0, 1].flatMap((k) => declareWgslState(pair.registers[k]!, n, pair.io ? (i) => `dState[${pair.io![k]} + ${i}]` : undefined))),
    ...(parts.declarations ?? []),
    '  let dt = dControl.dt;',
    ...parts.prologue,
    // Carried values are evaluated at this dispatch's first state, at the time of its first step (H may depend on t).
    ...(parts.usesTime && parts.carries.preLoop.length > 0 ? [`  let time = dControl.tStart + f32(${WGSL_DIRECTIONS[parts.direction].firstStep}) * dt;`] : []),
    ...parts.carries.preLoop,
    ...(parts.hooks?.beforeLoop ?? []),
  ];
}

/** The step loop: the lowered step, iteration statistics, the hand-over of the new values, the finiteness test, recording. */
function stepLoop(parts: WgslKernelParts): string[] {
  const { dof: n, pairs } = parts;
  const its = parts.iterations;
  const advanced = pairs.filter((pair) => pair.next !== null);
  const idx = Array.from({ length: n }, (_, i) => i);
  const e = elementOf;
  return [
    '  var failStep: u32 = 0u;',
    ...(its.length > 0 ? ['  var failed = false;', '  var iterationsTotal: u32 = 0u;', '  var iterationsMax: u32 = 0u;'] : []),
    '  var s: u32 = 0u;',
    '  for (; s < dControl.steps; s++) {',
    `    let step = ${WGSL_DIRECTIONS[parts.direction].step};`,
    ...(parts.usesTime ? ['    let time = dControl.tStart + f32(step) * dt;'] : []),
    ...(parts.stepLoads ?? []),
    ...parts.lowering.lines,
    ...(its.length > 0 ? [`    let its = u32(${its.join(' + ')});`, '    iterationsTotal += its;', '    iterationsMax = max(iterationsMax, its);'] : []),
    ...advanced.flatMap((pair) => [0, 1].flatMap((k) => idx.map((i) => `    let ${pair.nextNames[k]}${i} = ${e(pair.next![k]!, i)};`))),
    ...parts.carries.assign,
    ...advanced.flatMap((pair) => idx.map((i) => `    ${e(pair.registers[0], i)} = ${pair.nextNames[0]}${i}; ${e(pair.registers[1], i)} = ${pair.nextNames[1]}${i};`)),
    ...stepCheckLines(parts.finiteCheck, advanced, n),
    ...(parts.record ? recordLines(advanced[0]!, n) : []),
    ...(parts.hooks?.stepEnd ?? []),
    '  }',
  ];
}

/** After the step loop: the TRUNCATED and end-of-dispatch tests, the status words, the pairs stored back, the epilogue. */
function kernelTail(parts: WgslKernelParts): string[] {
  const { dof: n, pairs } = parts;
  const direction = WGSL_DIRECTIONS[parts.direction];
  const solves = parts.iterations.length > 0;
  const idx = Array.from({ length: n }, (_, i) => i);
  const e = elementOf;
  const endCheck = pairs.filter((pair) => pair.next !== null).flatMap((pair) => idx.map((i) => `${e(pair.registers[0], i)} + ${e(pair.registers[1], i)}`));
  return [
    // A step loop cut short (an adapter's loop-iteration bound, a driver fault) must not pass for a result.
    `  if (s < dControl.steps && failStep == 0u${solves ? ' && !failed' : ''}) { failStep = (${direction.reached}) | ${TRUNCATED_FLAG}u; }`,
    ...(parts.finiteCheck === 'afterLoop'
      ? [`  let check = ${shallowSum(endCheck)};`, `  if (${nonFinite('check')}) { failStep = (${direction.last}) | ${NONFINITE_BY_FLAG}u; }`]
      : []),
    `  if (failStep != 0u && ${statusWord('failure')} == 0u) { ${statusWord('failure')} = failStep; }`,
    ...(parts.nanWhenTruncated
      ? [
          // NaN from a run-time value (a constant NaN is not valid WGSL).
          `  if ((failStep & ${TRUNCATED_FLAG}u) != 0u) {`,
          '    let nan = bitcast<f32>(0x7fc00000u | (failStep & 0u));',
          ...pairs.flatMap((pair) => (pair.io === null ? [] : idx.map((i) => `    ${e(pair.registers[0], i)} = nan; ${e(pair.registers[1], i)} = nan;`))),
          '  }',
        ]
      : []),
    ...(solves ? [`  ${statusWord('iterationsTotal')} += iterationsTotal;`, `  ${statusWord('iterationsMax')} = max(${statusWord('iterationsMax')}, iterationsMax);`] : []),
    ...pairs.flatMap((pair) => (pair.io === null ? [] : idx.map((i) => `  dState[${pair.io![0]} + ${i}u] = ${e(pair.registers[0], i)}; dState[${pair.io![1]} + ${i}u] = ${e(pair.registers[1], i)};`))),
    ...(parts.epilogue ?? []),
  ];
}

/** Offset (in dof units) of trajectory b's values in block k of dState (each block batch·dof floats). */
function blockOffset(k: number): string {
  if (k === 0) return 'b';
  return k === 1 ? '(dControl.batch + b)' : `(${k}u * dControl.batch + b)`;
}

/**
 * The sum of many terms as an expression WGSL compilers accept: chains of at most 32 additions, grouped in
 * parentheses level by level, so its depth grows with log N (Tint refuses expressions deeper than 512; a state of
 * 768 coordinates pairs gives 1 536 terms). Up to 32 terms it is the plain chain.
 *
 * @example
 * shallowSum(['a', 'b', 'c']); // 'a + b + c'
 */
export function shallowSum(terms: readonly string[]): string {
  let level = [...terms];
  while (level.length > 32) {
    const grouped: string[] = [];
    for (let at = 0; at < level.length; at += 32) grouped.push(`(${level.slice(at, at + 32).join(' + ')})`);
    level = grouped;
  }
  return level.join(' + ');
}

/** Whether an f32 is infinite or NaN (all exponent bits set). */
function nonFinite(x: string): string {
  return `(bitcast<u32>(${x}) & 0x7f800000u) == 0x7f800000u`;
}

/** The finiteness test inside the step loop. */
function stepCheckLines(check: WgslFiniteCheck, advanced: readonly RegisterPair[], n: number): string[] {
  if (check === 'afterLoop') return [];
  const terms = advanced.flatMap((pair) => Array.from({ length: n }, (_, i) => `${pair.nextNames[0]}${i} + ${pair.nextNames[1]}${i}`));
  return [
    `    let check = ${shallowSum(terms)};`,
    check === 'break' ? `    if (${nonFinite('check')}) { failStep = step + 1u; break; }` : `    failStep = select(failStep, step + 1u, failStep == 0u && ${nonFinite('check')});`,
  ];
}

/** The recording branch: the pair's new values after every `recordEvery`-th step into `dRecord` (q block, then p). */
function recordLines(pair: RegisterPair, n: number): string[] {
  const [nq, np] = pair.nextNames;
  return [
    '    if (dControl.recordEvery != 0u && (step + 1u) % dControl.recordEvery == 0u) {',
    `      let at = ((step + 1u) / dControl.recordEvery - 1u) * dControl.batch * ${n}u + b * ${n}u;`,
    `      let pAt = at + dControl.recordCount * dControl.batch * ${n}u;`,
    ...Array.from({ length: n }, (_, i) => `      dRecord[at + ${i}u] = ${nq}${i}; dRecord[pAt + ${i}u] = ${np}${i};`),
    '    }',
  ];
}
