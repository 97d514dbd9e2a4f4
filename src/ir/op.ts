import { DarbouxError } from '../errors.js';
import type { Attrs, Expr } from './expr.js';
import type { Shape } from './shape.js';

/**
 * How a value lives in generated code: a scalar expression, a short vector unrolled into scalars, an
 * array variable (a preallocated Float64Array in JS, a function-scope `array<f32, N>` in WGSL), or a fused
 * elementwise chain computed inside the loop of the one op that reads it.
 */
export type Value =
  | { kind: 'scalar'; code: string }
  | { kind: 'unrolled'; elems: string[] }
  | { kind: 'array'; name: string; size: number; offset?: number | string }
  /** A fused elementwise tensor: never stored, each element computed where its only reader reads it. */
  | { kind: 'fused'; size: number; at: (i: number | string) => string };

/** What an op's `emit` sees: a small backend-neutral statement builder shared by the JS and WGSL emitters. */
export interface EmitContext {
  /** Tensors with at most this many elements are unrolled into scalars. */
  readonly unrollLimit: number;
  /**
   * Whether a vector longer than `unrollLimit` may stay unrolled (one named scalar per element) and be copied
   * into an array only if a loop indexes it (true in JS, where many scalars are cheap); when false (WGSL), a
   * long vector assembled from scalars is written to an array up front.
   */
  readonly keepsLongVectorsUnrolled: boolean;
  /**
   * Whether the node being emitted may be fused into its only reader (which reads each element once): its
   * emitter may then return `{ kind: 'fused' }` instead of filling an array.
   */
  readonly fusible: boolean;
  /** A numeric literal in the target language. */
  literal(v: number): string;
  /** The emitted value of an argument node. */
  value(e: Expr): Value;
  /** Element `i` (a constant or an index expression) of an emitted node, flat row-major. */
  elem(e: Expr, i: number | string): string;
  /** Declares a scalar temporary holding `code`; returns its name. */
  temp(code: string): string;
  /** Declares a mutable scalar initialised to `code`; returns its name. */
  mutable(code: string): string;
  /** Declares an array temporary of `size` elements; returns its name. */
  array(size: number): string;
  /** Declares an integer scratch array of `size` elements (JS Int32Array, WGSL array<i32>), hoisted like `array`; returns its name. */
  intArray(size: number): string;
  /**
   * JS only: declares a hoisted, reassignable integer array (`let`, initially `size` elements) that persists
   * between evaluations of the generated function, for scratch that grows (neighbour lists); returns its name.
   */
  growableIntArray(size: number): string;
  /** JS only: like `growableIntArray`, a reassignable f64 array (`let`, Float64Array). */
  growableArray(size: number): string;
  /**
   * JS only: a function declared at the hoisted scope, its statements emitted by `body` into a context of its own
   * (it sees the hoisted arrays and its `params`, not the caller's temporaries); returns its name. Rarely run,
   * long loops (a neighbour-list build) are optimised apart from the hot evaluation that calls them.
   */
  hoistedFunction(params: readonly string[], body: (inner: EmitContext) => void): string;
  /**
   * JS only: declares `const name = code` at the hoisted scope (evaluated once, when the generated function is
   * made, after the hoisted declarations before it); returns its name. For state set up once (a WebAssembly
   * instance).
   */
  hoistedValue(code: string): string;
  /**
   * Runs `emit` and takes back the statements it emitted at this position: they are removed from the output and
   * returned (indented as emitted), for the caller to inspect and emit again (`line(code.trim(), false)`) where it
   * chooses. Declarations, hoisted state and names made by `emit` stay.
   */
  captureLines(emit: () => void): string[];
  /**
   * A value made once per generated function (shared by every scope of it) under `key`: e.g. the names of
   * hoisted scratch that several emission sites reuse (one neighbour list per pair geometry).
   */
  shared<T>(key: string, make: () => T): T;
  /** Declares a constant array holding `values` (hoisted out of the body); returns its name. */
  constantArray(values: readonly number[]): string;
  /** Emits one statement (`terminate: false`: a block opener or closer, written without `;`). */
  line(code: string, terminate?: boolean): void;
  /** Emits `for (i = 0; i < n; i++) { body }`. */
  loop(n: number, body: (i: string) => void): void;
  /** The target language (for the few renderings an emitter writes itself: `floor`, `sqrt`, integer casts). */
  readonly target: 'js' | 'wgsl';
  /**
   * Inside the step of a JS forward runner: a condition true only in the last step of the runner's call. An emitter
   * that keeps state for the runner's NEXT call (the remembered pair forces of pair-emit.ts) need only store it
   * then. Undefined elsewhere (store every time).
   */
  readonly lastStep?: string;
  /**
   * Lowers a bound-variable body (e.g. a pair potential inside a pair loop) at the current statement position,
   * in a nested scope where each placeholder in `bindings` has the given value; returns the roots' values.
   */
  lowerBody(roots: readonly Expr[], bindings: ReadonlyMap<Expr, Value>): Value[];
}

