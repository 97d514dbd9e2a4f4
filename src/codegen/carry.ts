import type { Expr } from '../ir/expr.js';
import { add } from '../ir/build.js';
import { substitute, topologicalOrder } from '../ir/traverse.js';
import type { StepProgram } from '../integrators/step-program.js';
import type { Value } from '../ir/op.js';
import type { Lowering } from './lowering.js';
import { elementOf } from './step-body.js';

/** Vectors up to this length can be carried in registers. */
const CARRY_LIMIT = 16;

/**
 * Values a step can hand to the next one ("first same as last", found structurally): a node N(q, p, t) of the
 * step whose counterpart N(q′, p′, t + dt) is also a node of the same step — by interning, an identity test.
 * For leapfrog, the force ∇V(q′) of the closing kick is the next step's opening force. Only maximal such
 * nodes are returned (their sub-nodes are not carried separately), and only non-trivial ones.
 *
 * @example
 * const pairs = stepCarries(leapfrogStep(h)); // [{ start: ∇V(q)ᵢ, end: ∇V(q′)ᵢ }, …]
 */
export function stepCarries(program: StepProgram): { start: Expr; end: Expr }[] {
  if (program.implicit) return [];
  const h = program.hamiltonian;
  const roots = [program.next.q, program.next.p];
  const order = topologicalOrder(roots);
  const inGraph = new Set(order);
  const unknownFree = new Map<Expr, boolean>();
  const dependsOnState = new Set<Expr>([h.q, h.p, h.time]);
  for (const node of order) {
    if (node.args.some((a) => dependsOnState.has(a))) dependsOnState.add(node);
    unknownFree.set(node, node.op !== 'input' || node.attrs.role !== 'aux' ? node.args.every((a) => unknownFree.get(a) !== false) : false);
  }
  const shift = new Map<Expr, Expr>([[h.q, program.next.q], [h.p, program.next.p], [h.time, add(h.time, h.dt)]]);
  const carried = new Map<Expr, Expr>();
  const small = (node: Expr) => node.shape.length === 0 || (node.shape.length === 1 && node.shape[0]! <= CARRY_LIMIT);
  const candidates = order.filter((node) => small(node) && node.args.length > 0 && dependsOnState.has(node) && node.op !== 'index');
  // One substitution pass over all candidates (memoised), so this stays linear in the graph size.
  const shifted = substitute(candidates, shift);
  candidates.forEach((node, k) => {
    const end = shifted[k]!;
    if (end !== node && inGraph.has(end)) carried.set(node, end);
  });
  // Drop nodes that are sub-nodes of other carried nodes' start graphs only when not used elsewhere: keep it
  // simple and safe — carry only nodes none of whose ancestors (consumers) is carried.
  const result: { start: Expr; end: Expr }[] = [];
  const covered = new Set<Expr>();
  for (const [start] of carried) for (const inner of topologicalOrder([start])) if (inner !== start) covered.add(inner);
  for (const [start, end] of carried) if (!covered.has(start) && !isStartOf(end, carried)) result.push({ start, end });
  return result;
}

/** Whether `node` is itself the start of a carry (then its value at step end would be computed twice). */
function isStartOf(node: Expr, carried: Map<Expr, Expr>): boolean {
  return carried.has(node);
}

/** Target-specific declaration of a mutable scalar. */
export type MutableDeclaration = (name: string, code: string) => string;

/**
 * Lowers the carries of a step: `preLoop` evaluates the carried values at the initial state (before the step
 * loop) into mutable registers, the start nodes are bound to those registers for the step body, and
 * `assign` (after the step) stores the end values for the next step. `ends` must be emitted as roots of the
 * step so their values exist.
 */
export function prepareCarries(lowering: Lowering, program: StepProgram, mutable: MutableDeclaration, indent: number) {
  const carries = stepCarries(program);
  const pre = lowering.fork();
  pre.baseIndent = indent;
  const startValues = pre.emit(carries.map((c) => c.start));
  const registers = carries.map((c) => Array.from({ length: c.start.shape.length === 0 ? 1 : c.start.shape[0]! }, () => lowering.fresh('c')));
  const preLoop = [...pre.lines];
  carries.forEach((c, k) => {
    registers[k]!.forEach((name, i) => preLoop.push(`${'  '.repeat(indent)}${mutable(name, elementOf(startValues[k]!, i))}`));
    lowering.bind(c.start, c.start.shape.length === 0 ? { kind: 'scalar', code: registers[k]![0]! } : { kind: 'unrolled', elems: registers[k]! });
  });
  return {
    ends: carries.map((c) => c.end),
    preLoop,
    /** Statements storing the end-of-step values (given their emitted values, aligned with `ends`). */
    assign: (endValues: readonly Value[], at: number) =>
      carries.flatMap((_, k) => registers[k]!.map((name, i) => `${'  '.repeat(at)}${name} = ${elementOf(endValues[k]!, i)};`)),
  };
}
