import { DarbouxError } from '../errors.js';
import type { Expr } from '../ir/expr.js';
import { opDef, type ElementwiseImpl, type EmitContext, type Value } from '../ir/op.js';
import { size } from '../ir/shape.js';
import { topologicalOrder } from '../ir/traverse.js';
import { emissionPlan } from './lowering-plan.js';
import { LoweringStatements } from './lowering-statements.js';
import { emitSiblingReductions } from './sibling-reductions.js';
import type { Target } from './target.js';

/**
 * Lowers expression nodes to straight-line statements for one target: one temporary per shared node, an
 * expression inlined where a scalar is used once, loops for large tensor ops, short tensors unrolled.
 * Leaves (inputs) are bound by the caller; constants are handled here. Names are generated (`t12`, `a3`).
 * Declarations (names, hoisted arrays) are `LoweringDeclarations`' (lowering-declarations.ts), statements and
 * elementwise loops `LoweringStatements`' (lowering-statements.ts), the per-call plan of which nodes are read how
 * `emissionPlan`'s (lowering-plan.ts); this class holds the values of nodes and lowers each node by its op record.
 *
 * @example
 * const lowering = new Lowering(jsTarget);
 * lowering.bind(x, { kind: 'scalar', code: 'x' });
 * const [y] = lowering.emit([mul(x, sin(x))]); // lowering.lines holds the statements that compute y
 */
export class Lowering extends LoweringStatements implements EmitContext {
  private readonly values: Map<Expr, Value>;
  /** Set while an op emitter runs for a node that may be fused into its reader (see EmitContext). */
  fusible = false;
  /** See EmitContext.lastStep (inherited by forks). */
  lastStep: string | undefined;

  constructor(syntax: Target, options: { unrollLimit?: number; prefix?: string } = {}, parent?: Lowering) {
    super(syntax, options, parent);
    this.values = new Map(parent?.values);
    this.lastStep = parent?.lastStep;
  }

  /**
   * A nested scope (e.g. the body of a fixed-point loop): it sees every value lowered so far and shares
   * generated names and hoisted declarations, but what it lowers stays in its own `lines` and values.
   */
  fork(): Lowering {
    return new Lowering(this.syntax, {}, this);
  }

  /** Whether a node already has a value in this scope. */
  has(node: Expr): boolean {
    return this.values.has(node);
  }

  /** Binds a leaf (an input) to a value in generated code. */
  bind(node: Expr, value: Value): void {
    this.values.set(node, value);
  }

  /** Emits every node needed for `roots` (in dependency order) and returns their values. */
  emit(roots: readonly Expr[]): Value[] {
    const order = topologicalOrder(roots, (n) => this.values.has(n)).filter((n) => !this.values.has(n));
    const plan = emissionPlan(roots, order, this.unrollLimit);
    const fused: Expr[] = [];
    for (const node of order) {
      if (this.values.has(node)) continue; // set by a shared reduction loop
      this.nodeStart = this.lines.length;
      const x = plan.groupOf(node);
      if (x !== undefined && this.values.get(x)?.kind === 'fused') {
        const values = emitSiblingReductions(this, x, plan.siblingsOf(x)!);
        if (values !== null) {
          for (const [reader, value] of values) this.values.set(reader, value);
          continue;
        }
        this.values.set(x, this.store(this.values.get(x)!, size(x.shape)));
      }
      const value = this.lower(node, plan.usedOnce(node), plan.fusible(node));
      if (value.kind === 'fused') fused.push(node);
      this.values.set(node, value);
    }
    const result = roots.map((r) => this.value(r));
    // A fused value is only valid where its reader was emitted: later calls lower the node afresh.
    for (const node of fused) this.values.delete(node);
    return result;
  }

  private lower(node: Expr, inlinable: boolean, fusible = false): Value {
    const def = opDef(node.op);
    if (def.elementwise !== undefined) return this.lowerElementwise(node, def.elementwise, inlinable, fusible);
    if (def.emit === undefined) {
      throw new DarbouxError('INTERNAL', `op '${node.op}' has neither elementwise kernels nor an emit rule: add one to its op record`, { op: node.op });
    }
    this.fusible = fusible;
    try {
      return def.emit(this, node);
    } finally {
      this.fusible = false;
    }
  }

