import type { Expr } from '../ir/expr.js';
import { add, sub } from '../ir/build.js';
import { size } from '../ir/shape.js';
import type { AdjointStep } from '../integrators/adjoint-step.js';
import { substitute, topologicalOrder } from '../ir/traverse.js';
import type { StepProgram } from '../integrators/step-program.js';
import { opDef, type Value } from '../ir/op.js';
import type { Lowering } from './lowering.js';
import { elementOf } from './values.js';

/** Vectors up to this length are carried by default (in registers); runners over array states pass a larger limit. */
export const CARRY_LIMIT = 16;

/** JS carried values longer than this, stored from an array at an offset, are copied by a loop. */
const LONG_COPY = 64;

/**
 * Every node N(z, t) of the graph of `roots` whose counterpart at the next state, N(shift(z, t)), is also a node
 * of that graph — by interning, an identity test — as a map start → end. Only nodes that depend on the state
 * inputs (`state`) and on no aux input (unknowns, cotangents) qualify, with arguments, not `selectsOnly`, and `keep`.
 *
 * @example
 * const pairs = carriedPairs([q′, p′], new Map([[h.q, q′], [h.p, p′], [h.time, add(h.time, h.dt)]]), [h.q, h.p, h.time]);
 */
export function carriedPairs(roots: readonly Expr[], shift: ReadonlyMap<Expr, Expr>, state: readonly Expr[], keep: (node: Expr) => boolean = () => true): Map<Expr, Expr> {
  const order = topologicalOrder(roots);
  const inGraph = new Set(order);
  const dependsOnState = new Set<Expr>(state);
  const dependsOnAux = new Set<Expr>();
  for (const node of order) {
    if (node.args.some((a) => dependsOnState.has(a))) dependsOnState.add(node);
    if ((node.op === 'input' && node.attrs.role === 'aux') || node.args.some((a) => dependsOnAux.has(a))) dependsOnAux.add(node);
  }
  const candidates = order.filter((node) => node.args.length > 0 && dependsOnState.has(node) && !dependsOnAux.has(node) && !opDef(node.op).selectsOnly && keep(node));
  // One substitution pass over all candidates (memoised), so this stays linear in the graph size.
  const shifted = substitute(candidates, shift);
  const carried = new Map<Expr, Expr>();
  candidates.forEach((node, k) => {
    const end = shifted[k]!;
    if (end !== node && inGraph.has(end)) carried.set(node, end);
  });
  return carried;
}

/**
 * Values a step can hand to the next one ("first same as last", found structurally by `carriedPairs`): for
 * leapfrog, the force ∇V(q′) of the closing kick is the next step's opening force. Only maximal such nodes up
 * to `limit` elements (scalars and vectors) are returned (their sub-nodes are not carried separately), and only
 * non-trivial ones. The JS runner of a long state (arrays) passes `Infinity`: its carried vectors are arrays,
 * copied once per step, far cheaper than evaluating them again.
 *
 * @example
 * const pairs = stepCarries(leapfrogStep(h)); // [{ start: ∇V(q)ᵢ, end: ∇V(q′)ᵢ }, …]
 */
export function stepCarries(program: StepProgram, limit: number = CARRY_LIMIT): { start: Expr; end: Expr }[] {
  if (program.implicit) return [];
  const h = program.system;
  const shift = new Map<Expr, Expr>([[h.q, program.next.q], [h.p, program.next.p], [h.time, add(h.time, h.dt)]]);
  const small = (node: Expr) => node.shape.length === 0 || (node.shape.length === 1 && node.shape[0]! <= limit);
  const carried = carriedPairs([program.next.q, program.next.p], shift, [h.q, h.p, h.time], small);
  // Carry only nodes none of whose consumers is carried: a start is covered when it lies strictly below another
  // start, i.e. is reachable from the arguments of the starts (a DAG has no cycles). One traversal for all.
  const result: { start: Expr; end: Expr }[] = [];
  const covered = new Set<Expr>(topologicalOrder([...carried.keys()].flatMap((start) => start.args)));
  for (const [start, end] of carried) if (!covered.has(start) && !carried.has(end)) result.push({ start, end });
  return result;
}

/**
 * The values a backward step ('reverse' mode, explicit) hands to the next backward step: nodes N(z_{n+1}) whose
 * counterpart N(z_n) at the reconstructed state is also evaluated (`carriedPairs` with the shift z ↦ z_n,
 * t ↦ t − dt). For splitting methods the forces at q_n of the last undone kick, and the activations behind
 * them, are the first ones the next backward step needs. Every such node read by something that is not itself
 * carried (the Jacobian-vector products and parameter gradients mix them with λ) is carried, whatever its size,
 * so that nothing at the start state is evaluated twice.
 *
 * @example
 * adjointCarries(adjointStep(leapfrogStep(h), 'reverse'), outputs) // [{ start: tanh(Wq + b), end: tanh(Wq_n + b) }, …]
 */