/**
 * Scalar kernels of an elementwise op (applied per element with scalar broadcasting). Only `apply` is
 * required: each target renders the op as a call of `call` by default (`Math.sin(x)` in JS, `sin(x)` in
 * WGSL), so a record lists only its exceptions — `code` when one rendering suits every target (`(a + b)`),
 * or `js` / `wgsl` for one target (tanh's clamp in WGSL).
 */
export interface ElementwiseImpl {
  /** f64 value of one element from the arguments' elements. */
  readonly apply: (x: number[], attrs: Attrs) => number;
  /** Function name of the default rendering (`elementwiseOp` sets it to the op's name unless given). */
  readonly call: string;
  /** A rendering valid in every target (arguments are code in the target language). */
  readonly code?: (x: string[], attrs: Attrs) => string;
  /** JavaScript (f64) rendering, when it differs from `code` and the default call. */
  readonly js?: (x: string[], attrs: Attrs) => string;
  /** WGSL (f32) rendering, when it differs from `code` and the default call. */
  readonly wgsl?: (x: string[], attrs: Attrs) => string;
  /** The emitted code mentions an argument more than once, so arguments must be bound to names first. */
  readonly repeatsArgs?: boolean;
}

/**
 * A reduction over the elements of one argument X, written as accumulators updated once per element of X —
 * what lets the lowering share ONE loop over X among all of X's reducing readers (horizontal fusion), for
 * any reduction op, without naming it.
 */
export interface ReductionRule {
  /**
   * Number of accumulators when argument `arg` is the reduced tensor X (1 for a scalar result; the result's
   * length for a vector), or null when this reading cannot share a loop (e.g. too many accumulators).
   */
  accumulators(node: Expr, arg: number, unrollLimit: number): number | null;
  /** Initial value of every accumulator (0 for sums). */
  readonly init: number;
  /**
   * Emits the statements that fold element `i` of X (its value is the name `xi`) into the accumulators `acc`;
   * after the loop, the accumulators are the node's elements.
   */
  update(ctx: EmitContext, node: Expr, arg: number, i: string, xi: string, acc: readonly string[]): void;
}

/** A sparse cotangent: the node reads one element of a vector argument, so its cotangent lands on that element. */
export interface ElementRead {
  /** Which argument is read. */
  readonly arg: number;
  /** The flat index of the element read. */
  readonly element: number;
}

/** How the printer writes an op. */
export type PrintRule =
  | { infix: string; precedence: number; rightAssociative?: boolean; exponentAttr?: string }
  | { prefix: string; precedence: number }
  | { call: string }
  | { custom: (args: string[], node: Expr) => string; precedence?: number };

/**
 * One record per primitive op: type rule, evaluation, emission and derivative rules side by side.
 * Adding an op touches only its record.
 */
