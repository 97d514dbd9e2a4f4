import type { Expr } from '../ir/expr.js';
import type { EmitContext, Value } from '../ir/op.js';
import { LoweringDeclarations } from './lowering-declarations.js';
import { appendedToLoop, canAppend, openedLoop, type OpenLoop } from './loop-fusion.js';
import { pendingBarrier, restoreSplitPending, splitLoopOpen, splitOfLoop, splitPending } from './thread-split.js';
import type { Target } from './target.js';

/**
 * The statements part of a lowering (between `LoweringDeclarations` and `Lowering`): the emitted `lines`, their
 * indentation, loops and their iteration count, and elementwise loops — in JS appended to the elementwise loop
 * emitted just before when they can be (loop-fusion.ts), and in a split threaded runner run over this worker's
 * range with barriers before the statements that read what they wrote (thread-split.ts). What the statements
 * compute (values of nodes) is `Lowering`'s.
 *
 * @example
 * const lowering = new Lowering(jsTarget); // a LoweringStatements
 * lowering.loop(4, (i) => lowering.line(`s += x[${i}]`)); // lowering.lines: the loop's opener, body and brace
 */
export abstract class LoweringStatements extends LoweringDeclarations implements EmitContext {
  /** Statements of the body, in order. */
  readonly lines: string[] = [];
  /** Loop nesting of the statements emitted now (below `baseIndent`). */
  protected depth = 0;
  /** Where the node being lowered starts in `lines` (`materialize` inserts its copies there). */
  protected nodeStart = 0;
  private readonly materialized = new Map<Expr, string>();
  /** Whether split loops and their barriers apply to this scope (thread-split.ts): not in hoisted functions. */
  protected splitScope: boolean;
  /** Set while a split loop is emitted or appended to (its own lines need no barrier). */
  private inSplitLoop = false;
  /** Whether the open loop (`openLoop`) is a split loop. */
  private openLoopSplit = false;
  private stored = new Map<string, string>();
  /** Arrays an elementwise loop at the top level of `lines` fills completely (since `takeLines`): swappable. */
  readonly loopWritten = new Set<string>();
  /** The last elementwise loop, while nothing has been emitted after it (JS; see loop-fusion.ts). */
  private openLoop: OpenLoop | null = null;
  /** Lines `materialize` has inserted so far (they shift what follows the node's start). */
  private inserted = 0;
  /** Indentation of top-level statements (set by the caller that wraps the body). */
  baseIndent = 1;
  /**
   * Loop iterations (nested ones included) that one run of the statements in `lines` executes. Software
   * adapters bound them: Mesa's llvmpipe ends every loop of an invocation after 65 535 iterations in all.
   */
  loopIterations = 0;

  abstract readonly fusible: boolean;
  abstract value(e: Expr): Value;
  abstract elem(e: Expr, i: number | string): string;
  abstract hoistedFunction(params: readonly string[], body: (inner: EmitContext) => void): string;
  abstract lowerBody(roots: readonly Expr[], bindings: ReadonlyMap<Expr, Value>): Value[];

  constructor(syntax: Target, options: { unrollLimit?: number; prefix?: string }, parent?: LoweringStatements) {
    super(syntax, options, parent);
    if (parent) this.baseIndent = parent.baseIndent;
    this.splitScope = parent?.splitScope ?? true;
  }

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

  /** Stores a fused value's elements in a new array (when its readers cannot share one loop after all). */
  protected store(value: Value, n: number): Value {
    if (value.kind !== 'fused') return value;
    const name = this.array(n);
    this.elementwiseLoop(n, (i) => this.storeElement(name, i, value.at(i)), name);
    return { kind: 'array', name, size: n };
  }

  /** Stores element i of an elementwise loop's array (JS: through a local, read by statements fused later). */
  protected storeElement(name: string, i: string, code: string): void {
    if (this.target !== 'js') return this.line(`${name}[${i}] = ${code}`);
    const local = this.temp(code);
    this.line(`${name}[${i}] = ${local}`);
    this.stored.set(name, local);
  }

  /** Returns the locals `storeElement` recorded (since the last loop was opened or appended to), and forgets them. */
  private takeStored(): Map<string, string> {
    const stored = this.stored;
    this.stored = new Map();
    return stored;
  }

  /** Copies an unrolled tensor into an array once, at top level, so it can be indexed dynamically. */
  protected materialize(e: Expr, elems: string[]): string {
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

  captureLines(emit: () => void): string[] {
    const start = this.lines.length, inserted = this.inserted;
    const pending = splitPending(this); // the captured lines may hold the barrier that published split writes
    emit();
    restoreSplitPending(this, pending);
    // `materialize` may have inserted copies before `start` meanwhile: they stay.
    return this.lines.splice(start + this.inserted - inserted);
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

  /** Returns the loop iterations counted so far and restarts the count (alongside `takeLines`). */
  takeLoopIterations(): number {
    const n = this.loopIterations;
    this.loopIterations = 0;
    return n;
  }

  /** Removes and returns the statements emitted so far (e.g. a loop-invariant prologue). */
  takeLines(): string[] {
    this.openLoop = null;
    this.loopWritten.clear();
    return this.lines.splice(0, this.lines.length);
  }
}