export function adjointCarries(step: AdjointStep, outputs: readonly Expr[]): { start: Expr; end: Expr }[] {
  if (step.source !== 'reverse' || step.solves.length > 0) return [];
  const h = step.forward.system;
  const shift = new Map<Expr, Expr>([[h.q, step.previous.q], [h.p, step.previous.p], [h.time, sub(h.time, h.dt)]]);
  const carried = carriedPairs(outputs, shift, [h.q, h.p, h.time], (node) => node.shape.length <= 1);
  const readOutside = new Set<Expr>(outputs.filter((o) => carried.has(o)));
  for (const node of topologicalOrder(outputs)) {
    if (!carried.has(node)) for (const a of node.args) if (carried.has(a)) readOutside.add(a);
  }
  return [...carried].filter(([start, end]) => readOutside.has(start) && !carried.has(end)).map(([start, end]) => ({ start, end }));
}

/**
 * Lowers carried values: `preLoop` evaluates the start nodes at the initial state (before the step loop) into
 * registers — mutable scalars, or for vectors longer than the unroll limit a hoisted array — and the start
 * nodes are bound to them for the step body; `assign` (after the step) stores the end values for the next
 * step. `ends` must be emitted as roots of the step so their values exist. `preLoopIterations` counts the loop
 * iterations of `preLoop` (for adapters that bound them).
 *
 * @example
 * const carries = prepareCarries(lowering, stepCarries(program), 2);
 */
export function prepareCarries(lowering: Lowering, carries: readonly { start: Expr; end: Expr }[], indent: number) {
  const target = lowering.syntax;
  const pre = lowering.fork();
  pre.baseIndent = indent;
  const startValues = pre.emit(carries.map((c) => c.start));
  const registers = carries.map((c): Value => {
    const n = size(c.start.shape);
    if (c.start.shape.length === 0) return { kind: 'scalar', code: lowering.fresh('c') };
    if (n <= lowering.unrollLimit) return { kind: 'unrolled', elems: Array.from({ length: n }, () => lowering.fresh('c')) };
    return { kind: 'array', name: lowering.array(n), size: n };
  });
  carries.forEach((c, k) => {
    const r = registers[k]!;
    if (r.kind === 'array') pre.loop(r.size, (i) => pre.line(`${r.name}[${i}] = ${pre.elem(c.start, i)}`));
  });
  const preLoop = [...pre.lines];
  carries.forEach((c, k) => {
    const r = registers[k]!;
    if (r.kind === 'scalar') preLoop.push(`${'  '.repeat(indent)}${target.mutableDecl(r.code, elementOf(startValues[k]!, 0))}`);
    if (r.kind === 'unrolled') r.elems.forEach((name, i) => preLoop.push(`${'  '.repeat(indent)}${target.mutableDecl(name, elementOf(startValues[k]!, i))}`));
    lowering.bind(c.start, r);
  });
  const copy = (to: string, from: Value, n: number, at: number): string[] => {
    const pad = '  '.repeat(at);
    if (from.kind === 'array' && (from.offset === undefined || from.offset === 0)) {
      return [`${pad}${target.copyArray(to, from.name)}`];
    }
    // A long JS value (an array at an offset) by a loop, so the source does not grow with it.
    if (target.name === 'js' && n > LONG_COPY && from.kind === 'array') return [`${pad}${target.loopOpen('i', n)} ${to}[i] = ${from.name}[${from.offset} + i]; }`];
    // Element by element (no loop, so no loop iterations to count): ends are roots, hence never fused.
    return Array.from({ length: n }, (_, i) => `${pad}${to}[${i}] = ${elementOf(from, i)};`);
  };
  return {
    ends: carries.map((c) => c.end),
    preLoop,
    preLoopIterations: pre.loopIterations,
    /**
     * Statements storing the end-of-step values (given their emitted values, aligned with `ends`); an array register
     * for which `swap(register, end)` answers true is left to the caller (which swaps it with the end's array).
     */
    assign: (endValues: readonly Value[], at: number, swap?: (register: string, end: Value) => boolean) =>
      carries.flatMap((c, k) => {
        const r = registers[k]!;
        if (r.kind === 'array') return swap?.(r.name, endValues[k]!) ? [] : copy(r.name, endValues[k]!, r.size, at);
        const names = r.kind === 'scalar' ? [r.code] : r.kind === 'unrolled' ? r.elems : [];
        return names.map((name, i) => `${'  '.repeat(at)}${name} = ${elementOf(endValues[k]!, i)};`);
      }),
  };
}