export interface OpDef {
  readonly name: string;
  /** Number of arguments when fixed (elementwise ops). */
  readonly arity?: number;
  /** Result shape; throws a SHAPE error naming the op and the shapes. */
  shape(args: readonly Expr[], attrs: Attrs): Shape;
  /** Present for elementwise ops: per-element scalar kernels; evaluation and emission derive from it. */
  readonly elementwise?: ElementwiseImpl;
  /** f64 evaluation on flat row-major arrays (constant folding, reference evaluation). */
  evaluate?(values: Float64Array[], node: { args: readonly Expr[]; attrs: Attrs; shape: Shape }): Float64Array;
  /** Emission for non-elementwise ops (leaves included). */
  emit?(ctx: EmitContext, node: Expr): Value;
  /**
   * Whether the node reads every element of argument `arg` exactly once, in one loop or straight-line, so an
   * elementwise argument can be computed inside that read (loop fusion). Absent: it does not.
   */
  readsOnce?(node: Expr, arg: number): boolean;
  /** Present for reductions that can share one loop with sibling reductions over the same tensor. */
  readonly reduction?: ReductionRule;
  /**
   * Present for ops that only select elements (no arithmetic): recomputing such a node costs nothing, so
   * passes never cache or carry it between steps.
   */
  readonly selectsOnly?: boolean;
  /**
   * A sparse VJP rule: when the node reads one element of a vector argument, reverse mode gathers these
   * contributions into one vector per argument instead of summing one-hot vectors. Null: use `vjp`.
   */
  elementRead?(node: Expr): ElementRead | null;
  /** Local rewrite before interning; `undefined` keeps the node as built. */
  simplify?(args: readonly Expr[], attrs: Attrs, shape: Shape): Expr | undefined;
  /** Tangent of the node given argument tangents (`null` = symbolic zero). */
  jvp(node: Expr, tangents: readonly (Expr | null)[]): Expr | null;
  /**
   * Cotangent contributions to each argument, shaped like the argument (`null` = zero). `needed[k]` says whether
   * reverse mode uses argument k's cotangent (a rule may refuse a derivative it lacks only where it is needed).
   */
  vjp(node: Expr, cotangent: Expr, needed?: readonly boolean[]): readonly (Expr | null)[];
  readonly print: PrintRule;
}

const registry = new Map<string, OpDef>();

/**
 * Forward and reverse mode over whole graphs, registered by src/autodiff when it loads, so op records whose
 * derivative rules differentiate a bound-variable body (the pair and site reductions) can use them without
 * importing a later layer.
 */
export interface GraphCalculus {
  jvp(outputs: readonly Expr[], seeds: ReadonlyMap<Expr, Expr>): (Expr | null)[];
  vjp(outputs: readonly Expr[], cotangents: readonly Expr[], wrt: readonly Expr[]): Expr[];
}
const calculus: Partial<GraphCalculus> = {};

/** Registers a graph-level JVP or VJP (done by src/autodiff). @example registerGraphCalculus({ vjp }) */
export function registerGraphCalculus(parts: Partial<GraphCalculus>): void {
  Object.assign(calculus, parts);
}

/** The registered graph-level JVP and VJP. @example graphCalculus().vjp([f], [constant(1)], [r]) */
export function graphCalculus(): GraphCalculus {
  if (calculus.jvp === undefined || calculus.vjp === undefined) {
    throw new DarbouxError('INTERNAL', 'graph calculus not registered: import src/autodiff before differentiating a reduction body');
  }
  return calculus as GraphCalculus;
}

/** Registers an op record. @example defineOp({ name: 'myop', ... }) */
export function defineOp(def: OpDef): OpDef {
  if (registry.has(def.name)) {
    throw new DarbouxError('SPEC', `op '${def.name}' is defined twice: give the new op record another name`, { op: def.name });
  }
  registry.set(def.name, def);
  return def;
}

/** Looks up an op record by name. @example opDef('add').print */
export function opDef(name: string): OpDef {
  const def = registry.get(name);
  if (def === undefined) {
    throw new DarbouxError('SPEC', `unknown op '${name}': register it with defineOp first (known ops: ${opNames().join(', ')})`, { op: name });
  }
  return def;
}

/**
 * Whether an op is a one-argument function written as a call, `name(x)`: an elementwise op of arity 1 printed
 * with a `{ call }` rule. These are the functions a formula may call, each with a builder of the same name.
 *
 * @example
 * isUnaryFunction(opDef('sin')); // true
 * isUnaryFunction(opDef('neg')); // false: printed as a prefix operator
 */
export function isUnaryFunction(def: OpDef): boolean {
  return def.elementwise !== undefined && def.arity === 1 && 'call' in def.print && def.print.call === def.name;
}

/** Names of the registered one-argument functions (see {@link isUnaryFunction}). @example unaryFunctionNames().includes('tanh') // true */
export function unaryFunctionNames(): string[] {
  return opNames().filter((name) => isUnaryFunction(registry.get(name)!));
}

/** Names of all registered ops. @example opNames().includes('sin') // true */
export function opNames(): string[] {
  return [...registry.keys()];
}
