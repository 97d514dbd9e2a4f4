import { DarbouxError } from '../errors.js';
import type { Expr } from '../ir/expr.js';
import { opDef, type ElementwiseImpl, type EmitContext, type Value } from '../ir/op.js';
import { size } from '../ir/shape.js';
import { topologicalOrder } from '../ir/traverse.js';
import { appendedToLoop, canAppend, openedLoop, type OpenLoop } from './loop-fusion.js';
import { emitSiblingReductions, siblingReductions } from './sibling-reductions.js';
import { pendingBarrier, restoreSplitPending, splitLoopOpen, splitOfLoop, splitPending } from './thread-split.js';
import type { Target } from './target.js';

/**
 * Lowers expression nodes to straight-line statements for one target: one temporary per shared node, an
 * expression inlined where a scalar is used once, loops for large tensor ops, short tensors unrolled.
 * Leaves (inputs) are bound by the caller; constants are handled here. Names are generated (`t12`, `a3`).
 *
 * @example
 * const lowering = new Lowering(jsTarget);
 * lowering.bind(x, { kind: 'scalar', code: 'x' });
 * const [y] = lowering.emit([mul(x, sin(x))]); // lowering.lines holds the statements that compute y
 */
export class Lowering implements EmitContext {
  readonly target: 'js' | 'wgsl';
  readonly unrollLimit: number;
  readonly keepsLongVectorsUnrolled: boolean;
  /** Statements of the body, in order. */
  readonly lines: string[] = [];
  /** Hoisted declarations (scratch arrays, constant tensors), shared with forks. */
  readonly hoisted: string[];
  private readonly values: Map<Expr, Value>;
  private readonly materialized = new Map<Expr, string>();
  private readonly names: { counter: number };
  private readonly memo: Map<string, unknown>;
  private depth = 0;
  /** Set while an op emitter runs for a node that may be fused into its reader (see EmitContext). */
  fusible = false;
  /** See EmitContext.lastStep (inherited by forks). */
  lastStep: string | undefined;
  private nodeStart = 0;
  private readonly prefix: string;

  constructor(readonly syntax: Target, options: { unrollLimit?: number; prefix?: string } = {}, parent?: Lowering) {
    this.target = syntax.name;
    this.keepsLongVectorsUnrolled = syntax.keepsLongVectorsUnrolled;
    this.unrollLimit = options.unrollLimit ?? parent?.unrollLimit ?? 16;
    this.prefix = options.prefix ?? parent?.prefix ?? '';
    this.hoisted = parent?.hoisted ?? [];
    this.names = parent?.names ?? { counter: 0 };
    this.memo = parent?.memo ?? new Map();
    this.values = new Map(parent?.values);
    if (parent) this.baseIndent = parent.baseIndent;
    this.lastStep = parent?.lastStep;
    this.splitScope = parent?.splitScope ?? true;
  }

