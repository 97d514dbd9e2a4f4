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
  readonly target: 'js' | 'wgsl';
  /** Tensors with at most this many elements are unrolled into scalars. */
  readonly unrollLimit: number;
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
  /** Emits one statement. */
  line(code: string): void;
  /** Emits `for (i = 0; i < n; i++) { body }`. */
  loop(n: number, body: (i: string) => void): void;
}

/** Scalar kernels of an elementwise op (applied per element with scalar broadcasting). */
export interface ElementwiseImpl {
  apply: (x: number[], attrs: Attrs) => number;
  js: (x: string[], attrs: Attrs) => string;
  wgsl: (x: string[], attrs: Attrs) => string;
  /** The emitted code mentions an argument more than once, so arguments must be bound to names first. */
  repeatsArgs?: boolean;
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
  /** Result shape; throws a SHAPE error naming the op and the shapes. */
  shape(args: readonly Expr[], attrs: Attrs): Shape;
  /** Present for elementwise ops: per-element scalar kernels; evaluation and emission derive from it. */
  readonly elementwise?: ElementwiseImpl;
  /** f64 evaluation on flat row-major arrays (constant folding, reference evaluation). */
  evaluate?(values: Float64Array[], node: { args: readonly Expr[]; attrs: Attrs; shape: Shape }): Float64Array;
  /** Emission for non-elementwise ops. */
  emit?(ctx: EmitContext, node: Expr): Value;
  /** Local rewrite before interning; `undefined` keeps the node as built. */
  simplify?(args: readonly Expr[], attrs: Attrs, shape: Shape): Expr | undefined;
  /** Tangent of the node given argument tangents (`null` = symbolic zero). */
  jvp(node: Expr, tangents: readonly (Expr | null)[]): Expr | null;
  /** Cotangent contributions to each argument, shaped like the argument (`null` = zero). */
  vjp(node: Expr, cotangent: Expr): readonly (Expr | null)[];
  readonly print: PrintRule;
}

const registry = new Map<string, OpDef>();

/** Registers an op record. @example defineOp({ name: 'myop', ... }) */
export function defineOp(def: OpDef): OpDef {
  if (registry.has(def.name)) throw new Error(`op '${def.name}' defined twice`);
  registry.set(def.name, def);
  return def;
}

/** Looks up an op record by name. @example opDef('add').print */
export function opDef(name: string): OpDef {
  const def = registry.get(name);
  if (def === undefined) throw new Error(`unknown op '${name}'`);
  return def;
}

/** Names of all registered ops. @example opNames().includes('sin') // true */
export function opNames(): string[] {
  return [...registry.keys()];
}