  private lowerElementwise(node: Expr, impl: ElementwiseImpl, inlinable: boolean, fusible: boolean): Value {
    const n = size(node.shape);
    const element = (i: number | string) => {
      let args = node.args.map((a) => this.elem(a, i));
      if (impl.repeatsArgs) args = args.map((code) => (isSimple(code) ? code : this.temp(code)));
      return this.syntax.elementwise(impl, args, node.attrs);
    };
    // Inlined code nests one level per inlined op: past MAX_INLINE_DEPTH it is bound to a name instead, so a
    // long chain (a sum of 50 000 terms) never nests deeper than the JS and WGSL parsers accept.
    const depth = 1 + Math.max(0, ...node.args.map((a) => inlineDepth.get(this.value(a)) ?? 0));
    const nested = (value: Value): Value => (inlineDepth.set(value, depth), value);
    if (node.shape.length === 0) {
      const code = element(0);
      return inlinable && depth <= MAX_INLINE_DEPTH ? nested({ kind: 'scalar', code }) : { kind: 'scalar', code: this.temp(code) };
    }
    if (n <= this.unrollLimit) return { kind: 'unrolled', elems: Array.from({ length: n }, (_, i) => this.temp(element(i))) };
    // Loop fusion: a large elementwise tensor with one reader that reads each element once is computed inside
    // that reader's loop (no array, no loop of its own); chains of such ops fuse into one loop.
    if (fusible && depth <= MAX_INLINE_DEPTH) return nested({ kind: 'fused', size: n, at: element });
    const name = this.array(n);
    this.elementwiseLoop(n, (i) => this.storeElement(name, i, element(i)), name);
    return { kind: 'array', name, size: n };
  }

  value(e: Expr): Value {
    const v = this.values.get(e);
    if (v === undefined) {
      throw new DarbouxError('INTERNAL', `lowering: node ${e.op}#${e.id} is used before it was lowered (emit its roots in one call, or bind it first)`, { op: e.op, id: e.id });
    }
    return v;
  }

  elem(e: Expr, i: number | string): string {
    const v = this.value(e);
    if (v.kind === 'scalar') return v.code;
    if (v.kind === 'fused') return v.at(i);
    if (v.kind === 'array') return `${v.name}[${offsetIndex(v.offset, i)}]`;
    if (typeof i === 'number') return v.elems[i]!;
    if (v.elems.every((x) => x === v.elems[0])) return v.elems[0]!;
    return `${this.materialize(e, v.elems)}[${i}]`;
  }

  hoistedFunction(params: readonly string[], body: (inner: EmitContext) => void): string {
    if (this.target !== 'js') throw new DarbouxError('INTERNAL', `lowering: a hoisted function exists only in JS, not in ${this.target}`, { target: this.target });
    const name = this.fresh('f');
    const inner = new Lowering(this.syntax, {}, this);
    inner.baseIndent = 1;
    inner.splitScope = false; // its statements run where it is called
    body(inner);
    this.hoisted.push(`function ${name}(${params.join(', ')}) {`, ...inner.lines, '}');
    return name;
  }

  lowerBody(roots: readonly Expr[], bindings: ReadonlyMap<Expr, Value>): Value[] {
    const scope = this.fork();
    scope.baseIndent = this.baseIndent + this.depth;
    for (const [node, value] of bindings) scope.bind(node, value);
    const values = scope.emit(roots);
    for (const line of scope.lines) this.lines.push(line);
    this.loopIterations += scope.loopIterations;
    return values;
  }
}

/**
 * Deepest nesting of inlined (or fused) elementwise ops in one generated expression. V8 and Tint parse
 * expressions recursively (V8 overflows its stack at a few thousand levels; Tint has fixed depth limits), so a
 * value nested deeper is bound to a temporary. 32 keeps every expression of an ordinary Hamiltonian inline.
 */
export const MAX_INLINE_DEPTH = 32;

/** Nesting depth of each inlined scalar or fused value (values without an entry are names or literals: 0). */
const inlineDepth = new WeakMap<Value, number>();

/** `offset + i`, folded when both are numbers. */
function offsetIndex(offset: number | string | undefined, i: number | string): number | string {
  if (offset === undefined || offset === 0) return i;
  return typeof i === 'number' && typeof offset === 'number' ? offset + i : `${offset} + ${i}`;
}

/** A name or a literal: safe to repeat in generated code. */
function isSimple(code: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?$/.test(code) || /^\(?-?[0-9.e+-]+\)?$/.test(code);
}