  /** Whether split loops and their barriers apply to this scope (thread-split.ts): not in hoisted functions. */
  private splitScope: boolean;
  /** Set while a split loop is emitted or appended to (its own lines need no barrier). */
  private inSplitLoop = false;
  /** Whether the open loop (`openLoop`) is a split loop. */
  private openLoopSplit = false;

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
    const uses = new Map<Expr, number>();
    const readers = new Map<Expr, { reader: Expr; arg: number }[]>();
    for (const r of roots) uses.set(r, (uses.get(r) ?? 0) + 2);
    for (const n of order) {
      n.args.forEach((a, k) => {
        uses.set(a, (uses.get(a) ?? 0) + (n.shape.length === 0 ? 1 : 2));
        const list = readers.get(a);
        if (list) list.push({ reader: n, arg: k });
        else readers.set(a, [{ reader: n, arg: k }]);
      });
    }
    const isRoot = new Set(roots);
    const fused: Expr[] = [];
    // Tensors whose readers are all reductions over them: computed once per element inside one shared loop.
    const siblingsOf = new Map<Expr, ReturnType<typeof siblingReductions>>();
    const groupOf = new Map<Expr, Expr>(); // reader → the tensor its group reduces
    for (const node of order) {
      if (isRoot.has(node) || size(node.shape) <= this.unrollLimit) continue;
      const group = siblingReductions(readers.get(node) ?? [], this.unrollLimit);
      if (group === null) continue;
      siblingsOf.set(node, group);
      for (const { reader } of group) groupOf.set(reader, node);
    }
    for (const node of order) {
      if (this.values.has(node)) continue; // set by a shared reduction loop
      this.nodeStart = this.lines.length;
      const x = groupOf.get(node);
      if (x !== undefined && this.values.get(x)?.kind === 'fused') {
        const values = emitSiblingReductions(this, x, siblingsOf.get(x)!);
        if (values !== null) {
          for (const [reader, value] of values) this.values.set(reader, value);
          continue;
        }
        this.values.set(x, this.store(this.values.get(x)!, size(x.shape)));
      }
      const only = readers.get(node);
      const fusible = !isRoot.has(node) && ((only?.length === 1 && readsEachElementOnce(only[0]!.reader, only[0]!.arg)) || siblingsOf.has(node));
      const value = this.lower(node, (uses.get(node) ?? 0) === 1, fusible);
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

  /** Stores a fused value's elements in a new array (when its readers cannot share one loop after all). */
  private store(value: Value, n: number): Value {
    if (value.kind !== 'fused') return value;
    const name = this.array(n);
    this.elementwiseLoop(n, (i) => this.storeElement(name, i, value.at(i)), name);
    return { kind: 'array', name, size: n };
  }

  /** Stores element i of an elementwise loop's array (JS: through a local, read by statements fused later). */
  private storeElement(name: string, i: string, code: string): void {
    if (this.target !== 'js') return this.line(`${name}[${i}] = ${code}`);
    const local = this.temp(code);
    this.line(`${name}[${i}] = ${local}`);
    this.stored.set(name, local);
  }

  /** Returns the locals `storeElement` recorded (since the last loop was opened or appended to), and forgets them. */
  private takeStored = (stored = this.stored) => ((this.stored = new Map()), stored);
  private stored = new Map<string, string>();
  /** Arrays an elementwise loop at the top level of `lines` fills completely (since `takeLines`): swappable. */
  readonly loopWritten = new Set<string>();
  /** The last elementwise loop, while nothing has been emitted after it (JS; see loop-fusion.ts). */
  private openLoop: OpenLoop | null = null;
  /** Lines `materialize` has inserted so far (they shift what follows the node's start). */
  private inserted = 0;

  /**
   * Emits `body` (statements for element i only; `writes`: the fresh array it fills, if any) in a loop over n — in
   * JS appended to the elementwise loop emitted just before when that loop has the same length and the statements
   * read what it writes only at its index (loop-fusion.ts), else in a loop of its own, left open for the next one.
   * Returns whether the statements were fused into the previous loop.
   *
   * @example
   * lowering.elementwiseLoop(n, (i) => lowering.line(`${name}[${i}] = ${lowering.elem(x, i)} * 2`), name);
   */
  elementwiseLoop(n: number, body: (i: string) => void, writes?: string): boolean {
    if (writes !== undefined && this.depth === 0) this.loopWritten.add(writes);
    if (this.fuseIntoLastLoop(n, body, writes)) return true;
    const split = this.splitScope ? splitOfLoop(this, n, this.depth) : null;
    let index = '';
    if (split === null) this.loop(n, (i) => body((index = i)));
    else {
      this.inSplitLoop = true;
      this.loop(n, (i) => body((index = i)), splitLoopOpen);
      this.inSplitLoop = false;
      if (writes !== undefined) split.writes.add(writes);
      split.dirty = true;
    }
    const stored = this.takeStored();
    if (this.target === 'js') this.openLoop = openedLoop(n, index, this.lines, this.baseIndent + this.depth, writes, stored);
    this.openLoopSplit = split !== null;
    return false;
  }

  /**
   * Appends `body` (statements for element i only; `writes`: the fresh array it fills, if any) to the elementwise
   * loop emitted last, when nothing followed it, it runs n iterations at this indentation, and the statements read
   * what it writes only at its index (loop-fusion.ts). Returns whether they were appended (else nothing is emitted).
   *
   * @example
   * if (!lowering.fuseIntoLastLoop(n, (i) => lowering.line(`check += ${x}[${i}]`))) lowering.loop(n, ...);
   */
  fuseIntoLastLoop(n: number, body: (i: string) => void, writes?: string): boolean {
    const open = this.openLoop;
    if (!canAppend(open, n, this.baseIndent + this.depth, this.lines)) return false;
    const split = this.openLoopSplit ? splitOfLoop(this, n, this.depth) : null;
    const inserted = this.inserted; // `materialize` may copy a dynamically indexed unrolled argument meanwhile
    this.depth++;
    this.inSplitLoop = split !== null;
    body(open.index);
    this.inSplitLoop = false;
    this.depth--;
    const fused = appendedToLoop(open, this.lines, this.inserted - inserted, writes, this.takeStored());
    this.openLoop = fused ? open : null;
    if (fused && split !== null && writes !== undefined) split.writes.add(writes);
    return fused;
  }

  /**
   * Whether the last elementwise loop (still open for appends: `fuseIntoLastLoop`) runs over this worker's range
   * only (a split threaded runner: thread-split.ts).
   */
  get lastLoopIsSplit(): boolean {
    return this.openLoop !== null && this.openLoopSplit;
  }

  literal(v: number): string {
    return this.syntax.literal(v);
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

  /** Copies an unrolled tensor into an array once, at top level, so it can be indexed dynamically. */
  private materialize(e: Expr, elems: string[]): string {
    let name = this.materialized.get(e);
    if (name === undefined) {
      name = this.fresh('a');
      this.hoisted.push(this.syntax.arrayDecl(name, elems.length));
      const copy = elems.map((x, k) => `${'  '.repeat(this.baseIndent)}${name}[${k}] = ${x};`);
      this.lines.splice(this.nodeStart, 0, ...copy);
      this.nodeStart += copy.length;
      this.inserted += copy.length;
      this.materialized.set(e, name);
    }
    return name;
  }

  /** Indentation of top-level statements (set by the caller that wraps the body). */
  baseIndent = 1;

  /** A fresh generated identifier. */
  fresh(kind: string): string {
    return `${this.prefix}${kind}${this.names.counter++}`;
  }

  temp(code: string): string {
    const name = this.fresh('t');
    this.line(this.syntax.constDecl(name, code), false);
    return name;
  }

  mutable(code: string): string {
    const name = this.fresh('m');
    this.line(this.syntax.mutableDecl(name, code), false);
    return name;
  }

  array(n: number): string {
    const name = this.fresh('a');
    this.hoisted.push(this.syntax.arrayDecl(name, n));
    return name;
  }

  intArray(n: number): string {
    const name = this.fresh('a');
    this.hoisted.push(this.syntax.intArrayDecl(name, n));
    return name;
  }

  growableIntArray(n: number): string {
    return this.growable('Int32Array', n);
  }

  growableArray(n: number): string {
    return this.growable('Float64Array', n);
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

  hoistedValue(code: string): string {
    if (this.target !== 'js') throw new DarbouxError('INTERNAL', `lowering: a hoisted value exists only in JS, not in ${this.target}`, { target: this.target });
    const name = this.fresh('h');
    this.hoisted.push(`const ${name} = ${code};`);
    return name;
  }

  captureLines(emit: () => void): string[] {
    const start = this.lines.length, inserted = this.inserted;
    const pending = splitPending(this); // the captured lines may hold the barrier that published split writes
    emit();
    restoreSplitPending(this, pending);
    // `materialize` may have inserted copies before `start` meanwhile: they stay.
    return this.lines.splice(start + this.inserted - inserted);
  }

  shared<T>(key: string, make: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, make());
    return this.memo.get(key) as T;
  }

  private growable(type: string, n: number): string {
    if (this.target !== 'js') throw new DarbouxError('INTERNAL', `lowering: a growable array exists only in JS, not in ${this.target}`, { target: this.target });
    const name = this.fresh('g');
    this.hoisted.push(`let ${name} = new ${type}(${n});`);
    return name;
  }

  constantArray(values: readonly number[]): string {
    const name = this.fresh('k');
    this.hoisted.push(this.syntax.constantArrayDecl(name, values));
    return name;
  }

  line(code: string, terminate = true): void {
    this.openLoop = null;
    const barrier = this.splitScope && !this.inSplitLoop ? pendingBarrier(this) : null;
    if (barrier !== null) this.lines.push(`${'  '.repeat(this.baseIndent + this.depth)}${barrier}`);
    this.lines.push(`${'  '.repeat(this.baseIndent + this.depth)}${code}${terminate ? ';' : ''}`);
  }

  loop(n: number, body: (i: string) => void, open?: (index: string) => string): void {
    const i = this.fresh('i');
    this.line(open?.(i) ?? this.syntax.loopOpen(i, n), false);
    this.depth++;
    const outer = this.loopIterations;
    this.loopIterations = 0;
    body(i);
    this.loopIterations = outer + n * (1 + this.loopIterations);
    this.depth--;
    this.line('}', false);
  }

  /**
   * Loop iterations (nested ones included) that one run of the statements in `lines` executes. Software
   * adapters bound them: Mesa's llvmpipe ends every loop of an invocation after 65 535 iterations in all.
   */
  loopIterations = 0;

  /** Returns the loop iterations counted so far and restarts the count (alongside `takeLines`). */
  takeLoopIterations(): number {
    const n = this.loopIterations;
    this.loopIterations = 0;
    return n;
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

  /** Removes and returns the statements emitted so far (e.g. a loop-invariant prologue). */
  takeLines(): string[] {
    this.openLoop = null;
    this.loopWritten.clear();
    return this.lines.splice(0, this.lines.length);
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

/**
 * Whether `reader` reads every element of its argument `arg` exactly once, in one loop or straight-line (its op
 * record's `readsOnce`, and the argument not repeated): then an elementwise argument can be fused into it.
 */
function readsEachElementOnce(reader: Expr, arg: number): boolean {
  if (reader.args.filter((a) => a === reader.args[arg]).length !== 1) return false;
  return opDef(reader.op).readsOnce?.(reader, arg) ?? false;
}
